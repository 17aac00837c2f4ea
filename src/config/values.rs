//! Value grammars shared by every keyword: keepalived's BOOL, TIMER, ranged integers, IP
//! addresses and prefixes. Each returns a message suitable for a diagnostic on failure, in
//! keepalived's spirit ("invalid value"), never panics.

use std::net::IpAddr;

/// `on|off|true|false|yes|no`, lower case only, as keepalived's parser accepts.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!(
            "invalid boolean '{s}' (expected on/off/true/false/yes/no)"
        )),
    }
}

/// keepalived's `<TIMER>`: decimal seconds with up to 6 decimal places, returned in
/// microseconds. More places are an error, then rounded (as keepalived's `read_timer`).
/// Returns `(micros, too_many_places)`.
pub fn parse_timer_us(s: &str) -> Result<(u64, bool), String> {
    let bad = || format!("invalid timer value '{s}'");
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let secs: u64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| bad())?
    };
    let mut micros: u64 = 0;
    let mut scale = 100_000u64;
    let mut too_many = false;
    for (i, b) in frac_part.bytes().enumerate() {
        let d = u64::from(b - b'0');
        if i < 6 {
            micros += d * scale;
            scale /= 10;
        } else {
            too_many = true;
            if i == 6 && d >= 5 {
                micros += 1;
            }
            break;
        }
    }
    secs.checked_mul(1_000_000)
        .and_then(|v| v.checked_add(micros))
        .map(|v| (v, too_many))
        .ok_or_else(bad)
}

/// A decimal integer (optionally signed) within `[min, max]`.
pub fn parse_int_range(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let v: i64 = s.parse().map_err(|_| format!("invalid number '{s}'"))?;
    if v < min || v > max {
        return Err(format!("value {v} out of range [{min}, {max}]"));
    }
    Ok(v)
}

/// Unsigned variant of [`parse_int_range`].
pub fn parse_uint_range(s: &str, min: u64, max: u64) -> Result<u64, String> {
    if s.starts_with('-') {
        return Err(format!("invalid number '{s}'"));
    }
    let v: u64 = s.parse().map_err(|_| format!("invalid number '{s}'"))?;
    if v < min || v > max {
        return Err(format!("value {v} out of range [{min}, {max}]"));
    }
    Ok(v)
}

/// An IPv4 or IPv6 address. IPv6 may carry a `%scope` suffix, which is returned separately.
pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    let addr = s.split_once('%').map(|(a, _)| a).unwrap_or(s);
    addr.parse::<IpAddr>()
        .map_err(|_| format!("invalid IP address '{s}'"))
}

/// `IP[/LEN]`. Returns the address and the prefix length if one was given.
pub fn parse_ip_prefix(s: &str) -> Result<(IpAddr, Option<u8>), String> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip = parse_ip(a)?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => None,
        Some(l) => Some(
            parse_uint_range(l, 0, max).map_err(|_| format!("invalid prefix length in '{s}'"))?
                as u8,
        ),
    };
    Ok((ip, len))
}

/// A port 0..=65535 (keepalived accepts 0 as "none" in several places).
pub fn parse_port(s: &str) -> Result<u16, String> {
    parse_uint_range(s, 0, 65535)
        .map(|v| v as u16)
        .map_err(|_| format!("invalid port '{s}'"))
}

/// Levenshtein distance, for did-you-mean suggestions on misspelled keywords.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate within a distance that scales with the word's length.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers() {
        assert_eq!(parse_timer_us("1").unwrap(), (1_000_000, false));
        assert_eq!(parse_timer_us("0.01").unwrap(), (10_000, false));
        assert_eq!(parse_timer_us(".5").unwrap(), (500_000, false));
        assert_eq!(parse_timer_us("1.000001").unwrap(), (1_000_001, false));
        assert_eq!(parse_timer_us("1.0000005").unwrap(), (1_000_001, true));
        assert!(parse_timer_us("").is_err());
        assert!(parse_timer_us("1s").is_err());
        assert!(parse_timer_us("-1").is_err());
        assert!(parse_timer_us("99999999999999999999").is_err());
    }

    #[test]
    fn ints_and_ips() {
        assert_eq!(parse_int_range("-253", -253, 253).unwrap(), -253);
        assert!(parse_int_range("254", -253, 253).is_err());
        assert!(parse_uint_range("-1", 0, 10).is_err());
        assert_eq!(parse_ip_prefix("192.0.2.1/24").unwrap().1, Some(24));
        assert!(parse_ip_prefix("192.0.2.1/33").is_err());
        assert!(parse_ip("fe80::1%eth0").unwrap().is_ipv6());
        assert!(parse_ip("192.168.100.").is_err());
    }

    #[test]
    fn suggestions() {
        let kws = ["virtual_router_id", "priority", "advert_int", "interface"];
        assert_eq!(
            did_you_mean("priorty", kws.iter().copied()),
            Some("priority")
        );
        assert_eq!(
            did_you_mean("virtual_routr_id", kws.iter().copied()),
            Some("virtual_router_id")
        );
        assert_eq!(did_you_mean("zzz", kws.iter().copied()), None);
    }
}
