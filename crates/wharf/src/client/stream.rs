//! Hijacked connections (attach, exec start): the container's output to
//! our stdout/stderr (raw with a TTY, demultiplexed from Docker's 8-byte
//! framing without), our stdin to the container (half-closed at EOF), the
//! terminal in raw mode with its size sent at start and on SIGWINCH, and
//! the detach keys (ctrl-p ctrl-q) caught on the way in like docker's
//! escape proxy.

use std::io::Write;

use anyhow::{bail, Result};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::conn::{Body, Client};

/// How a stream ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The daemon closed the output.
    Closed,
    /// The user typed the detach keys.
    Detached,
}

/// Takes over the connection of `method path`.
pub async fn hijack(c: &Client, method: &str, path: &str, body: Option<Body>) -> Result<Upgraded> {
    let resp = c.request(method, path, body, true).await?;
    Ok(hyper::upgrade::on(resp).await?)
}

/// docker's `term.ToBytes`: `ctrl-p,ctrl-q` → `[0x10, 0x11]`.
pub fn detach_bytes(keys: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for key in keys.split(',') {
        let k = key.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c {
                "@" => 0,
                "[" => 27,
                "\\" => 28,
                "]" => 29,
                "^" => 30,
                "_" => 31,
                c if c.len() == 1 && c.as_bytes()[0].is_ascii_lowercase() => {
                    c.as_bytes()[0] - b'a' + 1
                }
                _ => bail!("Unknown character: '{k}'"),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            bail!("Unknown character: '{k}'");
        }
    }
    Ok(out)
}

/// The terminal of our stdin in raw mode until dropped.
pub struct RawTerminal {
    saved: Option<rustix::termios::Termios>,
}

impl RawTerminal {
    /// Puts stdin's terminal in raw mode (nothing when it is no terminal).
    pub fn new() -> RawTerminal {
        let stdin = std::io::stdin();
        let Ok(saved) = rustix::termios::tcgetattr(&stdin) else {
            return RawTerminal { saved: None };
        };
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &raw);
        RawTerminal { saved: Some(saved) }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                t,
            );
        }
    }
}

/// Whether our stdin is a terminal.
pub fn stdin_is_tty() -> bool {
    rustix::termios::isatty(std::io::stdin())
}

/// The size of our stdout's terminal (rows, columns).
pub fn term_size() -> Option<(u16, u16)> {
    let ws = rustix::termios::tcgetwinsize(std::io::stdout())
        .or_else(|_| rustix::termios::tcgetwinsize(std::io::stdin()))
        .ok()?;
    Some((ws.ws_row, ws.ws_col))
}

/// Sends the terminal size now and on every SIGWINCH, to `resize_path`
/// (`/containers/ID/resize` or `/exec/ID/resize`).
/// `bump`: first one row and column more, so that a shell that is
/// re-attached redraws its prompt (docker's attach does the same).
pub fn monitor_size(
    c: &Client,
    resize_path: String,
    bump: bool,
) -> Option<tokio::task::JoinHandle<()>> {
    let (h, w) = term_size()?;
    let client = c.clone();
    Some(tokio::spawn(async move {
        let resize = |h: u16, w: u16| format!("{resize_path}?h={h}&w={w}");
        if bump {
            let _ = client.call("POST", &resize(h + 1, w + 1), None).await;
        }
        let _ = client.call("POST", &resize(h, w), None).await;
        let Ok(mut winch) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while winch.recv().await.is_some() {
            if let Some((h, w)) = term_size() {
                let _ = client.call("POST", &resize(h, w), None).await;
            }
        }
    }))
}

/// Our stdin in chunks, read by a thread of its own (a read blocked on
/// a terminal must not hold up the exit).
fn stdin_chunks() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    });
    rx
}

/// Copies the stream both ways until the output ends (or the user
/// detaches). `stdin`: copy our stdin in, half-closing at its end;
/// `escape`: the detach keys to watch for (TTY input only).
pub async fn pump(io: Upgraded, tty: bool, stdin: bool, escape: Option<Vec<u8>>) -> Result<End> {
    let io = TokioIo::new(io);
    let (mut rd, mut wr) = tokio::io::split(io);
    let (detach_tx, mut detach_rx) = tokio::sync::mpsc::channel::<()>(1);
    let input = stdin.then(|| {
        tokio::spawn(async move {
            let mut inp = stdin_chunks();
            let mut matched = 0usize;
            while let Some(buf) = inp.recv().await {
                let n = buf.len();
                let mut out = Vec::with_capacity(n);
                if let Some(keys) = escape.as_deref().filter(|k| !k.is_empty()) {
                    for &b in &buf[..n] {
                        if b == keys[matched] {
                            matched += 1;
                            if matched == keys.len() {
                                let _ = wr.write_all(&out).await;
                                let _ = detach_tx.send(()).await;
                                return;
                            }
                            continue;
                        }
                        out.extend_from_slice(&keys[..matched]);
                        matched = 0;
                        out.push(b);
                    }
                } else {
                    out.extend_from_slice(&buf[..n]);
                }
                if wr.write_all(&out).await.is_err() {
                    return;
                }
                let _ = wr.flush().await;
            }
            let _ = wr.shutdown().await;
            // Keep the write half (and the connection) alive until the
            // output side is done.
            std::future::pending::<()>().await;
        })
    });
    let output = async {
        let mut buf = vec![0u8; 32 * 1024];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if tty {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&buf[..n]);
                let _ = out.flush();
                continue;
            }
            pending.extend_from_slice(&buf[..n]);
            demux(&mut pending)?;
        }
        Ok::<(), anyhow::Error>(())
    };
    let end = tokio::select! {
        r = output => { r?; End::Closed }
        Some(()) = detach_rx.recv() => End::Detached,
    };
    if let Some(task) = input {
        task.abort();
    }
    Ok(end)
}

/// Writes the complete frames in `pending` to stdout/stderr and keeps the
/// incomplete rest.
pub fn demux(pending: &mut Vec<u8>) -> Result<()> {
    let mut at = 0;
    while pending.len() - at >= 8 {
        let h = &pending[at..at + 8];
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
        if pending.len() - at - 8 < len {
            break;
        }
        let data = &pending[at + 8..at + 8 + len];
        match h[0] {
            0 | 1 => {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(data);
                let _ = o.flush();
            }
            2 => {
                let mut e = std::io::stderr().lock();
                let _ = e.write_all(data);
                let _ = e.flush();
            }
            3 => bail!("{}", String::from_utf8_lossy(data)),
            other => bail!("Unrecognized input header: {other}"),
        }
        at += 8 + len;
    }
    pending.drain(..at);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_like_docker() {
        assert_eq!(detach_bytes("ctrl-p,ctrl-q").unwrap(), vec![0x10, 0x11]);
        assert_eq!(detach_bytes("ctrl-@,a").unwrap(), vec![0, b'a']);
        assert!(detach_bytes("ctrl-").is_err());
    }
}
