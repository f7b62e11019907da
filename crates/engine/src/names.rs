//! Container names: validation and generated names. (being written: H-core)
