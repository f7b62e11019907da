//! Output the way the docker CLI prints it: sizes in decimal units with
//! four significant digits (`7.05MB`), ages like `2 hours ago`, and tables
//! whose columns are padded by three spaces (Go's tabwriter as docker sets
//! it up).

use std::time::{Duration, SystemTime};

/// docker's `units.HumanSize`: decimal units, `%.4g`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", go_g4(size), UNITS[unit])
}

/// Go's `%.4g` for a value below 1000: four significant digits, trailing
/// zeros dropped.
fn go_g4(v: f64) -> String {
    let digits_before = if v < 1.0 {
        1
    } else {
        (v.log10().floor() as i32 + 1).max(1)
    };
    let decimals = (4 - digits_before).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// docker's `units.HumanDuration`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let minutes = secs / 60;
    let hours = (d.as_secs_f64() / 3600.0 + 0.5) as u64;
    match () {
        _ if secs < 1 => "Less than a second".into(),
        _ if secs == 1 => "1 second".into(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    }
}

/// Go's `text/tabwriter` as docker sets it up (minwidth 10, tabwidth 1,
/// padding 3, space padding, no flags): `\t`-terminated cells form
/// columns over runs of consecutive lines that have them; the text after a
/// line's last tab is not aligned.
pub fn tabwrite(text: &str) -> String {
    tabwrite_with(text, 10, 3)
}

/// [`tabwrite`] with other minimum width and padding (`docker version`
/// uses 20 and 1).
pub fn tabwrite_with(text: &str, minwidth: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    let tw = Tw { minwidth, padding };
    tw.format_block(&lines, 0, lines.len(), &mut widths, &mut out);
    out
}

struct Tw {
    minwidth: usize,
    padding: usize,
}

fn cell_width(s: &str) -> usize {
    s.chars().count()
}

impl Tw {
    fn format_block(
        &self,
        lines: &[Vec<&str>],
        mut line0: usize,
        line1: usize,
        widths: &mut Vec<usize>,
        out: &mut String,
    ) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            write_lines(lines, line0, this, widths, out);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(cell_width(lines[this][column]) + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format_block(lines, line0, this, widths, out);
            widths.pop();
            line0 = this;
        }
        write_lines(lines, line0, line1, widths, out);
    }
}

