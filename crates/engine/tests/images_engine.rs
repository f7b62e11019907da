//! The engine's image operations without containers: import with changes
//! and a tag, tag, removal records, prune, save of a bare repository name,
//! load, and the image events each emits.

use std::path::PathBuf;
use std::sync::Arc;

use wharf_engine::images::ImportOptions;
use wharf_engine::{Engine, EngineConfig, Event, Kind};
use wharf_image::gc::Removed;

/// An engine over a temporary directory, removed on drop.
struct Roots {
    dir: PathBuf,
}

impl Drop for Roots {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn engine() -> (Roots, Arc<Engine>) {
    let dir = tempfile::Builder::new()
        .prefix("wharf-images-")
        .tempdir_in("/tmp")
        .expect("a temporary directory")
        .keep();
    let config = EngineConfig {
        data_root: dir.join("data"),
        exec_root: dir.join("exec"),
        wharf_exe: PathBuf::from("/nonexistent/wharf"),
        network: wharf_engine::NetworkConfig {
            bridge: "none".into(),
            ..Default::default()
        },
    };
    let e = Engine::open(config).await.expect("the engine opens");
    (Roots { dir }, e)
}

fn import(e: &Engine, reference: Option<&str>) -> wharf_image::digest::Digest {
    let tar = wharf_testkit::images::busybox_rootfs_tar();
    let opts = ImportOptions {
        reference: reference.map(String::from),
        changes: vec!["CMD [\"sh\"]".into(), "LABEL team=wharf".into()],
        message: None,
    };
    e.image_import(&tar[..], &opts).expect("import")
}

fn actions(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.kind == "image")
        .map(|e| (e.action.clone(), e.attributes["name"].clone()))
        .collect()
}

#[tokio::test]
async fn import_tag_remove_emit_dockers_events() {
    let (_roots, e) = engine().await;
    let id = import(&e, Some("hi/imp:1"));
    let img = e.image("hi/imp:1").expect("tagged");
    assert_eq!(img.id, id);
    assert_eq!(img.config.comment, "Imported from -");
    let cfg = img.config.config.clone().unwrap_or_default();
    assert_eq!(cfg.cmd, Some(vec!["sh".to_string()]));
    assert!(e.image_last_tag_time(&id).is_some());

    e.image_tag("hi/imp:1", "hi/other").expect("tag");
    assert_eq!(e.image("hi/other:latest").expect("tagged").id, id);
    let bad = e.image_tag("hi/imp:1", "Bad").expect_err("upper case");
    assert_eq!(bad.kind, Kind::InvalidArgument);
    let missing = e.image_tag("nothere", "x").expect_err("no image");
    assert_eq!(missing.kind, Kind::NotFound);
    assert_eq!(missing.message, "No such image: nothere:latest");

    let records = e.image_remove("hi/other", false).expect("untag");
    assert_eq!(records, vec![Removed::Untagged("hi/other:latest".into())]);
    let records = e.image_remove(&id.as_str()[7..19], false).expect("delete");
    assert_eq!(records[0], Removed::Untagged("hi/imp:1".into()));
    assert!(records.contains(&Removed::Deleted(id.clone())));
    assert!(e.image_last_tag_time(&id).is_none());

    let (history, _rx) = e.events().subscribe();
    let want: Vec<(String, String)> = [
        ("tag", "hi/imp:1"),
        ("import", id.as_str()),
        ("tag", "hi/other:latest"),
        ("untag", id.as_str()),
        ("untag", id.as_str()),
        ("delete", id.as_str()),
    ]
    .iter()
    .map(|(a, n)| (a.to_string(), n.to_string()))
    .collect();
    assert_eq!(actions(&history), want);
    let tag = history
        .iter()
        .find(|e| e.action == "tag")
        .expect("a tag event");
    assert_eq!(tag.id, id.as_str());
    assert_eq!(tag.attributes["team"], "wharf", "labels go with the event");
}

#[tokio::test]
async fn save_load_and_prune() {
    let (_roots, e) = engine().await;
    let id = import(&e, Some("hi/save:1"));
    e.image_tag("hi/save:1", "hi/save:2").expect("tag");
    let names = e
        .image_save_names(&["hi/save".to_string()])
        .expect("a repository");
    assert_eq!(names, ["hi/save:1", "hi/save:2"]);
    let missing = e.image_save_names(&["nothere".into()]).expect_err("none");
    assert_eq!(missing.kind, Kind::NotFound);
    let mut archive = Vec::new();
    e.image_save(&names, &mut archive).expect("save");

    let records = e.image_remove(id.as_str(), true).expect("forced delete");
    assert!(records.contains(&Removed::Deleted(id.clone())));
    let loaded = e.image_load(&archive[..]).expect("load").loaded;
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].tags, ["hi/save:1", "hi/save:2"]);
    let other = import(&e, None);
    e.image_tag(other.as_str(), "hi/save:2").expect("tag");
    let report = e.image_load(&archive[..]).expect("load again");
    assert_eq!(report.renamed, [("hi/save:2".to_string(), other.clone())]);
    e.image_remove(other.as_str(), false)
        .expect("remove the other");
    let bad = e.image_load(&b"no archive"[..]).expect_err("garbage");
    assert_eq!(bad.kind, Kind::InvalidArgument);

    let dangling = import(&e, None);
    let (gone, _) = e.image_prune(false, &|_| true).expect("prune");
    assert_eq!(gone, vec![Removed::Deleted(dangling.clone())]);
    assert!(e.image("hi/save:1").is_ok(), "tagged images stay");
    let (gone, _) = e.image_prune(true, &|_| false).expect("prune nothing");
    assert!(gone.is_empty());
    let (gone, reclaimed) = e.image_prune(true, &|_| true).expect("prune all");
    assert!(gone.contains(&Removed::Deleted(id.clone())), "{gone:?}");
    assert!(reclaimed > 1 << 20, "the busybox layer went: {reclaimed}");
    let (history, _rx) = e.events().subscribe();
    let last = history.last().expect("events");
    assert_eq!(
        (last.kind.as_str(), last.action.as_str()),
        ("image", "prune")
    );
    assert_eq!(last.attributes["reclaimed"], reclaimed.to_string());
}
