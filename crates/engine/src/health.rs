//! Health checks. (being written: H-io)
