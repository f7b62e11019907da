//! Conversions from the OCI (cgroup v1 shaped) values to cgroup v2 ones,
//! the same formulas runc and crun use so that a container gets the same
//! limits from every runtime.

/// `cpu.shares` (2..=262144) → `cpu.weight` (1..=10000):
/// `1 + (shares - 2) * 9999 / 262142`. 0 means unset.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let shares = shares.clamp(2, 262_144);
    1 + (shares - 2) * 9999 / 262_142
}

/// `blkio.weight` (10..=1000) → `io.weight` (1..=10000):
/// `1 + (weight - 10) * 9999 / 990`. 0 means unset.
pub fn blkio_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    let w = u64::from(weight.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

/// OCI `memory.swap` is memory+swap (v1 `memsw`); v2 `memory.swap.max` is
/// swap alone. Returns the value to write (`-1` = `max`), `None` to leave
/// the file alone, or why the pair is inconsistent.
pub fn swap_to_v2(swap: i64, limit: i64) -> Result<Option<i64>, &'static str> {
    // Unlimited memory with swap unset means both unlimited, as on v1.
    if limit == -1 && swap == 0 {
        return Ok(Some(-1));
    }
    match swap {
        0 => Ok(None),
        -1 => Ok(Some(-1)),
        s if s < 0 => Err("negative swap limit"),
        _ if limit <= 0 => Err("a swap limit needs a memory limit"),
        s if s < limit => Err("memory+swap limit is below the memory limit"),
        s => Ok(Some(s - limit)),
    }
}

/// `-1` (or any negative) → `max`, else the number.
pub fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }

    #[test]
    fn swap_conversion() {
        assert_eq!(swap_to_v2(0, 100), Ok(None));
        assert_eq!(swap_to_v2(0, -1), Ok(Some(-1)));
        assert_eq!(swap_to_v2(-1, 100), Ok(Some(-1)));
        assert_eq!(swap_to_v2(300, 100), Ok(Some(200)));
        assert!(swap_to_v2(50, 100).is_err());
        assert!(swap_to_v2(50, 0).is_err());
    }
}
