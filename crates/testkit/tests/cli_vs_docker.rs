//! The `wharf` client against the docker CLI 28, both talking to the same
//! daemon — a private dockerd, and Wharf's own daemon: the same command
//! must print the same bytes on stdout and stderr (docker's name replaced
//! by wharf's) and exit with the same code. Where the two runs cannot be identical (ids of objects each made,
//! ages that tick between the runs), the comparison replaces them first.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use wharf_testkit::daemon::{Engine, WharfDaemon};
use wharf_testkit::dockerd::Dockerd;
use wharf_testkit::run_with_input;

/// The daemon and both clients.
struct Pair {
    d: Box<dyn Engine>,
    wharf: PathBuf,
}

impl Pair {
    fn dockerd() -> Pair {
        Pair::with(Box::new(Dockerd::start().expect("dockerd starts")))
    }

    fn wharfd() -> Pair {
        Pair::with(Box::new(WharfDaemon::start().expect("wharf daemon starts")))
    }

    fn with(d: Box<dyn Engine>) -> Pair {
        let wharf = wharf_testkit::wharf_path().expect("the wharf binary");
        let p = Pair { d, wharf };
        let tar = wharf_testkit::images::busybox_rootfs_tar();
        let out = p.docker_in(
            &["import", "-c", "CMD [\"sh\"]", "-", "busybox:latest"],
            &tar,
        );
        assert!(out.status.success(), "import: {}", text(&out.stderr));
        p
    }

