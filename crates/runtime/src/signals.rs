//! Signal names as `kill` accepts them (without the `SIG` prefix).

use rustix::process::Signal;

const TABLE: &[(&str, Signal)] = &[
    ("HUP", Signal::HUP),
    ("INT", Signal::INT),
    ("QUIT", Signal::QUIT),
    ("ILL", Signal::ILL),
    ("TRAP", Signal::TRAP),
    ("ABRT", Signal::ABORT),
    ("IOT", Signal::ABORT),
    ("BUS", Signal::BUS),
    ("FPE", Signal::FPE),
    ("KILL", Signal::KILL),
    ("USR1", Signal::USR1),
    ("SEGV", Signal::SEGV),
    ("USR2", Signal::USR2),
    ("PIPE", Signal::PIPE),
    ("ALRM", Signal::ALARM),
    ("TERM", Signal::TERM),
    ("STKFLT", Signal::STKFLT),
    ("CHLD", Signal::CHILD),
    ("CONT", Signal::CONT),
    ("STOP", Signal::STOP),
    ("TSTP", Signal::TSTP),
    ("TTIN", Signal::TTIN),
    ("TTOU", Signal::TTOU),
    ("URG", Signal::URG),
    ("XCPU", Signal::XCPU),
    ("XFSZ", Signal::XFSZ),
    ("VTALRM", Signal::VTALARM),
    ("PROF", Signal::PROF),
    ("WINCH", Signal::WINCH),
    ("IO", Signal::IO),
    ("POLL", Signal::IO),
    ("PWR", Signal::POWER),
    ("SYS", Signal::SYS),
];

/// The signal called `name` (upper case, no `SIG` prefix).
pub fn by_name(name: &str) -> Option<Signal> {
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(by_name("KILL"), Some(Signal::KILL));
        assert_eq!(by_name("TERM").map(|s| s.as_raw()), Some(15));
        assert_eq!(by_name("NOPE"), None);
        let p = crate::lifecycle::parse_signal;
        assert_eq!(p("SIGKILL").unwrap(), Signal::KILL);
        assert_eq!(p("kill").unwrap(), Signal::KILL);
        assert_eq!(p("9").unwrap(), Signal::KILL);
        assert!(p("SIGNOPE").is_err());
        assert!(p("0").is_err());
    }
}
