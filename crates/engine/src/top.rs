//! Processes in a container. (being written: H-io)
