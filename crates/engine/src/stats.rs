//! Resource usage from cgroups. (being written: H-io)
