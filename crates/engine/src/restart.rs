//! Restart policies: no, on-failure[:N], always, unless-stopped, with
//! Docker's back-off. (being written: H-core)
