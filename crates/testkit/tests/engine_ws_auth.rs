//! The endpoints a Docker client may call that Wharf answered with 404:
//! attach over a WebSocket, `/auth` (`docker login`) with a registry that
//! cannot be reached, and `/session` without BuildKit. Each scenario runs
//! against Debian's dockerd (proving the answers) and `wharf daemon`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use serde_json::json;
use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_tests;

mod gaps_support;
use gaps_support::{read_head, GUARD};

const IMG: &str = "wharf-test/busybox:latest";

/// Reads one server frame: (opcode, payload).
fn read_frame(s: &mut UnixStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).expect("a websocket frame");
    assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload).unwrap();
    (head[0] & 0x0f, payload)
}

/// Sends a masked client frame.
fn send_frame(s: &mut UnixStream, opcode: u8, payload: &[u8]) {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut out = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    out.extend(mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&out).unwrap();
}

/// Attach over a WebSocket: the RFC's accept key; the output as binary
/// frames of raw bytes (stdout and stderr alike); a text frame is stdin;
/// a close frame (1000) when the container's output ends.
fn attach_ws(e: &dyn Engine) {
    e.import_busybox(IMG);
    let body = json!({"Image": IMG, "OpenStdin": true, "StdinOnce": true,
        "Cmd": ["sh", "-c", "echo out; echo err >&2; read x; echo got=$x"]});
    let r = e.api(
        "POST",
        "/containers/create?name=ws1",
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let mut s = UnixStream::connect(e.socket()).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    // The key of RFC 6455's example, whose accept value is known.
    write!(
        s,
        "GET /containers/ws1/attach/ws?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n\
         Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Origin: http://localhost\r\n\r\n"
    )
    .unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    e.docker_ok(&["start", "ws1"]);
    let mut out = Vec::new();
    while !(out.windows(4).any(|w| w == b"out\n") && out.windows(4).any(|w| w == b"err\n")) {
        let (op, payload) = read_frame(&mut s);
        assert_eq!(op, 2, "a binary frame on {}", e.kind());
        out.extend(payload);
    }
    send_frame(&mut s, 1, b"hello\n");
    loop {
        let (op, payload) = read_frame(&mut s);
        if op == 8 {
            assert_eq!(payload, [0x03, 0xe8], "close 1000 on {}", e.kind());
            break;
        }
        assert_eq!(op, 2);
        out.extend(payload);
    }
    let text = String::from_utf8_lossy(&out);
    assert!(text.ends_with("got=hello\n"), "on {}: {text:?}", e.kind());
}

engine_tests!(attach_ws => engine_ws_auth_attach_ws_dockerd, engine_ws_auth_attach_ws_wharf);

/// `docker login` to a registry that cannot be reached: dockerd tries
/// https and then http (a loopback registry is insecure) and answers 500
/// with the last dial error in Go's words.
fn auth_unreachable(e: &dyn Engine) {
    let body = json!({"username": "u", "password": "p", "serveraddress": "127.0.0.1:1"});
    let r = e.api("POST", "/auth", Some(body.to_string().as_bytes()));
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(
        r.message(),
        "Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused"
    );
    let out = e.docker_input(
        &["login", "-u", "u", "--password-stdin", "127.0.0.1:1"],
        b"p\n",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dial tcp 127.0.0.1:1: connect: connection refused"),
        "{err}"
    );
}

engine_tests!(auth_unreachable => engine_ws_auth_auth_unreachable_dockerd, engine_ws_auth_auth_unreachable_wharf);

/// `/session` without an upgrade to h2c is refused at once (400).
fn session_refused(e: &dyn Engine) {
    let r = e.api("POST", "/session", None);
    assert_eq!(
        (r.status, r.message()),
        (400, "no upgrade proto in request".to_string())
    );
}

engine_tests!(session_refused => engine_ws_auth_session_refused_dockerd, engine_ws_auth_session_refused_wharf);
