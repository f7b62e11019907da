//! The json-file log reader on files in Docker's format: rotation, tail,
//! since/until, stream selection and follow across a rotation.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use wharf_engine::logs::{format_time, parse_time, read_logs};
use wharf_engine::{LogEntry, LogsOptions};

const BASE: i64 = 1_700_000_000_000_000_000;

fn record(i: i64, stream: &str, text: &str) -> String {
    let time = format_time(BASE + i * 1_000_000_000);
    // Docker trims trailing zeros of the fraction (Go's RFC3339Nano).
    let time = time
        .trim_end_matches("Z")
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
        + "Z";
    let v = serde_json::json!({"log": format!("{text}\n"), "stream": stream, "time": time});
    format!("{v}\n")
}

fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        f.write_all(l.as_bytes()).unwrap();
    }
}

/// Lines 0..10: 0-3 in .2, 4-6 in .1, 7-9 live; odd lines on stderr.
fn rotated_log(dir: &Path) -> PathBuf {
    let path = dir.join("c-json.log");
    let rec = |i: i64| {
        record(
            i,
            if i % 2 == 1 { "stderr" } else { "stdout" },
            &format!("line {i}"),
        )
    };
    append(
        &dir.join("c-json.log.2"),
        &(0..4).map(rec).collect::<Vec<_>>(),
    );
    append(
        &dir.join("c-json.log.1"),
        &(4..7).map(rec).collect::<Vec<_>>(),
    );
    append(&path, &(7..10).map(rec).collect::<Vec<_>>());
    path
}

fn read(path: &Path, opts: LogsOptions) -> Vec<LogEntry> {
    // Room for every entry: the reader runs to its end before we drain.
    let (tx, mut rx) = mpsc::channel(100_000);
    read_logs(path, &opts, || false, &tx);
    drop(tx);
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e.unwrap());
    }
    out
}

fn texts(entries: &[LogEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.line).trim_end().to_string())
        .collect()
}

fn both() -> LogsOptions {
    LogsOptions {
        stdout: true,
        stderr: true,
        ..Default::default()
    }
}

#[test]
fn logs_read_across_rotated_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path());
    let all = read(&path, both());
    let want: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
    assert_eq!(texts(&all), want);
    assert_eq!(all[1].stream, 2);
    assert_eq!(all[0].stream, 1);
    assert_eq!(all[3].time, format_time(BASE + 3_000_000_000));
    assert_eq!(parse_time(&all[3].time), Some(BASE + 3_000_000_000));
}

#[test]
fn logs_stream_selection_tail_since_until() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path());
    let out = read(
        &path,
        LogsOptions {
            stdout: true,
            ..Default::default()
        },
    );
    assert_eq!(
        texts(&out),
        ["line 0", "line 2", "line 4", "line 6", "line 8"]
    );
    let out = read(
        &path,
        LogsOptions {
            stderr: true,
            ..Default::default()
        },
    );
    assert_eq!(
        texts(&out),
        ["line 1", "line 3", "line 5", "line 7", "line 9"]
    );
    // tail counts lines of both streams, across files, before selection.
    let out = read(
        &path,
        LogsOptions {
            tail: Some(4),
            ..both()
        },
    );
    assert_eq!(texts(&out), ["line 6", "line 7", "line 8", "line 9"]);
    let out = read(
        &path,
        LogsOptions {
            tail: Some(4),
            stdout: true,
            ..Default::default()
        },
    );
    assert_eq!(texts(&out), ["line 6", "line 8"]);
    assert!(read(
        &path,
        LogsOptions {
            tail: Some(0),
            ..both()
        }
    )
    .is_empty());
    assert_eq!(
        read(
            &path,
            LogsOptions {
                tail: Some(100),
                ..both()
            }
        )
        .len(),
        10
    );
    // since is inclusive, until too (a line after it ends the stream).
    let s = BASE + 3_000_000_000;
    let u = BASE + 5_000_000_000;
    let out = read(
        &path,
        LogsOptions {
            since: Some(s),
            until: Some(u),
            ..both()
        },
    );
    assert_eq!(texts(&out), ["line 3", "line 4", "line 5"]);
}

#[test]
fn logs_skip_torn_and_garbage_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    append(
        &path,
        &[
            record(0, "stdout", "a"),
            "not json\n".into(),
            record(1, "stdout", "b"),
        ],
    );
    // A last line without its newline is still being written: not read.
    let torn = record(2, "stdout", "c");
    append(&path, &[torn[..torn.len() / 2].to_string()]);
    assert_eq!(texts(&read(&path, both())), ["a", "b"]);
    assert!(read(&dir.path().join("missing.log"), both()).is_empty());
}

