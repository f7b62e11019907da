//! Container filesystems: changes, export, archive. (being written: H-io)
