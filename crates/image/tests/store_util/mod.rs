//! The store every store and snapshot test starts from: a fresh temporary
//! directory whose snapshots are unmounted on drop, even when a test fails.

use tempfile::TempDir;
use wharf_image::store::Store;

/// A store in a fresh temporary directory; unmounts its snapshots on drop.
pub struct TestStore {
    store: Store,
    _dir: TempDir,
}

impl TestStore {
    /// Opens a store in a new `wharf-store-…` directory under the
    /// system's temporary directory.
    pub fn new() -> TestStore {
        let dir = tempfile::Builder::new()
            .prefix("wharf-store-")
            .tempdir()
            .unwrap();
        TestStore {
            store: Store::open(dir.path()).unwrap(),
            _dir: dir,
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        for s in self.store.snapshots().unwrap_or_default() {
            let _ = self.store.unmount_snapshot(&s);
        }
    }
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}
