//! Image names as archives write them: `manifest.json` and `repositories`
//! use Docker's familiar form (`busybox:latest`), OCI index annotations the
//! full form (`docker.io/library/busybox:latest`).
//!
//! Only the domain rule of Docker's reference grammar is needed here (the
//! first component is a registry when it has a `.` or a `:` or is
//! `localhost`); names are validated by the store when they are tagged.

/// Docker Hub's domain in full names.
const HUB: &str = "docker.io";
/// The repository namespace of one-component names on Docker Hub.
const LIBRARY: &str = "library/";

/// Whether `first` (the part before the first `/`) names a registry.
fn is_domain(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

/// The full form of `name`: `busybox:latest` → `docker.io/library/busybox:latest`,
/// `me/app:1` → `docker.io/me/app:1`; a name with a registry is unchanged.
pub fn full_name(name: &str) -> String {
    match name.split_once('/') {
        Some((first, _)) if is_domain(first) => name.to_string(),
        Some(_) => format!("{HUB}/{name}"),
        None => format!("{HUB}/{LIBRARY}{name}"),
    }
}

/// The familiar form of `name`: `docker.io/library/busybox:latest` →
/// `busybox:latest`, `docker.io/me/app:1` → `me/app:1`; other names are
/// unchanged.
pub fn familiar_name(name: &str) -> String {
    let rest = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"));
    match rest {
        Some(r) => match r.strip_prefix(LIBRARY) {
            Some(short) if !short.contains('/') => short.to_string(),
            _ => r.to_string(),
        },
        None => name.to_string(),
    }
}

/// Splits `name:tag` into repository and tag; `None` when the name has no
/// tag (the last `:` is part of a registry's port) or has a digest.
pub fn split_tag(name: &str) -> Option<(&str, &str)> {
    if name.contains('@') {
        return None;
    }
    let (repo, tag) = name.rsplit_once(':')?;
    if tag.contains('/') || repo.is_empty() || tag.is_empty() {
        return None;
    }
    Some((repo, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_familiar() {
        for (familiar, full) in [
            ("busybox:latest", "docker.io/library/busybox:latest"),
            ("me/app:1", "docker.io/me/app:1"),
            ("localhost:5000/x:2", "localhost:5000/x:2"),
            ("quay.io/a/b:c", "quay.io/a/b:c"),
            ("localhost/x:1", "localhost/x:1"),
        ] {
            assert_eq!(full_name(familiar), full);
            assert_eq!(familiar_name(full), familiar);
        }
        assert_eq!(familiar_name("docker.io/library/a/b:1"), "library/a/b:1");
    }

    #[test]
    fn tags_split_after_the_port() {
        assert_eq!(split_tag("busybox:latest"), Some(("busybox", "latest")));
        assert_eq!(
            split_tag("localhost:5000/x:2"),
            Some(("localhost:5000/x", "2"))
        );
        assert_eq!(split_tag("localhost:5000/x"), None);
        assert_eq!(split_tag("busybox"), None);
        assert_eq!(split_tag("a@sha256:00"), None);
    }
}
