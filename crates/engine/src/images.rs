//! Image operations that involve containers and events. (being written: H-images)
