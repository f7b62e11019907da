//! The shim protocol. (being written: H-shim)
