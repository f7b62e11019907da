//! The daemon side of the shim protocol (see `wharf_shim::proto`).
//! (being written: H-shim)
