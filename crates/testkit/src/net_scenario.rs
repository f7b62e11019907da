//! What the networking scenarios (`tests/engine_net*.rs`, `tests/compose*.rs`)
//! share: a busybox image that exposes a port, a busybox `httpd` serving
//! a page that names its container, fetches from the daemon's side of the
//! published ports, and waits with a hang guard for a server to answer.
//!
//! Everything runs against an [`Engine`] in its own network namespace, so
//! fixed port numbers and subnets are private to one daemon.

use std::process::Output;
use std::time::Duration;

use crate::daemon::Engine;
use crate::host::wait_for;
use crate::output::explain;

/// The busybox image of the networking scenarios: `CMD ["sh"]`,
/// `EXPOSE 80/tcp`.
pub const NET_IMG: &str = "wharf-test/netbox:latest";

/// How long a server may take to answer (a hang guard, not a timing
/// assertion).
pub const ANSWER_GUARD: Duration = Duration::from_secs(60);

/// Imports [`NET_IMG`] into the daemon.
pub fn import_net_image(e: &dyn Engine) {
    let tar = crate::images::busybox_rootfs_tar();
    let args = [
        "import",
        "--change",
        "CMD [\"sh\"]",
        "--change",
        "EXPOSE 80/tcp",
        "-",
        NET_IMG,
    ];
    let out = e.docker_input(&args, &tar);
    assert!(
        out.status.success(),
        "import on {}: {}",
        e.kind(),
        explain(&out)
    );
}

/// The shell command that makes `/www/index.html` say `hello from
/// <name>` and runs busybox httpd on port 80 in the foreground.
pub fn httpd_script(name: &str) -> String {
    format!(
        "mkdir -p /www && echo hello from {name} > /www/index.html && exec httpd -f -p 80 -h /www"
    )
}

/// `docker run -d --name <name> <opts…> NET_IMG sh -c <httpd>`: a web
/// server whose page is `hello from <name>`; returns the container id.
pub fn serve(e: &dyn Engine, name: &str, opts: &[&str]) -> String {
    let script = httpd_script(name);
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(opts);
    args.extend([NET_IMG, "sh", "-c", &script]);
    e.docker_ok(&args).trim().to_string()
}

/// `docker run -d --name <name> <opts…> NET_IMG sleep 1000`: a container
/// that stays up; returns its id.
pub fn sleeper(e: &dyn Engine, name: &str, opts: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(opts);
    args.extend([NET_IMG, "sleep", "1000"]);
    e.docker_ok(&args).trim().to_string()
}

/// `curl` of `url` from the daemon's network namespace: the body, or the
/// error text.
pub fn fetch(e: &dyn Engine, url: &str) -> Result<String, String> {
    let out = e.host_cmd(&["curl", "-sS", "--max-time", "10", url]);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(explain(&out))
    }
}

/// Fetches `url` from the daemon's side until the body is `hello from
/// <name>` (the server may still be starting); panics with the last
/// error after [`ANSWER_GUARD`].
pub fn fetch_until(e: &dyn Engine, url: &str, name: &str) {
    let want = format!("hello from {name}");
    let mut last = String::new();
    let got = wait_for(ANSWER_GUARD, || match fetch(e, url) {
        Ok(body) if body.trim() == want => Some(()),
        Ok(body) => {
            last = body;
            None
        }
        Err(err) => {
            last = err;
            None
        }
    });
    assert!(
        got.is_some(),
        "{url} on {} never said {want:?}; last: {last}",
        e.kind()
    );
}

/// Runs `sh -c <script>` in the running container `name` (`docker
/// exec`); returns the output.
pub fn exec_sh(e: &dyn Engine, name: &str, script: &str) -> Output {
    e.docker(&["exec", name, "sh", "-c", script])
}

/// Runs `sh -c <script>` in `name` until it exits 0 (a peer may still be
/// starting); panics after [`ANSWER_GUARD`]; returns its stdout.
pub fn exec_until(e: &dyn Engine, name: &str, script: &str) -> String {
    let mut last = String::new();
    let got = wait_for(ANSWER_GUARD, || {
        let out = exec_sh(e, name, script);
        if out.status.success() {
            return Some(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        last = explain(&out);
        None
    });
    got.unwrap_or_else(|| panic!("{script:?} in {name} on {} kept failing: {last}", e.kind()))
}

/// The host port `docker port <name> <port>` names on 0.0.0.0 (or on
/// the only address given).
pub fn host_port(e: &dyn Engine, name: &str, port: &str) -> u16 {
    let out = e.docker_ok(&["port", name, port]);
    out.lines()
        .find(|l| !l.starts_with('['))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("docker port {name} {port} on {}: {out:?}", e.kind()))
}

/// Whether a TCP socket can listen on `127.0.0.1:<port>` in the daemon's
/// namespace right now (nothing holds the port). SO_REUSEADDR, as servers
/// set it, so that connections of earlier fetches in TIME_WAIT do not
/// count.
pub fn port_free(e: &dyn Engine, port: u16) -> bool {
    let script = format!(
        "import socket; s = socket.socket(); \
         s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
         s.bind(('127.0.0.1', {port})); s.listen()"
    );
    e.host_cmd(&["python3", "-c", &script]).status.success()
}

/// `docker inspect -f <format> <name>`, trimmed.
pub fn inspect_format(e: &dyn Engine, name: &str, format: &str) -> String {
    e.docker_ok(&["inspect", "-f", format, name])
        .trim()
        .to_string()
}

/// The address of `name` on `network` (from inspect).
pub fn address_on(e: &dyn Engine, name: &str, network: &str) -> String {
    let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
    inspect_format(e, name, &format)
}

/// The name servers of the host's resolv.conf as a container on a bridge
/// gets them: loopback ones left out, Google's when none is left.
pub fn host_nameservers() -> Vec<String> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let kept: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .map(|ns| ns.trim().to_string())
        .filter(|ns| !ns.starts_with("127.") && ns != "::1")
        .collect();
    if kept.is_empty() {
        vec!["8.8.8.8".into(), "8.8.4.4".into()]
    } else {
        kept
    }
}

/// The standard error of `out`, trimmed.
pub fn stderr_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// Runs `docker args…` expecting a refusal: exit `code` and `want` as the
/// first line of stderr (the CLI may add usage hints after it).
pub fn docker_refused(e: &dyn Engine, args: &[&str], code: i32, want: &str) {
    let out = e.docker(args);
    let err = stderr_text(&out);
    assert_eq!(
        (out.status.code(), err.lines().next().unwrap_or("")),
        (Some(code), want),
        "docker {} on {}: {}",
        args.join(" "),
        e.kind(),
        explain(&out)
    );
}
