//! What the raw-API test files share (each includes it with `mod support;`):
//! query encoding, a response in one line for messages, a JSON object's
//! keys, and the JSON values of a streamed body.

// Each test file uses its own part of the module.
#![allow(dead_code)]

use std::collections::BTreeSet;

use serde_json::Value;
use wharf_testkit::daemon::ApiResponse;

/// A query value percent-encoded (RFC 3986 unreserved bytes kept).
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The status and the body, for assertion messages.
pub fn show(r: &ApiResponse) -> String {
    format!("{} {}", r.status, r.text())
}

/// The keys of a JSON object (none for anything else).
pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The JSON values one after another in a streamed body (a build's
/// messages, events); panics on one that is not JSON.
pub fn json_stream(r: &ApiResponse) -> Vec<Value> {
    serde_json::Deserializer::from_slice(&r.body)
        .into_iter::<Value>()
        .map(|m| m.unwrap_or_else(|e| panic!("bad JSON value in {}: {e}", r.text())))
        .collect()
}
