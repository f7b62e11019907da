//! Go's formats where Docker's output depends on them: `time.Duration`
//! parsing and printing (`1m30s`), and `strconv.Quote`/`QuoteRune` as used
//! by `fmt`'s `%q` in the classic builder's history text.

use std::time::Duration;

/// Parses a Go duration string (`300ms`, `1.5h`, `1m30s`, `2h45m`; units
/// `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`). Negative durations are refused.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("time: invalid duration {}", go_quote(s));
    let mut rest = s;
    if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    } else if rest.starts_with('-') {
        if rest == "-0" {
            return Ok(Duration::ZERO);
        }
        return Err(bad());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(bad());
        }
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let nanos_per: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {}", go_quote(s))),
            u => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(u),
                    go_quote(s)
                ))
            }
        };
        let v: f64 = num.parse().map_err(|_| bad())?;
        total += v * nanos_per;
    }
    if total > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

/// Formats like Go's `time.Duration.String()`: `0s`, `1.5s`, `1m30s`,
/// `1h0m0s`, `500ms`, `2µs`.
pub fn format_go_duration(d: Duration) -> String {
    let n = d.as_nanos();
    if n == 0 {
        return "0s".into();
    }
    if n < 1_000_000_000 {
        let (unit, div) = if n < 1_000 {
            ("ns", 1)
        } else if n < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", frac(n, div));
    }
    let secs = n / 1_000_000_000;
    let sub = n % 1_000_000_000;
    let h = secs / 3600;
    let m = (secs % 3600) / 60;
    let s = secs % 60;
    let sec_str = frac(s * 1_000_000_000 + sub, 1_000_000_000);
    if h > 0 {
        format!("{h}h{m}m{sec_str}s")
    } else if m > 0 {
        format!("{m}m{sec_str}s")
    } else {
        format!("{sec_str}s")
    }
}

fn frac(n: u128, div: u128) -> String {
    let whole = n / div;
    let rem = n % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `strconv.Quote`: double-quoted with Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune` (what `%q` prints for an integer).
pub fn go_quote_rune(c: u32) -> String {
    let ch = char::from_u32(c).unwrap_or('\u{FFFD}');
    let mut out = String::from("'");
    push_escaped(&mut out, ch, '\'');
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    match c {
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if c.is_control() => {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_like_go() {
        let cases = [
            ("30s", "30s"),
            ("1m30s", "1m30s"),
            ("500ms", "500ms"),
            ("1.5h", "1h30m0s"),
            ("5m", "5m0s"),
            ("2h45m", "2h45m0s"),
            ("1500ms", "1.5s"),
            ("3us", "3µs"),
            ("0", "0s"),
        ];
        for (i, o) in cases {
            assert_eq!(format_go_duration(parse_go_duration(i).unwrap()), o, "{i}");
        }
    }

    #[test]
    fn bad_durations() {
        for s in ["", "10", "1x", "-1s", "s", "1..2s"] {
            assert!(parse_go_duration(s).is_err(), "{s}");
        }
        assert_eq!(
            parse_go_duration("10").unwrap_err(),
            "time: missing unit in duration \"10\""
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
        assert_eq!(go_quote_rune(0), "'\\x00'");
        assert_eq!(go_quote_rune(3), "'\\x03'");
        assert_eq!(go_quote_rune(65), "'A'");
    }
}
