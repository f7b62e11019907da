//! The OCI spec of a container: the image and its create options resolved
//! into a process, mounts, limits and security settings. (being written: H-spec)