fn write_lines(lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for (i, line) in lines.iter().enumerate().take(to).skip(from) {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() && j + 1 < line.len() {
                let pad = widths[j].saturating_sub(cell_width(cell));
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
}

/// docker's `units.HumanSizeWithPrecision(size, 3)`: `%.3g` and a
/// decimal unit.
pub fn human_size3(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", go_g(size, 3), UNITS[unit])
}

/// docker's `units.BytesSize`: binary units (`1.5MiB`), `%.4g`.
pub fn bytes_size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut size = bytes;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{}{}", go_g(size, 4), UNITS[unit])
}

/// Go's `%.Ng` for values that print without an exponent.
pub fn go_g(v: f64, precision: i32) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    if exp < -4 || exp >= precision {
        let s = format!("{:.*e}", (precision - 1).max(0) as usize, v);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (precision - 1 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// docker's `formatter.Ellipsis`: at most `max` characters, the last one
/// `…` when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// docker's `stringid.TruncateID`: without `sha256:`, 12 characters.
pub fn short_id(id: &str) -> String {
    let id = id.rsplit(':').next().unwrap_or(id);
    id.chars().take(12).collect()
}

/// A Unix time as Go's `time.Time.String()` prints it in UTC
/// (`2024-01-02 03:04:05 +0000 UTC`).
pub fn go_time(secs: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs) else {
        return String::new();
    };
    format!("{} +0000 UTC", ymd_hms(&t))
}

/// `2024-01-02 03:04:05`.
fn ymd_hms(t: &time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An API time (RFC 3339, nanoseconds) as Go's `time.Time.String()`
/// prints it (`2024-01-02 03:04:05.123456789 +0000 UTC`); the text
/// itself when it does not parse.
pub fn go_time_text(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(rfc3339, &Rfc3339) else {
        return rfc3339.to_string();
    };
    let mut frac = String::new();
    if t.nanosecond() != 0 {
        frac = format!(".{:09}", t.nanosecond())
            .trim_end_matches('0')
            .to_string();
    }
    let off = t.offset().whole_minutes();
    let zone = format!(
        "{}{:02}{:02}",
        if off < 0 { '-' } else { '+' },
        off.abs() / 60,
        off.abs() % 60
    );
    let name = if off == 0 {
        "UTC".to_string()
    } else {
        zone.clone()
    };
    format!("{}{frac} {zone} {name}", ymd_hms(&t))
}

/// `sortorder.NaturalLess` (the docker CLI's sort of names and port
/// lines): runs of digits compare as numbers, digits before other bytes.
pub fn natural_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            return da;
        }
        if !da {
            if a[i] != b[j] {
                return a[i] < b[j];
            }
            i += 1;
            j += 1;
            continue;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let (nz_a, nz_b) = (i, j);
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if i - nz_a != j - nz_b {
            return i - nz_a < j - nz_b;
        }
        if a[nz_a..i] != b[nz_b..j] {
            return a[nz_a..i] < b[nz_b..j];
        }
        if nz_a != nz_b {
            return nz_a < nz_b;
        }
    }
    a.len() < b.len()
}

/// An [`Ordering`](std::cmp::Ordering) from [`natural_less`].
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if natural_less(a, b) {
        std::cmp::Ordering::Less
    } else if natural_less(b, a) {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

/// Go's `net.JoinHostPort`: IPv6 hosts in brackets.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `N ago` for a Unix time.
pub fn ago_unix(secs: i64) -> String {
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
    let age = SystemTime::now().duration_since(when).unwrap_or_default();
    format!("{} ago", human_duration(age))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(1_240_000), "1.24MB");
        assert_eq!(human_size(7_054_321), "7.054MB");
        assert_eq!(human_size(123_456_789), "123.5MB");
        assert_eq!(human_size(4_400_000_000), "4.4GB");
    }

    #[test]
    fn durations_match_docker() {
        let s = Duration::from_secs;
        assert_eq!(human_duration(s(0)), "Less than a second");
        assert_eq!(human_duration(s(1)), "1 second");
        assert_eq!(human_duration(s(59)), "59 seconds");
        assert_eq!(human_duration(s(60)), "About a minute");
        assert_eq!(human_duration(s(47 * 60)), "47 minutes");
        assert_eq!(human_duration(s(3600)), "About an hour");
        assert_eq!(human_duration(s(5 * 3600)), "5 hours");
        assert_eq!(human_duration(s(3 * 86400)), "3 days");
        assert_eq!(human_duration(s(20 * 86400)), "2 weeks");
        assert_eq!(human_duration(s(100 * 86400)), "3 months");
        assert_eq!(human_duration(s(800 * 86400)), "2 years");
    }

    #[test]
    fn tabwrite_like_go() {
        assert_eq!(
            tabwrite("CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox:latest\tx"),
            "CONTAINER ID   IMAGE            NAMES\nabc            busybox:latest   x"
        );
        assert_eq!(
            tabwrite("a\tb\nno tabs\nc\td"),
            "a         b\nno tabs\nc         d"
        );
        assert_eq!(tabwrite("x\t\t\n"), "x                   \n");
        assert_eq!(human_size3(1_234_567.0), "1.23MB");
        assert_eq!(human_size3(0.0), "0B");
        assert_eq!(bytes_size(1024.0 * 1024.0 * 1.5), "1.5MiB");
        assert_eq!(go_g(1234.5, 4), "1234");
        assert_eq!(ellipsis("abcdef", 4), "abc…");
        assert_eq!(go_quote("sh -c \"x\""), "\"sh -c \\\"x\\\"\"");
        assert_eq!(go_time(0), "1970-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn natural_order_times_and_hosts_like_go() {
        let mut v = vec!["81/udp", "6000/tcp", "53/udp", "80/tcp", "a10", "a9", "a09"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            ["53/udp", "80/tcp", "81/udp", "6000/tcp", "a9", "a09", "a10"]
        );
        assert_eq!(
            go_time_text("2026-11-27T03:07:22.697079800Z"),
            "2026-11-27 03:07:22.6970798 +0000 UTC"
        );
        assert_eq!(
            go_time_text("2026-11-27T03:07:22+01:00"),
            "2026-11-27 03:07:22 +0100 +0100"
        );
        assert_eq!(join_host_port("::", "80"), "[::]:80");
        assert_eq!(join_host_port("0.0.0.0", "80"), "0.0.0.0:80");
    }
}
