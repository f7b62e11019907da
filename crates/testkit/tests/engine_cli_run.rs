//! The docker CLI 28 driving `docker run` and its flags, exit codes and
//! piped stdin against a private daemon: each scenario runs once against
//! Debian's dockerd (proving the expectations) and once against
//! `wharf daemon`.

use std::fs;

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_tests;
use wharf_testkit::{explain, stdout_text};

const IMG: &str = "wharf-test/busybox:latest";

/// `run --rm` with the process flags: env, workdir, user, entrypoint,
/// hostname, read-only, labels.
fn run_flags(e: &dyn Engine) {
    e.import_busybox(IMG);
    assert_eq!(e.docker_ok(&["run", "--rm", IMG, "echo", "hi"]), "hi\n");
    assert_eq!(
        e.docker_ok(&["ps", "-a", "-q"]),
        "",
        "--rm left a container"
    );

    let env_file = e.scratch().join("env.list");
    fs::write(&env_file, "FROM_FILE=yes\n# a comment\n").unwrap();
    let env_file = env_file.to_string_lossy().into_owned();
    let out = e.docker_ok(&[
        "run",
        "--rm",
        "-e",
        "A=1",
        "--env",
        "B=two words",
        "--env-file",
        &env_file,
        IMG,
        "sh",
        "-c",
        "echo \"$A|$B|$FROM_FILE\"",
    ]);
    assert_eq!(out, "1|two words|yes\n");

    assert_eq!(
        e.docker_ok(&["run", "--rm", "-w", "/tmp", IMG, "pwd"]),
        "/tmp\n"
    );
    assert_eq!(
        e.docker_ok(&["run", "--rm", "-w", "/new/dir", IMG, "pwd"]),
        "/new/dir\n",
        "a missing workdir is created"
    );
    assert_eq!(
        e.docker_ok(&["run", "--rm", "--user", "nobody", IMG, "id", "-u"]),
        "65534\n"
    );
    assert_eq!(
        e.docker_ok(&["run", "--rm", "-u", "1234:5678", IMG, "id"]),
        "uid=1234 gid=5678 groups=5678\n"
    );
    assert_eq!(
        e.docker_ok(&["run", "--rm", "--entrypoint", "/bin/echo", IMG, "x", "y"]),
        "x y\n"
    );
    assert_eq!(
        e.docker_ok(&["run", "--rm", "--hostname", "box1", IMG, "hostname"]),
        "box1\n"
    );
    let ro = e.docker_fails(
        &["run", "--rm", "--read-only", IMG, "touch", "/file"],
        "Read-only file system",
    );
    assert_eq!(ro.status.code(), Some(1), "{}", explain(&ro));

    e.docker_ok(&[
        "run",
        "--name",
        "labelled",
        "--label",
        "team=blue",
        "--stop-signal",
        "SIGUSR1",
        IMG,
        "true",
    ]);
    let got = e.docker_ok(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"team\"}} {{.Config.StopSignal}} {{.State.ExitCode}}",
        "labelled",
    ]);
    assert_eq!(got, "blue SIGUSR1 0\n");
    e.docker_ok(&["rm", "labelled"]);
}

/// Exit codes: the process's own, 125 for the daemon refusing, 126 for a
/// command that cannot be run, 127 for one that is not found.
fn run_exit_codes(e: &dyn Engine) {
    e.import_busybox(IMG);
    let code = |args: &[&str]| e.docker(args).status.code();
    assert_eq!(code(&["run", "--rm", IMG, "sh", "-c", "exit 3"]), Some(3));
    assert_eq!(code(&["run", "--rm", IMG, "false"]), Some(1));
    assert_eq!(code(&["run", "--rm", IMG, "/no/such/binary"]), Some(127));
    assert_eq!(code(&["run", "--rm", IMG, "/etc"]), Some(126));
    assert_eq!(code(&["run", "--rm", "--no-such-flag", IMG]), Some(125));
    let small = e.docker_fails(
        &["run", "--rm", "--memory", "1k", IMG, "true"],
        "Minimum memory limit allowed is 6MB",
    );
    assert_eq!(small.status.code(), Some(125), "{}", explain(&small));
    let bad = e.docker(&["run", "--rm", "--restart", "sometimes", IMG, "true"]);
    assert_eq!(bad.status.code(), Some(125), "{}", explain(&bad));
    // A container killed by a signal exits 128 + the signal (SIGKILL from
    // outside: init ignores signals sent from inside its namespace).
    e.docker_ok(&["run", "-d", "--name", "killed", IMG, "sleep", "1000"]);
    e.docker_ok(&["kill", "killed"]);
    assert_eq!(e.docker_ok(&["wait", "killed"]), "137\n");
    let got = e.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.ExitCode}} {{.State.Status}}",
        "killed",
    ]);
    assert_eq!(got, "137 exited\n");
    e.docker_ok(&["rm", "killed"]);
}

