//! A seccomp profile given with `--security-opt seccomp=<JSON>` (the CLI
//! sends the file's content): moby's format, resolved for amd64 and the
//! container's capabilities as moby's `setupSeccomp` does, into the OCI
//! form.

use oci_spec::runtime::LinuxSeccomp;
use serde_json::{json, Value};

use crate::error::{EngineError, Result};

fn decode_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::invalid(format!("Decoding seccomp profile failed: {e}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Converts a moby profile to the OCI seccomp object.
pub(crate) fn from_moby<S: AsRef<str>>(profile: &str, caps: &[S]) -> Result<LinuxSeccomp> {
    let doc: Value = serde_json::from_str(profile).map_err(decode_err)?;
    let Some(obj) = doc.as_object() else {
        return Err(decode_err("the profile is not a JSON object"));
    };
    let caps: Vec<&str> = caps.iter().map(AsRef::as_ref).collect();
    let mut arches = Vec::new();
    for m in obj
        .get("archMap")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if m["architecture"] == "SCMP_ARCH_X86_64" {
            arches.push("SCMP_ARCH_X86_64".to_string());
            arches.extend(strings(&m["subArchitectures"]));
        }
    }
    if arches.is_empty() {
        arches = strings(obj.get("architectures").unwrap_or(&Value::Null));
    }
    let arch_ok = |list: &Value| {
        let l = strings(list);
        l.iter().any(|a| a == "amd64" || a == "x86_64")
    };
    let mut syscalls = Vec::new();
    for s in obj
        .get("syscalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let inc = &s["includes"];
        let exc = &s["excludes"];
        if !strings(&inc["arches"]).is_empty() && !arch_ok(&inc["arches"]) {
            continue;
        }
        if strings(&inc["caps"])
            .iter()
            .any(|c| !caps.contains(&c.as_str()))
        {
            continue;
        }
        if arch_ok(&exc["arches"])
            || strings(&exc["caps"])
                .iter()
                .any(|c| caps.contains(&c.as_str()))
        {
            continue;
        }
        let mut names = strings(&s["names"]);
        if let Some(n) = s["name"].as_str() {
            names.push(n.to_string());
        }
        if names.is_empty() {
            continue;
        }
        let mut call = json!({ "names": names, "action": s["action"] });
        if let Some(args) = s
            .get("args")
            .filter(|a| a.as_array().is_some_and(|a| !a.is_empty()))
        {
            call["args"] = args.clone();
        }
        if let Some(e) = s.get("errnoRet").filter(|e| e.is_u64()) {
            call["errnoRet"] = e.clone();
        }
        syscalls.push(call);
    }
    let mut oci = json!({
        "defaultAction": obj.get("defaultAction").cloned().unwrap_or(Value::Null),
        "architectures": arches,
        "syscalls": syscalls,
    });
    if let Some(e) = obj.get("defaultErrnoRet").filter(|e| e.is_u64()) {
        oci["defaultErrnoRet"] = e.clone();
    }
    if let Some(f) = obj.get("flags").filter(|f| f.is_array()) {
        oci["flags"] = f.clone();
    }
    serde_json::from_value(oci).map_err(decode_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moby_profile_is_resolved_for_caps() {
        let p = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
            "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]}],
            "syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
                        {"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
                        {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#;
        let s = from_moby(p, &["CAP_CHOWN"]).unwrap();
        let calls = s.syscalls().clone().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].errno_ret(), Some(13));
        assert_eq!(s.architectures().clone().unwrap().len(), 3);
        let s = from_moby(p, &["CAP_SYS_ADMIN"]).unwrap();
        assert_eq!(s.syscalls().clone().unwrap().len(), 3);
    }

    #[test]
    fn bad_profile_is_a_400() {
        let e = from_moby("notjson", &["CAP_CHOWN"]).unwrap_err();
        assert!(
            e.message.starts_with("Decoding seccomp profile failed: "),
            "{}",
            e.message
        );
    }
}