#[test]
fn logs_follow_across_rotation_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = rotated_log(dir.path());
    let running = Arc::new(AtomicBool::new(true));
    let (tx, mut rx) = mpsc::channel(1000);
    let reader = {
        let (path, running) = (path.clone(), running.clone());
        std::thread::spawn(move || {
            let opts = LogsOptions {
                follow: true,
                tail: Some(2),
                ..both()
            };
            read_logs(&path, &opts, || running.load(Ordering::SeqCst), &tx);
        })
    };
    let mut got = Vec::new();
    let next = |rx: &mut mpsc::Receiver<wharf_engine::Result<LogEntry>>| {
        let e: LogEntry = rx.blocking_recv().expect("entry").unwrap();
        String::from_utf8_lossy(&e.line).trim_end().to_string()
    };
    for _ in 0..2 {
        got.push(next(&mut rx));
    }
    append(&path, &[record(10, "stdout", "line 10")]);
    got.push(next(&mut rx));
    // Rotate: the live file becomes .1, a new one is started.
    append(&path, &[record(11, "stdout", "line 11")]);
    std::fs::rename(
        dir.path().join("c-json.log.1"),
        dir.path().join("c-json.log.3"),
    )
    .unwrap();
    std::fs::rename(&path, dir.path().join("c-json.log.1")).unwrap();
    append(&path, &[record(12, "stderr", "line 12")]);
    got.push(next(&mut rx));
    got.push(next(&mut rx));
    append(&path, &[record(13, "stdout", "line 13")]);
    running.store(false, Ordering::SeqCst);
    reader.join().unwrap();
    while let Ok(e) = rx.try_recv() {
        got.push(
            String::from_utf8_lossy(&e.unwrap().line)
                .trim_end()
                .to_string(),
        );
    }
    let want: Vec<String> = (8..14).map(|i| format!("line {i}")).collect();
    assert_eq!(got, want);
}

#[test]
fn logs_follow_across_several_rotations_between_polls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    append(&path, &[record(0, "stdout", "line 0")]);
    let running = Arc::new(AtomicBool::new(true));
    let (tx, mut rx) = mpsc::channel(1000);
    let reader = {
        let (path, running) = (path.clone(), running.clone());
        std::thread::spawn(move || {
            let opts = LogsOptions {
                follow: true,
                ..both()
            };
            read_logs(&path, &opts, || running.load(Ordering::SeqCst), &tx);
        })
    };
    let first = rx.blocking_recv().expect("entry").unwrap();
    assert_eq!(first.line, b"line 0\n");
    // Three rotations in a row, each file with lines of its own.
    let rotate = || {
        for n in (1..4).rev() {
            let from = dir.path().join(format!("c-json.log.{n}"));
            if from.exists() {
                std::fs::rename(&from, dir.path().join(format!("c-json.log.{}", n + 1))).unwrap();
            }
        }
        std::fs::rename(&path, dir.path().join("c-json.log.1")).unwrap();
    };
    for i in 1..4 {
        append(
            &path,
            &[record(i * 2 - 1, "stdout", &format!("line {}", i * 2 - 1))],
        );
        append(
            &path,
            &[record(i * 2, "stderr", &format!("line {}", i * 2))],
        );
        rotate();
    }
    append(&path, &[record(7, "stdout", "line 7")]);
    running.store(false, Ordering::SeqCst);
    reader.join().unwrap();
    let mut got = vec!["line 0".to_string()];
    while let Ok(e) = rx.try_recv() {
        got.push(
            String::from_utf8_lossy(&e.unwrap().line)
                .trim_end()
                .to_string(),
        );
    }
    let want: Vec<String> = (0..8).map(|i| format!("line {i}")).collect();
    assert_eq!(got, want);
}

#[test]
fn logs_tail_of_a_long_log_matches_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    // Lines of varied length, over many 64 KiB chunks and two files.
    let rec = |i: i64| {
        record(
            i,
            "stdout",
            &format!("line {i} {}", "x".repeat((i % 300) as usize)),
        )
    };
    append(
        &dir.path().join("c-json.log.1"),
        &(0..3000).map(rec).collect::<Vec<_>>(),
    );
    append(&path, &(3000..6000).map(rec).collect::<Vec<_>>());
    let all = texts(&read(&path, both()));
    assert_eq!(all.len(), 6000);
    for n in [1, 2, 999, 3000, 3001, 4500, 6000, 7000] {
        let tail = texts(&read(
            &path,
            LogsOptions {
                tail: Some(n),
                ..both()
            },
        ));
        assert_eq!(tail, all[all.len().saturating_sub(n)..], "tail {n}");
    }
}
