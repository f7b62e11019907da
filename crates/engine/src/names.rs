//! Container names: validation with Docker's rule and message, and
//! generated `adjective_surname` names from word lists of our own.

use crate::error::{EngineError, Result};

/// Checks a name given by the user (`/x` or `x`) against Docker's rule
/// `/?[a-zA-Z0-9][a-zA-Z0-9_.-]+` and returns it without the `/`.
pub fn validate(name: &str) -> Result<String> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let b = bare.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(bare.to_string())
    } else {
        Err(EngineError::invalid(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
    }
}

/// Qualities, in the spirit of Docker's generator (our own list).
const ADJECTIVES: &[&str] = &[
    "agile", "amber", "ancient", "bold", "brave", "bright", "brisk", "calm", "careful", "cheerful",
    "clever", "cosmic", "crisp", "curious", "daring", "deft", "eager", "earnest", "elated", "epic",
    "fearless", "fervent", "fluent", "focused", "frosty", "gentle", "gifted", "glad", "golden",
    "graceful", "hardy", "hearty", "honest", "humble", "jovial", "keen", "kind", "lively", "loyal",
    "lucid", "lunar", "merry", "mighty", "modest", "nimble", "noble", "patient", "placid",
    "plucky", "polite", "proud", "quick", "quiet", "radiant", "rapid", "ready", "serene", "sharp",
    "shiny", "silent", "sleek", "smooth", "snowy", "solar", "sound", "spry", "stoic", "sturdy",
    "sunny", "swift", "tender", "tidy", "tranquil", "trusty", "upbeat", "valiant", "vivid", "warm",
    "wise", "witty", "zealous", "zesty",
];

/// Scientists and engineers (our own list).
const SURNAMES: &[&str] = &[
    "agnesi",
    "babbage",
    "bardeen",
    "bell",
    "bohr",
    "boole",
    "bose",
    "brahe",
    "cannon",
    "carson",
    "cerf",
    "chandra",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euclid",
    "euler",
    "faraday",
    "fermat",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "goodall",
    "hamilton",
    "hawking",
    "heisenberg",
    "hertz",
    "hodgkin",
    "hopper",
    "hubble",
    "huygens",
    "johnson",
    "joule",
    "kepler",
    "knuth",
    "kovalevskaya",
    "lamarr",
    "laplace",
    "leavitt",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "mirzakhani",
    "morse",
    "napier",
    "newton",
    "nobel",
    "noether",
    "ohm",
    "pascal",
    "pasteur",
    "planck",
    "poincare",
    "ramanujan",
    "ritchie",
    "rubin",
    "sagan",
    "shannon",
    "somerville",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "volta",
    "wiles",
    "wozniak",
    "wright",
    "yalow",
    "yonath",
];

/// A random `adjective_surname`; from the second try on (`retry` > 0) a
/// digit is appended, as Docker does, so that collisions die out.
pub fn generate(retry: u32) -> String {
    let mut b = [0u8; 4];
    random_bytes(&mut b);
    let a = u16::from_le_bytes([b[0], b[1]]) as usize % ADJECTIVES.len();
    let s = u16::from_le_bytes([b[2], b[3]]) as usize % SURNAMES.len();
    let mut name = format!("{}_{}", ADJECTIVES[a], SURNAMES[s]);
    if retry > 0 {
        name.push_str(&(b[0] % 10).to_string());
    }
    name
}

/// A new container id: 64 random hex digits, never all digits (Docker
/// avoids ids a short form of which would parse as a number).
pub fn new_id() -> String {
    loop {
        let mut b = [0u8; 32];
        random_bytes(&mut b);
        let id = hex::encode(b);
        if !id[..12].bytes().all(|c| c.is_ascii_digit()) {
            return id;
        }
    }
}

fn random_bytes(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => panic!("getrandom failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_name_rule() {
        assert_eq!(validate("/web").unwrap(), "web");
        assert_eq!(validate("a.b_c-1").unwrap(), "a.b_c-1");
        for bad in ["x", "/x", "a b", "-ab", "_ab", "", "/", "ab/c", "é1"] {
            let e = validate(bad).unwrap_err();
            assert_eq!(e.kind, crate::Kind::InvalidArgument);
            assert_eq!(
                e.message,
                format!(
                    "Invalid container name ({bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )
            );
        }
    }

    #[test]
    fn generated_names_are_valid() {
        for retry in 0..50 {
            let n = generate(retry);
            assert!(validate(&n).is_ok(), "{n}");
            assert!(n.contains('_'));
        }
    }

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