/// Piped stdin: `echo hi | docker run -i img cat`, and a larger input
/// counted inside.
fn run_piped_stdin(e: &dyn Engine) {
    e.import_busybox(IMG);
    let out = e.docker_input(&["run", "--rm", "-i", IMG, "cat"], b"hi\n");
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(stdout_text(&out), "hi\n");

    let big = vec![b'x'; 300 * 1024];
    let out = e.docker_input(&["run", "--rm", "-i", IMG, "wc", "-c"], &big);
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(stdout_text(&out).trim(), (300 * 1024).to_string());

    // Without -i the container's stdin is empty.
    let out = e.docker_input(&["run", "--rm", IMG, "cat"], b"ignored\n");
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(stdout_text(&out), "");

    // stdout and stderr stay apart.
    let out = e.docker(&["run", "--rm", IMG, "sh", "-c", "echo out; echo err >&2"]);
    assert_eq!(stdout_text(&out), "out\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("err\n"));
}

/// Volumes and mounts: `-v` binds (rw and ro), named volumes with copy-up
/// of image content, `--mount` bind/volume/tmpfs, anonymous volumes
/// removed by `rm -v`.
fn run_volumes(e: &dyn Engine) {
    e.import_busybox(IMG);
    let host = e.scratch().join("bind");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("in"), "from host\n").unwrap();
    let h = host.to_string_lossy().into_owned();

    let bind = format!("{h}:/data");
    let out = e.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &bind,
        IMG,
        "sh",
        "-c",
        "cat /data/in; echo made > /data/out",
    ]);
    assert_eq!(out, "from host\n");
    assert_eq!(fs::read_to_string(host.join("out")).unwrap(), "made\n");

    let ro = format!("{h}:/data:ro");
    let out = e.docker(&["run", "--rm", "-v", &ro, IMG, "touch", "/data/x"]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert!(!host.join("x").exists());

    let mount = format!("type=bind,source={h},target=/m,readonly");
    assert_eq!(
        e.docker_ok(&["run", "--rm", "--mount", &mount, IMG, "cat", "/m/in"]),
        "from host\n"
    );

    // A new named volume mounted over /etc gets the image's /etc (copy-up).
    e.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "etcvol:/etc",
        IMG,
        "sh",
        "-c",
        "echo kept > /etc/mine",
    ]);
    let out = e.docker_ok(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,source=etcvol,target=/v",
        IMG,
        "sh",
        "-c",
        "cat /v/mine; grep -c nobody /v/passwd",
    ]);
    assert_eq!(out, "kept\n1\n");
    let ls = e.docker_ok(&["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert!(ls.lines().any(|l| l == "etcvol local"), "{ls}");

    let out = e.docker_ok(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,target=/scratch",
        IMG,
        "sh",
        "-c",
        "grep ' /scratch ' /proc/mounts | cut -d' ' -f3",
    ]);
    assert_eq!(out, "tmpfs\n");
    let out = e.docker_ok(&[
        "run",
        "--rm",
        "--tmpfs",
        "/t2",
        IMG,
        "sh",
        "-c",
        "grep -c ' /t2 tmpfs' /proc/mounts",
    ]);
    assert_eq!(out, "1\n");

    // An anonymous volume: listed in inspect, removed with `rm -v`.
    e.docker_ok(&[
        "run", "--name", "anon", "-v", "/anon", IMG, "touch", "/anon/f",
    ]);
    let vol = e.docker_ok(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}",
        "anon",
    ]);
    let parts: Vec<&str> = vol.split_whitespace().collect();
    assert_eq!(parts.len(), 3, "{vol}");
    assert_eq!((parts[0], parts[2]), ("volume", "/anon"));
    assert_eq!(parts[1].len(), 64, "an anonymous volume has a 64-hex name");
    e.docker_ok(&["rm", "-v", "anon"]);
    let ls = e.docker_ok(&["volume", "ls", "-q"]);
    assert!(
        !ls.contains(parts[1]),
        "rm -v left volume {}: {ls}",
        parts[1]
    );
    e.docker_ok(&["volume", "rm", "etcvol"]);
}

/// `run -d` prints the id, `--name` names it, `--restart` is recorded,
/// `--rm` on a detached container removes it after it exits.
fn run_detached(e: &dyn Engine) {
    e.import_busybox(IMG);
    let id = e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "detached",
        "--restart",
        "unless-stopped",
        IMG,
        "sleep",
        "1000",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let got = e.docker_ok(&[
        "inspect",
        "-f",
        "{{.Id}} {{.Name}} {{.State.Running}} {{.HostConfig.RestartPolicy.Name}}",
        "detached",
    ]);
    assert_eq!(got, format!("{id} /detached true unless-stopped\n"));
    let dup = e.docker_fails(
        &["run", "-d", "--name", "detached", IMG, "true"],
        "is already in use",
    );
    assert_eq!(dup.status.code(), Some(125), "{}", explain(&dup));
    e.docker_ok(&["rm", "-f", "detached"]);

    let id = e.docker_ok(&["run", "-d", "--rm", IMG, "true"]);
    let id = id.trim();
    // `docker wait` on an auto-removed container: exits 0 or finds it gone.
    let _ = e.docker(&["wait", id]);
    let mut gone = false;
    for _ in 0..100 {
        if e.docker_ok(&["ps", "-a", "-q", "--no-trunc"])
            .trim()
            .is_empty()
        {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(gone, "run -d --rm left {id}");
}

engine_tests!(run_flags => engine_cli_run_flags_dockerd,
    engine_cli_run_flags_wharf);
engine_tests!(run_exit_codes => engine_cli_run_exit_codes_dockerd,
    engine_cli_run_exit_codes_wharf);
engine_tests!(run_piped_stdin => engine_cli_run_piped_stdin_dockerd,
    engine_cli_run_piped_stdin_wharf);
engine_tests!(run_volumes => engine_cli_run_volumes_dockerd,
    engine_cli_run_volumes_wharf);
engine_tests!(run_detached => engine_cli_run_detached_dockerd,
    engine_cli_run_detached_wharf);
