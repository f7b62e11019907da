//! Cleaning up after a builder that was killed: each step's snapshot is
//! named `build-<pid>-<step id>` after the process that builds it, so a
//! later build can tell the snapshots of dead builders from those of
//! builders still at work, and remove them with whatever their step's
//! container left running.

use wharf_image::store::Store;

use crate::runner::StepRunner;

/// The snapshot id of step `step_id` of this process.
pub(crate) fn snapshot_id(step_id: &str) -> String {
    format!("build-{}-{step_id}", std::process::id())
}

/// The builder's pid and the step id in a build snapshot's id.
fn parse(snapshot_id: &str) -> Option<(u32, &str)> {
    let rest = snapshot_id.strip_prefix("build-")?;
    let (pid, step) = rest.split_once('-')?;
    Some((pid.parse().ok()?, step))
}

/// Removes the snapshots (and step containers, through
/// [`StepRunner::forget`]) of builders that died: every build does it
/// first, and the daemon does it when it killed a builder whose client
/// went away. Best effort: what cannot be removed now is tried again next
/// time.
pub fn reap_stale_steps(store: &Store, runner: &mut dyn StepRunner) {
    let Ok(snapshots) = store.snapshots() else {
        return;
    };
    for s in snapshots {
        let Some((pid, step)) = parse(&s.id) else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        runner.forget(step);
        let _ = store.remove_snapshot(&s.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_builder_and_the_step() {
        let id = snapshot_id("0123456789ab");
        assert_eq!(parse(&id), Some((std::process::id(), "0123456789ab")));
        assert_eq!(parse("build-x-1"), None);
        assert_eq!(parse("0123456789abcdef"), None);
    }
}
