//! The docker CLI 28 on a terminal: `docker run -it` and `docker attach`
//! under a pseudo-terminal, typing into the container's shell and leaving
//! it with ctrl-p ctrl-q (the container keeps running). Each scenario runs
//! against Debian's dockerd (proving the expectations) and against
//! `wharf daemon`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::process::{Child, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_tests;
use wharf_testkit::Collector;

const IMG: &str = "wharf-test/busybox:latest";
/// How long any one step may take (a hang guard, not a measurement).
const STEP: Duration = Duration::from_secs(60);

/// A docker CLI process whose stdin, stdout and stderr are the slave side
/// of a new pty; the test holds the master.
struct OnTerminal {
    child: Child,
    master: File,
    shown: Collector,
}

impl OnTerminal {
    fn spawn(e: &dyn Engine, args: &[&str]) -> OnTerminal {
        let master =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        let slave = OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_string_lossy().as_ref())
            .expect("open the pty slave");
        let fd = |f: &File| Stdio::from(OwnedFd::from(f.try_clone().expect("dup")));
        let child = e
            .command(args)
            .stdin(fd(&slave))
            .stdout(fd(&slave))
            .stderr(fd(&slave))
            .spawn()
            .expect("docker starts");
        drop(slave);
        let master = File::from(master);
        let shown = Collector::spawn(master.try_clone().expect("dup master"));
        OnTerminal {
            child,
            master,
            shown,
        }
    }

    fn text(&self) -> String {
        self.shown.text()
    }

    /// Waits until the terminal has shown `want` (after `from` bytes).
    fn wait_for(&self, want: &str, from: usize) {
        self.shown
            .wait_until(&format!("{want:?} on the terminal"), STEP, |all| {
                all.get(from..).is_some_and(|t| t.contains(want))
            });
    }

    fn len(&self) -> usize {
        self.shown.len()
    }

    fn type_(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the pty");
    }

    /// Waits for the CLI to exit; returns its exit code.
    fn exit_code(mut self) -> Option<i32> {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("docker did not exit; the terminal shows:\n{}", self.text());
            }
            sleep(Duration::from_millis(20));
        }
    }
}

fn status(e: &dyn Engine, name: &str) -> String {
    e.docker_ok(&["inspect", "-f", "{{.State.Status}}", name])
        .trim()
        .to_string()
}

/// Types a command whose output differs from its echo (`echo a''b` shows
/// `ab`), and waits for the output.
fn round_trip(t: &mut OnTerminal, word: &str) {
    let (a, b) = word.split_at(word.len() / 2);
    let from = t.len();
    t.type_(format!("echo {a}''{b}\r").as_bytes());
    t.wait_for(&format!("{word}\r\n"), from);
}

/// `docker run -it` then ctrl-p ctrl-q: the CLI exits 0 and the container
/// still runs; `docker attach` brings the shell back, ctrl-p ctrl-q again,
/// then `exit` through a last attach stops it.
fn run_it_detach(e: &dyn Engine) {
    e.import_busybox(IMG);
    let mut t = OnTerminal::spawn(e, &["run", "-it", "--name", "tty1", IMG, "sh"]);
    t.wait_for("# ", 0);
    round_trip(&mut t, "hello");
    let from = t.len();
    t.type_(b"tty; echo $TERM\r");
    t.wait_for("/dev/pts/0\r\nxterm\r\n", from);
    t.type_(b"\x10\x11");
    assert_eq!(
        t.exit_code(),
        Some(0),
        "ctrl-p ctrl-q detaches with status 0"
    );
    assert_eq!(status(e, "tty1"), "running");
    let tty = e.docker_ok(&[
        "inspect",
        "-f",
        "{{.Config.Tty}} {{.Config.OpenStdin}}",
        "tty1",
    ]);
    assert_eq!(tty, "true true\n");

    let mut t = OnTerminal::spawn(e, &["attach", "tty1"]);
    // The shell prints nothing on attach: poke it with a command.
    round_trip(&mut t, "again");
    // `docker attach` says so and exits 1 when detached (`run` exits 0);
    // the offset is taken first, or a quick answer falls before it.
    let from = t.len();
    t.type_(b"\x10\x11");
    t.wait_for("read escape sequence", from);
    assert_eq!(t.exit_code(), Some(1));
    assert_eq!(status(e, "tty1"), "running");

    let mut t = OnTerminal::spawn(e, &["attach", "tty1"]);
    round_trip(&mut t, "last");
    t.type_(b"exit 6\r");
    assert_eq!(
        t.exit_code(),
        Some(6),
        "attach returns the container's status"
    );
    assert_eq!(status(e, "tty1"), "exited");
    e.docker_ok(&["rm", "tty1"]);
}

/// `docker exec -it` into a running container, and a custom detach key
/// sequence for `run`.
fn exec_it_and_detach_keys(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&["run", "-d", "--name", "tty2", IMG, "sleep", "1000"]);
    let mut t = OnTerminal::spawn(e, &["exec", "-it", "tty2", "sh"]);
    t.wait_for("# ", 0);
    round_trip(&mut t, "inside");
    t.type_(b"exit 3\r");
    assert_eq!(t.exit_code(), Some(3));
    assert_eq!(status(e, "tty2"), "running");

    let mut t = OnTerminal::spawn(
        e,
        &[
            "run",
            "-it",
            "--detach-keys",
            "ctrl-x,x",
            "--name",
            "tty3",
            IMG,
            "sh",
        ],
    );
    t.wait_for("# ", 0);
    round_trip(&mut t, "keys");
    t.type_(b"\x18x");
    assert_eq!(t.exit_code(), Some(0));
    assert_eq!(status(e, "tty3"), "running");
    e.docker_ok(&["rm", "-f", "tty2", "tty3"]);
}

/// `docker attach` without a terminal: the CLI shows what the container
/// prints from then on and exits with the container's status.
fn attach_plain(e: &dyn Engine) {
    e.import_busybox(IMG);
    let script = "while [ ! -f /go ]; do echo tick; sleep 0.2; done; echo late; exit 4";
    e.docker_ok(&["run", "-d", "--name", "att1", IMG, "sh", "-c", script]);
    let attach = e.docker_follow(&["attach", "att1"]);
    attach.wait_until("the container's output", |t| t.contains("tick\n"));
    // Detached: the container may end (killing the exec) before `touch`
    // has exited.
    e.docker_ok(&["exec", "-d", "att1", "touch", "/go"]);
    let (code, all) = attach.wait_exit();
    assert!(all.ends_with("tick\nlate\n"), "{all}");
    assert_eq!(code, Some(4));
    e.docker_ok(&["rm", "att1"]);
}

engine_tests!(run_it_detach => engine_cli_tty_run_it_detach_dockerd,
    engine_cli_tty_run_it_detach_wharf);
engine_tests!(exec_it_and_detach_keys => engine_cli_tty_exec_it_dockerd,
    engine_cli_tty_exec_it_wharf);
engine_tests!(attach_plain => engine_cli_attach_plain_dockerd,
    engine_cli_attach_plain_wharf);
