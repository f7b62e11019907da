//! Commit a container to an image. (being written: H-spec)
