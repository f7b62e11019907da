//! Version prefix and dispatch by path family. (being written: H-api)
