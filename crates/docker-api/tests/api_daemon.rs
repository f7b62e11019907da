//! `wharf daemon` as a process: its flags and config file, the pid file,
//! the socket's mode, a stale socket, SIGTERM, and which TCP addresses it
//! serves (loopback plain, anything else only with mutual TLS).

use std::net::TcpListener;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use wharf_testkit::daemon::ping;

/// A daemon process on its own temporary roots; killed on drop.
struct Daemon {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Daemon {
    fn new() -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("wharf-apid-")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::write(dir.path().join("daemon.json"), "{}\n").unwrap();
        Daemon { dir, child: None }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut cmd = Command::new(wharf_testkit::wharf_path().unwrap());
        // No default bridge: these daemons run in the host's network
        // namespace, where a bridge and an nft table would outlive them.
        cmd.arg("daemon")
            .args(["--bridge", "none"])
            .arg("--data-root")
            .arg(self.path("data"))
            .arg("--exec-root")
            .arg(self.path("exec"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs a daemon that must fail to start; its output.
    fn fails(&self, extra: &[&str]) -> Output {
        let out = self.command(extra).output().unwrap();
        assert!(!out.status.success(), "the daemon started with {extra:?}");
        out
    }

    /// Starts the daemon and waits until `socket` answers.
    fn start(&mut self, extra: &[&str], socket: &Path) {
        let mut child = self
            .command(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ping(socket) {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the daemon exited early"
            );
            assert!(Instant::now() < deadline, "the daemon never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    /// SIGTERM; the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        child.wait().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn pidfile_socket_mode_and_sigterm() {
    let mut d = Daemon::new();
    let sock = d.path("run/api.sock");
    // A socket left by a daemon that died: replaced, not an error.
    std::fs::create_dir_all(d.path("run")).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    let host = format!("unix://{}", sock.display());
    let pidfile = d.path("daemon.pid");
    let config = d.path("daemon.json");
    let args = [
        "-H",
        host.as_str(),
        "--pidfile",
        pidfile.to_str().unwrap(),
        "--config-file",
        config.to_str().unwrap(),
    ];
    d.start(&args, &sock);
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(Some(pid), d.child.as_ref().map(Child::id));
    let meta = std::fs::metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    // A second daemon on the same pid file is refused.
    let second = d.fails(&args);
    assert!(
        stderr(&second).contains("pid file found"),
        "{}",
        stderr(&second)
    );
    let status = d.terminate();
    assert!(status.success(), "{status}");
    assert!(!pidfile.exists(), "pid file left");
    assert!(!sock.exists(), "socket left");
}

#[test]
fn config_file_conflicts_and_unknown_keys_are_refused() {
    let d = Daemon::new();
    let cfg = d.path("conflict.json");
    std::fs::write(&cfg, r#"{"hosts":["unix:///tmp/x.sock"]}"#).unwrap();
    let out = d.fails(&[
        "--config-file",
        cfg.to_str().unwrap(),
        "-H",
        "unix:///tmp/y.sock",
    ]);
    assert!(
        stderr(&out).contains("specified both as a flag and in the configuration file: hosts"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&cfg, r#"{"bogus-key":1}"#).unwrap();
    let out = d.fails(&["--config-file", cfg.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("don't match any configuration option: bogus-key"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&cfg, "{not json").unwrap();
    let out = d.fails(&["--config-file", cfg.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("invalid config file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn non_loopback_tcp_needs_mutual_tls() {
    let d = Daemon::new();
    let host = format!("tcp://0.0.0.0:{}", free_port());
    let out = d.fails(&["-H", &host]);
    assert!(stderr(&out).contains("mutual TLS"), "{}", stderr(&out));
    let out = d.fails(&["-H", "fd://"]);
    assert!(
        stderr(&out).contains("invalid host address"),
        "{}",
        stderr(&out)
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=wharf-test-ca",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, cn) in [("server", "127.0.0.1"), ("client", "client")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}-key.pem"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={cn}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-out",
                &format!("{name}.pem"),
                "-days",
                "1",
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

fn curl(dir: &Path, args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn mutual_tls_serves_clients_with_a_certificate_only() {
    let mut d = Daemon::new();
    let certs = d.path("certs");
    std::fs::create_dir_all(&certs).unwrap();
    certificates(&certs);
    let sock = d.path("api.sock");
    let unix = format!("unix://{}", sock.display());
    let port = free_port();
    let tcp = format!("tcp://127.0.0.1:{port}");
    let c = |f: &str| certs.join(f).to_string_lossy().into_owned();
    let (ca, cert, key) = (c("ca.pem"), c("server.pem"), c("server-key.pem"));
    d.start(
        &[
            "-H",
            &unix,
            "-H",
            &tcp,
            "--tlsverify",
            "--tlscacert",
            &ca,
            "--tlscert",
            &cert,
            "--tlskey",
            &key,
        ],
        &sock,
    );
    let url = format!("https://127.0.0.1:{port}/_ping");
    let ok = curl(
        &certs,
        &[
            "--cacert",
            "ca.pem",
            "--cert",
            "client.pem",
            "--key",
            "client-key.pem",
            &url,
        ],
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "OK", "{}", stderr(&ok));
    let refused = curl(&certs, &["--cacert", "ca.pem", &url]);
    assert!(
        !refused.status.success(),
        "a client without a certificate was served"
    );
    let plain = curl(&certs, &[&format!("http://127.0.0.1:{port}/_ping")]);
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "OK");
    // The daemon still serves after the refused clients.
    assert!(ping(&sock));
}