    fn wharf_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.wharf);
        c.arg("-H")
            .arg(self.d.host())
            .args(args)
            .env_remove("WHARF_HOST")
            .env_remove("DOCKER_HOST");
        c
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.d.docker(args)
    }

    fn wharf(&self, args: &[&str]) -> Output {
        run_with_input(self.wharf_cmd(args), &[])
    }

    fn docker_in(&self, args: &[&str], input: &[u8]) -> Output {
        run_with_input(self.d.command(args), input)
    }

    fn wharf_in(&self, args: &[&str], input: &[u8]) -> Output {
        run_with_input(self.wharf_cmd(args), input)
    }

    fn wharf_ok(&self, args: &[&str]) -> String {
        let out = self.wharf(args);
        assert!(
            out.status.success(),
            "wharf {args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs `args` with both clients and asserts the same output and code.
    fn same(&self, args: &[&str]) {
        let d = self.docker(args);
        let w = self.wharf(args);
        assert_same(args, &d, &w);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// docker's stderr as wharf words it: the program's name, and without
/// the daemon's IPv4 forwarding warning (the test daemon has no bridge).
fn docker_err(s: &str) -> String {
    s.lines()
        .filter(|l| !l.contains("IPv4 forwarding is disabled"))
        .filter(|l| !l.contains("legacy builder is deprecated"))
        .map(|l| {
            ["docker ", "docker:", "docker'"]
                .iter()
                .fold(l.to_string(), |l, w| {
                    l.replace(w, &w.replace("docker", "wharf"))
                })
                .replace("Docker daemon", "Wharf daemon")
        })
        .map(|l| l + "\n")
        .collect()
}

fn wharf_err(s: &str) -> String {
    s.lines()
        .filter(|l| !l.contains("IPv4 forwarding is disabled"))
        .map(|l| l.to_string() + "\n")
        .collect()
}

/// Ids (64 hex digits) of objects each run made become `ID`.
fn hide_ids(s: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() && c.is_ascii_lowercase() || c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        if run.len() == 64 {
            out.push_str("ID");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// Ages that may tick between two runs become `T`, and runs of spaces
/// (table padding that follows from them) one space.
fn normalize(s: &str) -> String {
    let s = &hide_ids(s);
    let mut t = s
        .replace("Less than a second", "T")
        .replace("About a minute", "T");
    for unit in ["seconds", "second", "minutes"] {
        let mut out = String::new();
        let mut rest = t.as_str();
        while let Some(i) = rest.find(&format!(" {unit}")) {
            let head = &rest[..i];
            let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0 {
                out.push_str(&head[..head.len() - digits]);
                out.push('T');
            } else {
                out.push_str(head);
                out.push(' ');
                out.push_str(unit);
            }
            rest = &rest[i + 1 + unit.len()..];
        }
        out.push_str(rest);
        t = out;
    }
    let mut out = String::new();
    let mut space = false;
    for c in t.chars() {
        if c == ' ' {
            if !space {
                out.push(c);
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// The lines, sorted: docker lists the tags of one image (and
/// images made in the same second) in Go's random map order.
fn sorted_rows(s: &str) -> String {
    let mut lines: Vec<&str> = s.lines().collect();
    lines.sort();
    lines.join("\n")
}

fn assert_same(args: &[&str], d: &Output, w: &Output) {
    let (mut dout, mut wout) = (text(&d.stdout), text(&w.stdout));
    if args
        .first()
        .is_some_and(|a| *a == "images" || *a == "image")
    {
        dout = sorted_rows(&dout);
        wout = sorted_rows(&wout);
    }
    let (derr, werr) = (docker_err(&text(&d.stderr)), wharf_err(&text(&w.stderr)));
    assert_eq!(
        d.status.code(),
        w.status.code(),
        "exit code of {args:?}\ndocker: {derr}\nwharf: {werr}"
    );
    if dout != wout {
        assert_eq!(normalize(&dout), normalize(&wout), "stdout of {args:?}");
    }
    if derr != werr {
        assert_eq!(normalize(&derr), normalize(&werr), "stderr of {args:?}");
    }
}

fn listing_and_inspecting_print_like_docker(p: &Pair) {
    let out = p.docker(&[
        "run",
        "-d",
        "--name",
        "logger",
        "--label",
        "tier=web",
        "-e",
        "A=1",
        "busybox",
        "sh",
        "-c",
        "echo line 1; echo err 1 >&2; echo line 2; sleep 1000",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = p.docker(&[
        "create",
        "--name",
        "made",
        "-v",
        "/data",
        "busybox",
        "echo",
        "a long command line here",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    p.docker(&["volume", "create", "--label", "k=v", "vol1"]);
    p.docker(&["tag", "busybox", "other/name:2"]);
    // The logs are in before they are read.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !text(&p.docker(&["logs", "logger"]).stdout).contains("line 2")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    for args in [
        &["images"][..],
        &["images", "-q"],
        &["images", "--no-trunc"],
        &["images", "--digests"],
        &["images", "busybox"],
        &[
            "image",
            "ls",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}}",
        ],
        &["images", "--format", "table {{.Repository}}\t{{.Size}}"],
        &["images", "--format", "json"],
        &["ps"],
        &["ps", "-a"],
        &["ps", "-a", "-q"],
        &["ps", "-a", "--no-trunc"],
        &["ps", "-a", "-s"],
        &["ps", "-l"],
        &["ps", "-n", "1"],
        &["ps", "-a", "--filter", "status=created"],
        &["ps", "-a", "--filter", "label=tier=web"],
        &["ps", "-a", "--format", "{{json .}}"],
        &[
            "ps",
            "-a",
            "--format",
            "table {{.Names}}\t{{.Label \"tier\"}}\t{{.State}}",
        ],
        &[
            "ps",
            "-a",
            "--format",
            "{{.ID}} {{.Command}} {{.Mounts}} {{.Labels}}",
        ],
        &["inspect", "logger"],
        &["inspect", "busybox"],
        &["inspect", "vol1"],
        &["inspect", "logger", "made"],
        &["container", "inspect", "-s", "made"],
        &["image", "inspect", "busybox"],
        &["volume", "inspect", "vol1"],
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{json .Config.Cmd}} {{.Config.Labels}}",
            "logger",
        ],
        &[
            "inspect",
            "-f",
            "{{index .Config.Labels \"tier\"}}|{{join .Args \",\"}}|{{upper .Name}}",
            "logger",
        ],
        &[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Destination}} {{.Type}}{{end}}",
            "made",
        ],
        &[
            "inspect",
            "-f",
            "{{if .State.Running}}up{{else}}down{{end}} {{len .Config.Env}}",
            "made",
        ],
        &[
            "inspect",
            "-f",
            "{{json .Config.Labels}} {{lower .State.Status}} {{title \"a b\"}}",
            "logger",
        ],
        &[
            "inspect",
            "--type",
            "image",
            "-f",
            "{{.Os}} {{.RootFS.Type}}",
            "busybox",
        ],
        &[
            "inspect",
            "-f",
            "{{.HostConfig.Binds}} {{.Config.Volumes}} {{.State.Health}} {{.HostConfig.CapAdd}}",
            "logger",
        ],
        &[
            "inspect",
            "-f",
            "{{json .HostConfig.Binds}} {{json .Config.Volumes}} {{.Config.Healthcheck}}",
            "logger",
        ],
        &["logs", "logger"],
        &["logs", "-t", "logger"],
        &["logs", "-n", "1", "logger"],
        &["logs", "--tail", "2", "logger"],
        &["logs", "--since", "10m", "logger"],
        &["logs", "--until", "2000-01-01T00:00:00Z", "logger"],
        &["top", "logger"],
        &["port", "logger"],
        &["history", "busybox"],
        &["history", "--no-trunc", "busybox"],
        &["history", "-q", "busybox"],
        &["history", "-H=false", "busybox"],
        &["volume", "ls"],
        &["volume", "ls", "-q"],
        &[
            "volume",
            "ls",
            "--format",
            "{{.Name}} {{.Driver}} {{.Labels}}",
        ],
        &["system", "df"],
        &["version", "--format", "{{.Server.Version}} {{.Server.Os}}"],
        &[
            "info",
            "--format",
            "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.Driver}}",
        ],
        &[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.ID}} {{.PIDs}}",
            "logger",
        ],
        &["events", "--since", "10m", "--until", "1s"],
        &[
            "events",
            "--since",
            "10m",
            "--until",
            "1s",
            "--filter",
            "type=volume",
            "--format",
            "{{.Action}} {{.Actor.ID}}",
        ],
        // Errors: wording and exit codes.
        &["inspect", "nosuch"],
        &["container", "inspect", "nosuch"],
        &["image", "inspect", "nosuch"],
        &["rm", "nosuch"],
        &["logs", "nosuch"],
        &["stop", "nosuch"],
        &["ps", "--nosuchflag"],
        &["run", "--nosuchflag", "busybox"],
        &["rm"],
    ] {
        p.same(args);
    }
    // The live statistics table has docker's columns.
    let out = p.wharf_ok(&["stats", "--no-stream", "logger"]);
    assert!(
        out.starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"),
        "{out}"
    );
}

fn running_containers_exits_and_streams_like_docker(p: &Pair) {
    let env_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(env_file.path(), "# comment\nFROM_FILE=yes\n").unwrap();
    let env_path = env_file.path().to_str().unwrap();
    for args in [
        &["run", "--rm", "busybox", "echo", "hi"][..],
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
        &["run", "--rm", "busybox", "nosuchcommand"],
        &["run", "--rm", "busybox", "/etc/passwd"],
        &["run", "--rm", "nosuchimage:1"],
        &[
            "run",
            "--rm",
            "-e",
            "A=b",
            "--env-file",
            env_path,
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "busybox",
            "sh",
            "-c",
            "echo $A $FROM_FILE $(pwd) $(id -u)",
        ],
        &[
            "run",
            "--rm",
            "--entrypoint",
            "echo",
            "busybox",
            "from",
            "entrypoint",
        ],
        &[
            "run",
            "--rm",
            "-h",
            "myhost",
            "--read-only",
            "busybox",
            "sh",
            "-c",
            "hostname; touch /x",
        ],
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "cat",
            "/proc/self/cgroup",
            "--nonsense",
        ],
        &["run", "--rm", "-t", "busybox", "echo", "tty"],
    ] {
        p.same(args);
    }
    // Piped stdin reaches the container and its end ends the container.
    let d = p.docker_in(
        &["run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done"],
        b"in\nput\n",
    );
    let w = p.wharf_in(
        &["run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done"],
        b"in\nput\n",
    );
    assert_same(&["run", "-i"], &d, &w);
    assert_eq!(text(&w.stdout), "in\nput\ndone\n");
    // -d prints the id; exec, wait and start -a.
    let id = p.wharf_ok(&["run", "-d", "--name", "bg", "busybox", "sleep", "1000"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    p.docker(&["run", "-d", "--name", "bg2", "busybox", "sleep", "1000"]);
    for args in [
        &["exec", "bg", "echo", "in", "bg"][..],
        &["exec", "bg", "sh", "-c", "exit 5"],
        &["exec", "bg", "nosuchcommand"],
        &[
            "exec",
            "-e",
            "X=1",
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "bg",
            "sh",
            "-c",
            "echo $X $(pwd) $(id -u)",
        ],
        &["exec", "-d", "bg", "true"],
        &["exec", "nosuch", "true"],
    ] {
        p.same(args);
    }
    let d = p.docker_in(&["exec", "-i", "bg", "cat"], b"through exec\n");
    let w = p.wharf_in(&["exec", "-i", "bg", "cat"], b"through exec\n");
    assert_same(&["exec", "-i"], &d, &w);
    for (client, name) in [("docker", "sa1"), ("wharf", "sa2")] {
        let args = [
            "create",
            "--name",
            name,
            "busybox",
            "sh",
            "-c",
            "echo started; exit 7",
        ];
        let out = if client == "docker" {
            p.docker(&args)
        } else {
            p.wharf(&args)
        };
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let d = p.docker(&["start", "-a", "sa1"]);
    let w = p.wharf(&["start", "-a", "sa2"]);
    assert_same(&["start", "-a"], &d, &w);
    assert_eq!(w.status.code(), Some(7));
    p.same(&["wait", "sa1", "sa2"]);
    p.same(&["attach", "sa1"]);
    p.same(&["start", "nosuch"]);
}

fn changing_commands_print_like_docker(p: &Pair) {
    // Each client works on objects of its own; names are then the only
    // difference.
    let both = |args: &[&str], d_name: &str, w_name: &str| {
        let dargs: Vec<String> = args.iter().map(|a| a.replace('X', d_name)).collect();
        let wargs: Vec<String> = args.iter().map(|a| a.replace('X', w_name)).collect();
        let dargs: Vec<&str> = dargs.iter().map(String::as_str).collect();
        let wargs: Vec<&str> = wargs.iter().map(String::as_str).collect();
        let d = p.docker(&dargs);
        let w = p.wharf(&wargs);
        let fix = |o: &Output| Output {
            status: o.status,
            stdout: text(&o.stdout).replace(w_name, d_name).into_bytes(),
            stderr: text(&o.stderr).replace(w_name, d_name).into_bytes(),
        };
        assert_same(args, &d, &fix(&w));
    };
    p.docker(&["run", "-d", "--name", "dc", "busybox", "sleep", "1000"]);
    p.wharf(&["run", "-d", "--name", "wc", "busybox", "sleep", "1000"]);
    both(&["stop", "-t", "1", "X"], "dc", "wc");
    both(&["start", "X"], "dc", "wc");
    both(&["restart", "-t", "1", "X"], "dc", "wc");
    both(&["pause", "X"], "dc", "wc");
    both(&["unpause", "X"], "dc", "wc");
    both(&["kill", "-s", "TERM", "X"], "dc", "wc");
    both(&["kill", "X"], "dc", "wc");
    both(&["rename", "X", "X2"], "dc", "wc");
    both(&["rm", "X2"], "dc", "wc");
    both(&["volume", "create", "X"], "dv", "wv");
    both(&["volume", "rm", "X"], "dv", "wv");
    both(&["volume", "rm", "X"], "dv", "wv");
    both(&["tag", "busybox", "X:1"], "dtag", "wtag");
    both(&["rmi", "X:1"], "dtag", "wtag");
    both(&["rmi", "X:1"], "dtag", "wtag");

    // cp both ways, and through tar streams.
    p.wharf_ok(&["run", "-d", "--name", "files", "busybox", "sleep", "1000"]);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a"), "one\n").unwrap();
    std::fs::write(src.join("sub/b"), "two\n").unwrap();
    let s = src.to_str().unwrap();
    p.wharf_ok(&["cp", s, "files:/tmp/"]);
    p.wharf_ok(&["cp", &format!("{s}/a"), "files:/tmp/renamed"]);
    assert_eq!(
        p.wharf_ok(&["exec", "files", "cat", "/tmp/src/sub/b", "/tmp/renamed"]),
        "two\none\n"
    );
    let back = dir.path().join("back");
    p.wharf_ok(&["cp", "files:/tmp/src", back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(back.join("sub/b")).unwrap(),
        "two\n"
    );
    let dback = dir.path().join("dback");
    p.docker(&["cp", "files:/tmp/src", dback.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(dback.join("a")).unwrap(),
        std::fs::read_to_string(back.join("a")).unwrap()
    );
    let tar_out = p.wharf(&["cp", "files:/tmp/renamed", "-"]);
    let mut names = Vec::new();
    let mut archive = tar::Archive::new(tar_out.stdout.as_slice());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        names.push(e.path().unwrap().to_string_lossy().into_owned());
        let mut s = String::new();
        e.read_to_string(&mut s).unwrap();
        assert_eq!(s, "one\n");
    }
    assert_eq!(names, ["renamed"]);
    let tar_in = wharf_testkit::images::layer_tar(&[wharf_testkit::images::Entry::file(
        "piped",
        b"via stdin\n",
    )]);
    let out = p.wharf_in(&["cp", "-", "files:/tmp"], &tar_in);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        p.wharf_ok(&["exec", "files", "cat", "/tmp/piped"]),
        "via stdin\n"
    );
    p.same(&["cp", "files:/nonexistent", dir.path().to_str().unwrap()]);

    // commit, save, load, import, export.
    let id = p.wharf_ok(&[
        "commit",
        "-m",
        "msg",
        "-a",
        "me",
        "-c",
        "ENV X=1",
        "files",
        "committed:1",
    ]);
    assert!(id.starts_with("sha256:"), "{id}");
    let v = text(
        &p.docker(&[
            "inspect",
            "-f",
            "{{.Comment}} {{.Author}} {{.Config.Env}}",
            "committed:1",
        ])
        .stdout,
    );
    assert_eq!(v, "msg me [X=1]\n");
    let saved = dir.path().join("saved.tar");
    p.wharf_ok(&["save", "-o", saved.to_str().unwrap(), "committed:1"]);
    p.wharf_ok(&["rmi", "committed:1"]);
    assert_eq!(
        p.wharf_ok(&["load", "-i", saved.to_str().unwrap()]),
        "Loaded image: committed:1\n"
    );
    p.same(&["load", "-i", saved.to_str().unwrap()]);
    let exported = dir.path().join("exported.tar");
    p.wharf_ok(&["export", "-o", exported.to_str().unwrap(), "files"]);
    let tar = std::fs::read(&exported).unwrap();
    let out = p.wharf_in(
        &[
            "import",
            "-c",
            "CMD [\"sh\"]",
            "-m",
            "imported",
            "-",
            "imp:1",
        ],
        &tar,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("sha256:"));
    p.same(&["history", "--format", "{{.Comment}}", "imp:1"]);
    p.same(&["container", "prune", "-f"]);
}

fn build_streams_the_classic_builder_output(p: &Pair) {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nCOPY kept /kept\nRUN cat /kept\nLABEL a=b\n",
    )
    .unwrap();
    std::fs::write(ctx.path().join("kept"), "kept file\n").unwrap();
    std::fs::write(ctx.path().join("secret"), "ignored\n").unwrap();
    std::fs::write(ctx.path().join(".dockerignore"), "secret\n").unwrap();
    let c = ctx.path().to_str().unwrap();
    let d = p.d.docker_env(
        &["build", "--no-cache", "-t", "built:d", c],
        &[("DOCKER_BUILDKIT", "0")],
    );
    let w = p.wharf(&["build", "--no-cache", "-t", "built:w", c]);
    assert!(w.status.success(), "{}", text(&w.stderr));
    // Same lines, but for the ids each build made.
    let shape = |o: &Output| -> Vec<String> {
        text(&o.stdout)
            .lines()
            .map(|l| {
                l.split(' ')
                    .map(|word| {
                        let hexish =
                            word.len() == 12 && word.chars().all(|c| c.is_ascii_hexdigit());
                        if hexish {
                            "ID".to_string()
                        } else {
                            word.replace("built:d", "built:w")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(shape(&d), shape(&w));
    assert!(
        text(&w.stdout).contains("kept file\n"),
        "{}",
        text(&w.stdout)
    );
    p.same(&["inspect", "-f", "{{json .Config.Labels}}", "built:w"]);
    let q = p.wharf_ok(&["build", "-q", c]);
    assert!(q.starts_with("sha256:"), "{q}");
    // The context goes over as docker sends it, so the daemon's COPY cache
    // takes wharf's build for docker's.
    let ctx2 = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx2.path().join("Dockerfile"),
        "FROM busybox\nCOPY . /ctx\n",
    )
    .unwrap();
    std::fs::create_dir(ctx2.path().join("dir")).unwrap();
    std::fs::write(ctx2.path().join("dir/file"), "in a dir\n").unwrap();
    std::os::unix::fs::symlink("dir/file", ctx2.path().join("link")).unwrap();
    let c2 = ctx2.path().to_str().unwrap();
    let d =
        p.d.docker_env(&["build", "-q", c2], &[("DOCKER_BUILDKIT", "0")]);
    assert!(d.status.success(), "{}", text(&d.stderr));
    assert_eq!(p.wharf_ok(&["build", "-q", c2]), text(&d.stdout));
    // A failing step: its message and exit code.
    std::fs::write(ctx.path().join("Dockerfile"), "FROM busybox\nRUN exit 3\n").unwrap();
    let d = p.d.docker_env(&["build", c], &[("DOCKER_BUILDKIT", "0")]);
    let w = p.wharf(&["build", c]);
    assert_eq!(d.status.code(), Some(3));
    assert_eq!(w.status.code(), Some(3));
    assert_eq!(
        text(&w.stderr),
        "The command '/bin/sh -c exit 3' returned a non-zero code: 3\n"
    );
}

/// A client under a pseudo-terminal of its own (setsid --ctty makes it
/// the controlling one); returns everything it printed and its exit code.
fn under_pty(mut cmd: Command, first: &str, inputs: &[&[u8]]) -> (String, Option<i32>) {
    let master =
        rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY)
            .unwrap();
    rustix::pty::grantpt(&master).unwrap();
    rustix::pty::unlockpt(&master).unwrap();
    let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let mut ws = rustix::termios::tcgetwinsize(&slave).unwrap();
    ws.ws_row = 30;
    ws.ws_col = 100;
    rustix::termios::tcsetwinsize(&slave, ws).unwrap();
    cmd.stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    let mut master = std::fs::File::from(master);
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let mut reader = master.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut out = Vec::new();
    let collect_until = |want: &str, out: &mut Vec<u8>| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !want.is_empty() && !text(out).contains(want) && Instant::now() < deadline {
            if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
                out.extend(chunk);
            }
        }
    };
    collect_until(first, &mut out);
    for input in inputs {
        let start = out.len();
        master.write_all(input).unwrap();
        // A command is done once its echo and a prompt after it are back (a
        // resize may redraw the prompt before the echo: that is not it).
        // The detach keys bring nothing back.
        let echo = String::from_utf8_lossy(input)
            .trim_end_matches('\r')
            .to_string();
        let done = |out: &[u8]| {
            let new = text(&out[start..]);
            new.find(&echo)
                .is_some_and(|i| new[i + echo.len()..].contains("/ # "))
        };
        let wait = if *input == b"\x10\x11" { 0 } else { 5 };
        let deadline = Instant::now() + Duration::from_secs(wait);
        while !done(&out) && Instant::now() < deadline {
            if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
                out.extend(chunk);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
        out.extend(chunk);
    }
    (text(&out), code)
}

fn run_it_under_a_terminal_and_detach_with_ctrl_p_ctrl_q(p: &Pair) {
    let mut dcmd = p.d.command(&["run", "-it", "--rm", "busybox", "sh"]);
    dcmd.env("DOCKER_CLI_HINTS", "false");
    let setsid = |inner: Command| {
        let mut c = Command::new("setsid");
        c.arg("--wait")
            .arg("--ctty")
            .arg(inner.get_program())
            .args(inner.get_args());
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c
    };
    let script: &[&[u8]] = &[b"echo hi $((1+2))\r", b"exit 4\r"];
    let (d, dcode) = under_pty(setsid(dcmd), "/ # ", script);
    let (w, wcode) = under_pty(
        setsid(p.wharf_cmd(&["run", "-it", "--rm", "busybox", "sh"])),
        "/ # ",
        script,
    );
    assert_eq!(dcode, Some(4), "{d}");
    assert_eq!(wcode, Some(4), "{w}");
    let strip = |s: &str| {
        // A resize that lands after the prompt makes the shell redraw it.
        let s = s.replace("\r/ # \u{1b}[J", "");
        // ash asks for the cursor position only when no input is waiting.
        let s = s.replace("\u{1b}[6n", "");
        s.lines()
            .filter(|l| !l.contains("IPv4"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&d), strip(&w));
    assert!(w.contains("hi 3\r\n"), "{w:?}");
    // ctrl-p ctrl-q leaves the container running; attach detaches the same way.
    let (w, wcode) = under_pty(
        setsid(p.wharf_cmd(&["run", "-it", "--name", "detached", "busybox", "sh"])),
        "/ # ",
        &[b"echo before\r", b"\x10\x11"],
    );
    assert_eq!(wcode, Some(0), "{w:?}");
    let state = p.wharf_ok(&["inspect", "-f", "{{.State.Running}}", "detached"]);
    assert_eq!(state, "true\n");
    let (w, wcode) = under_pty(
        setsid(p.wharf_cmd(&["attach", "detached"])),
        // attach resizes the terminal, which redraws the prompt.
        "/ # ",
        &[b"echo again\r", b"\x10\x11"],
    );
    assert_eq!(wcode, Some(1), "{w:?}");
    assert!(
        w.contains("again\r\n") && w.ends_with("read escape sequence\r\n"),
        "{w:?}"
    );
    assert_eq!(
        p.wharf_ok(&["inspect", "-f", "{{.State.Running}}", "detached"]),
        "true\n"
    );
}

#[test]
fn listing_and_inspecting_print_like_docker_on_dockerd() {
    listing_and_inspecting_print_like_docker(&Pair::dockerd());
}

#[test]
fn listing_and_inspecting_print_like_docker_on_wharf() {
    listing_and_inspecting_print_like_docker(&Pair::wharfd());
}

#[test]
fn running_containers_exits_and_streams_like_docker_on_dockerd() {
    running_containers_exits_and_streams_like_docker(&Pair::dockerd());
}

#[test]
fn running_containers_exits_and_streams_like_docker_on_wharf() {
    running_containers_exits_and_streams_like_docker(&Pair::wharfd());
}

#[test]
fn changing_commands_print_like_docker_on_dockerd() {
    changing_commands_print_like_docker(&Pair::dockerd());
}

#[test]
fn changing_commands_print_like_docker_on_wharf() {
    changing_commands_print_like_docker(&Pair::wharfd());
}

#[test]
fn build_streams_the_classic_builder_output_on_dockerd() {
    build_streams_the_classic_builder_output(&Pair::dockerd());
}

#[test]
fn build_streams_the_classic_builder_output_on_wharf() {
    build_streams_the_classic_builder_output(&Pair::wharfd());
}

#[test]
fn run_it_under_a_terminal_and_detach_with_ctrl_p_ctrl_q_on_dockerd() {
    run_it_under_a_terminal_and_detach_with_ctrl_p_ctrl_q(&Pair::dockerd());
}

#[test]
fn run_it_under_a_terminal_and_detach_with_ctrl_p_ctrl_q_on_wharf() {
    run_it_under_a_terminal_and_detach_with_ctrl_p_ctrl_q(&Pair::wharfd());
}
