//! Reading json-file logs. (being written: H-io)
