//! The engine's shim client against the real `wharf shim` (root): spawn,
//! attach, start, exec, wait, the exit file once the shim is gone, and the
//! error kinds the daemon maps to status codes.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wharf_engine::shim_client::ShimClient;
use wharf_engine::Kind;
use wharf_shim::proto::{LogConfig, ShimConfig};
use wharf_testkit::{assert_no_leaks, Bundle};

fn config(tag: &str, bundle: &Bundle, tmp: &std::path::Path) -> ShimConfig {
    let id = format!("shimclient-{tag}-{}", std::process::id());
    ShimConfig {
        log: Some(LogConfig {
            path: tmp.join(format!("{id}-json.log")),
            max_size: 0,
            max_files: 1,
        }),
        id,
        bundle: bundle.path().to_path_buf(),
        runtime_root: tmp.join("runtime"),
        dir: tmp.join("shim"),
        tty: false,
        open_stdin: true,
        stdin_once: true,
    }
}

/// Reads an 8-byte framed stream to its end: (stdout, stderr).
async fn deframe(s: tokio::net::UnixStream) -> (String, String) {
    deframe_after(s, Vec::new()).await
}

/// Reads from `s` until `want` (raw bytes) has arrived; what was read.
async fn read_until(s: &mut tokio::net::UnixStream, want: &[&[u8]]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let has = |d: &[u8], w: &[u8]| d.windows(w.len()).any(|x| x == w);
    while !want.iter().all(|w| has(&data, w)) {
        let n = tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf))
            .await
            .expect("the output arrives")
            .unwrap();
        assert!(n > 0, "the stream ended before {want:?}: {data:?}");
        data.extend_from_slice(&buf[..n]);
    }
    data
}

/// Like [`deframe`], with `data` already read from the stream.
async fn deframe_after(mut s: tokio::net::UnixStream, mut data: Vec<u8>) -> (String, String) {
    s.read_to_end(&mut data).await.unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rest = &data[..];
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let target = if rest[0] == 1 { &mut out } else { &mut err };
        target.extend_from_slice(&rest[8..8 + len]);
        rest = &rest[8 + len..];
    }
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_drives_a_container_through_its_shim() {
    let mut bundle = Bundle::new().unwrap();
    bundle
        .set_args(&["sh", "-c", "read x; echo got-$x; echo oops >&2; sleep 1000"])
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config("drive", &bundle, tmp.path());
    let exe = wharf_testkit::wharf_path().unwrap();
    let (client, pid) = ShimClient::spawn(&exe, &cfg).await.unwrap();
    assert!(pid > 0 && client.is_alive());
    let mut stream = client.attach(None, true, true, true).await.unwrap();
    client.start().await.unwrap();
    stream.write_all(b"hello\n").await.unwrap();

    let mut process = bundle.spec().process().clone().unwrap();
    process.set_args(Some(vec![
        "sh".into(),
        "-c".into(),
        "echo exec; exit 9".into(),
    ]));
    let exec_pid = client
        .exec("x1", &process, false, false, false)
        .await
        .unwrap();
    assert!(exec_pid > 0);
    let exec_stream = client.attach(Some("x1"), false, true, true).await.unwrap();
    assert_eq!(deframe(exec_stream).await.0, "exec\n");
    assert_eq!(client.exec_state("x1").await.unwrap(), (false, Some(9)));
    let err = client.exec_state("nope").await.unwrap_err();
    assert_eq!(err.kind, Kind::NotFound);
    let err = client.resize(None, 10, 10).await.unwrap_err();
    assert_eq!(err.kind, Kind::Conflict, "{err}");

    // The shell has answered before it is killed.
    let seen = read_until(&mut stream, &[b"got-hello\n", b"oops\n"]).await;
    let (state_pid, exit) = client.state().await.unwrap();
    assert_eq!((state_pid, exit), (pid, None));
    let waiter = {
        let client = client.clone();
        tokio::spawn(async move { client.wait().await })
    };
    client.kill(9, false).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(60), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(exit.exit_code, 137);
    assert!(!exit.oom_killed);
    let (out, err) = deframe_after(stream, seen).await;
    assert_eq!((out.as_str(), err.as_str()), ("got-hello\n", "oops\n"));
    // Once the shim is gone, the exit is in its directory.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while client.is_alive() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!client.is_alive());
    assert_eq!(ShimClient::read_exit(client.dir()), Some(exit));
    assert!(client.wait().await.is_err());
    assert_no_leaks(&cfg.id, Some(bundle.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_reports_a_failed_create() {
    let mut bundle = Bundle::new().unwrap();
    bundle.set_args(&["/no/such/program"]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config("fail", &bundle, tmp.path());
    let exe = wharf_testkit::wharf_path().unwrap();
    let err = ShimClient::spawn(&exe, &cfg).await.unwrap_err();
    assert_eq!(err.kind, Kind::System);
    assert!(err.message.contains("/no/such/program"), "{}", err.message);
    assert_no_leaks(&cfg.id, Some(bundle.path()));
}
