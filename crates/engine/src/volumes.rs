//! Volumes of the local driver under `<data-root>/volumes/<name>/_data`,
//! metadata in the engine database. (being written: H-spec)

/// The volume store.
#[derive(Debug)]
pub struct Volumes {}
