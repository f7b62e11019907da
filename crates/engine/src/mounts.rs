//! Mounts: binds, volumes (named, anonymous, copy-up), tmpfs. (being written: H-spec)
