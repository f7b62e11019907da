//! The Docker SDK for Python (docker-py) against a private daemon: the
//! scenario in `tests/python/sdk_scenario.py` (containers, exec, logs,
//! images, volumes, events, archives, build, save/load, the low-level
//! attach and exec streams), one test per part, each run once against
//! Debian's dockerd (proving its expectations) and once against
//! `wharf daemon`.

use std::path::PathBuf;
use std::process::Command;

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_tests;

const IMG: &str = "wharf-test/busybox:latest";

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/sdk_scenario.py")
}

/// Runs the parts of the scenario named in `parts` against `e`.
fn sdk_parts(e: &dyn Engine, parts: &[&str]) {
    let check = Command::new("python3")
        .args(["-c", "import docker"])
        .output()
        .expect("python3 runs");
    assert!(
        check.status.success(),
        "the Docker SDK for Python is missing (tools/install-deps.sh installs python3-docker): {}",
        String::from_utf8_lossy(&check.stderr)
    );
    e.import_busybox(IMG);
    let out = Command::new("python3")
        .arg(script())
        .args(parts)
        .env("DOCKER_HOST", e.host())
        .env("IMAGE", IMG)
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .output()
        .expect("python3 runs the scenario");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.ends_with("sdk scenario ok\n"),
        "the SDK scenario failed against {} ({}):\n{stdout}\n{}",
        e.kind(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn system_images(e: &dyn Engine) {
    sdk_parts(e, &["system", "images"]);
}

fn containers(e: &dyn Engine) {
    sdk_parts(e, &["containers"]);
}

fn volumes_events(e: &dyn Engine) {
    sdk_parts(e, &["volumes", "events"]);
}

fn archives_and_build(e: &dyn Engine) {
    sdk_parts(e, &["archives_and_build"]);
}

fn low_level(e: &dyn Engine) {
    sdk_parts(e, &["low_level"]);
}

engine_tests!(system_images => engine_sdk_system_images_dockerd, engine_sdk_system_images_wharf);
engine_tests!(containers => engine_sdk_containers_dockerd, engine_sdk_containers_wharf);
engine_tests!(volumes_events => engine_sdk_volumes_events_dockerd, engine_sdk_volumes_events_wharf);
engine_tests!(archives_and_build => engine_sdk_archives_build_dockerd,
    engine_sdk_archives_build_wharf);
engine_tests!(low_level => engine_sdk_low_level_dockerd,
    engine_sdk_low_level_wharf);
