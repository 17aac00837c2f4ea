//! Durations in scenario text (`5s`, `400ms`, `250us`, `1.5s`, `2m`) and probabilities
//! (`0.2`, `20%`), in integer microseconds and parts per million, and their rendering.

/// Parses a duration into microseconds. A bare number is seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("us") {
        (n, 1u64)
    } else if let Some(n) = s.strip_suffix("µs") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000_000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000_000)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000_000)
    } else {
        (s, 1_000_000)
    };
    scaled(num, mult).ok_or_else(|| format!("bad duration {s:?} (examples: 5s, 400ms, 250us)"))
}

/// `int[.frac] × mult`, exactly, without floating point.
fn scaled(num: &str, mult: u64) -> Option<u64> {
    if num.is_empty() {
        return None;
    }
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let i: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut v = i.checked_mul(mult)?;
    let mut scale = mult;
    for d in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            if d != b'0' {
                return None;
            }
            continue;
        }
        v = v.checked_add(u64::from(d - b'0') * scale)?;
    }
    Some(v)
}

/// Parses a probability: `0.25`, `25%` or `1`. Returns parts per million.
pub fn parse_probability(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let v = if let Some(p) = s.strip_suffix('%') {
        scaled(p, 10_000)
    } else {
        scaled(s, 1_000_000)
    };
    match v {
        Some(v) if v <= 1_000_000 => Ok(v as u32),
        _ => Err(format!("bad probability {s:?} (examples: 0.2, 20%)")),
    }
}

/// Renders microseconds as seconds with six decimals (`12.000345s`).
pub fn secs(us: u64) -> String {
    format!("{}.{:06}s", us / 1_000_000, us % 1_000_000)
}

/// Renders a duration compactly (`3s`, `400ms`, `3.609375s`, `250us`).
pub fn dur(us: u64) -> String {
    if us == 0 {
        "0s".into()
    } else if us % 1_000_000 == 0 {
        format!("{}s", us / 1_000_000)
    } else if us % 1_000 == 0 && us < 1_000_000 {
        format!("{}ms", us / 1_000)
    } else if us < 1_000 {
        format!("{us}us")
    } else {
        let s = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
        format!("{}s", s.trim_end_matches('0'))
    }
}

/// Renders parts per million as a percentage (`12.5%`).
pub fn pct(ppm: u32) -> String {
    let s = format!("{}.{:04}", ppm / 10_000, ppm % 10_000);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(5_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000));
        assert_eq!(parse_duration("400ms"), Ok(400_000));
        assert_eq!(parse_duration("250us"), Ok(250));
        assert_eq!(parse_duration("2m"), Ok(120_000_000));
        assert_eq!(parse_duration("3"), Ok(3_000_000));
        assert_eq!(parse_duration(".5s"), Ok(500_000));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("1.0000001s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
        for us in [0, 7, 1000, 400_000, 3_609_375, 5_000_000] {
            assert_eq!(parse_duration(&dur(us)), Ok(us));
        }
    }

    #[test]
    fn probabilities() {
        assert_eq!(parse_probability("0.2"), Ok(200_000));
        assert_eq!(parse_probability("20%"), Ok(200_000));
        assert_eq!(parse_probability("1"), Ok(1_000_000));
        assert_eq!(parse_probability("12.5%"), Ok(125_000));
        assert!(parse_probability("2").is_err());
        assert_eq!(pct(125_000), "12.5%");
        assert_eq!(pct(1_000_000), "100%");
        assert_eq!(pct(0), "0%");
    }
}
