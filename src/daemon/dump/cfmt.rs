//! The bits of C formatting keepalived's dumps rely on: `%g`, `%f`, `ctime(3)`-style wall
//! stamps in local time (a small TZif reader, since the crate has no unsafe `localtime_r`),
//! keepalived's JSON string escaping and `cmd_str()` script rendering.

use std::fmt::Write as _;

/// C's `%g` (precision 6): the shorter of `%e` and `%f`, trailing zeros removed.
pub fn c_g(x: f64) -> String {
    c_g_prec(x, 6)
}

fn c_g_prec(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = prec.max(1);
    // The exponent after rounding to p significant digits decides the style.
    let e_repr = format!("{:.*e}", p - 1, x);
    let exp: i32 = e_repr
        .rsplit('e')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let (mant, _) = e_repr.split_once('e').unwrap_or((&e_repr, ""));
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, x)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// keepalived's JSON string (`jsonw_puts`): note its `\\` → `\n` quirk, kept for fidelity.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '\u{8}' => out.push_str("\\b"),
            '\\' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            '/' => out.push_str("\\/"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// keepalived's `cmd_str()`: each word in single quotes, separated by spaces (a first word
/// that is a bare redirection is not quoted).
pub fn cmd_str(argv: &[String]) -> String {
    let mut out = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if i > 0 || !(a.starts_with('<') || a.starts_with('>')) {
            let _ = write!(out, "'{a}'");
        } else {
            out.push_str(a);
        }
    }
    out
}

// ------------------------------------------------------------------ time

/// A broken-down local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tm {
    pub year: i64,
    /// 0..=11
    pub mon: u32,
    pub mday: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// 0 = Sunday
    pub wday: u32,
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m - 1, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// UTC seconds to a broken-down time (no zone).
pub fn gmtime(secs: i64) -> Tm {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, mon, mday) = civil_from_days(days);
    Tm {
        year,
        mon,
        mday,
        hour: (rem / 3600) as u32,
        min: (rem % 3600 / 60) as u32,
        sec: (rem % 60) as u32,
        wday: (days + 4).rem_euclid(7) as u32,
    }
}

/// `asctime()` without the newline: `Mon Nov 23 20:35:43 2026`.
pub fn asctime(tm: &Tm) -> String {
    format!(
        "{} {}{:3} {:02}:{:02}:{:02} {}",
        DAYS[tm.wday as usize % 7],
        MONTHS[tm.mon as usize % 12],
        tm.mday,
        tm.hour,
        tm.min,
        tm.sec,
        tm.year
    )
}

/// keepalived's `ctime_us_r()`: `Mon Nov 23 20:35:43.955051 2026`.
pub fn ctime_us(tz: &Tz, secs: i64, usecs: i64) -> String {
    let tm = tz.localtime(secs);
    let a = asctime(&tm);
    format!("{}.{:06} {}", &a[..19], usecs, tm.year)
}

/// `%.19s.%6.6ld` of `ctime()`: `Thu Jan  1 00:00:00.000000`.
pub fn ctime19_us(tz: &Tz, secs: i64, usecs: i64) -> String {
    let a = asctime(&tz.localtime(secs));
    format!("{}.{:06}", &a[..19], usecs)
}

/// `%.24s.%6.6ld` of `ctime()`: `Mon Nov 23 23:15:36 2026.894324`.
pub fn ctime24_us(tz: &Tz, secs: i64, usecs: i64) -> String {
    let a = asctime(&tz.localtime(secs));
    format!("{a}.{usecs:06}")
}

/// A local time zone: TZif transitions plus the POSIX rule for later times.
#[derive(Clone, Debug, Default)]
pub struct Tz {
    /// (transition time, UTC offset in seconds from then on), ascending.
    transitions: Vec<(i64, i32)>,
    /// Offset before the first transition (or always, with no transitions).
    initial: i32,
    rule: Option<PosixTz>,
}

impl Tz {
    /// UTC.
    pub fn utc() -> Tz {
        Tz::default()
    }

    /// The zone `localtime(3)` would use: `$TZ` (a file or a POSIX rule), else
    /// /etc/localtime; UTC when neither can be read.
    pub fn local() -> Tz {
        match std::env::var("TZ") {
            Ok(tz) if !tz.is_empty() => {
                let name = tz.strip_prefix(':').unwrap_or(&tz);
                let path = if name.starts_with('/') {
                    name.to_string()
                } else {
                    format!("/usr/share/zoneinfo/{name}")
                };
                if let Some(z) = std::fs::read(&path).ok().and_then(|b| Tz::from_tzif(&b)) {
                    return z;
                }
                PosixTz::parse(name)
                    .map(|r| Tz {
                        initial: -r.std_off,
                        rule: Some(r),
                        ..Tz::default()
                    })
                    .unwrap_or_default()
            }
            _ => std::fs::read("/etc/localtime")
                .ok()
                .and_then(|b| Tz::from_tzif(&b))
                .unwrap_or_default(),
        }
    }

    /// Parses a TZif file (version 1 data, or the 64-bit block of version 2+ and its
    /// footer rule).
    pub fn from_tzif(b: &[u8]) -> Option<Tz> {
        if b.len() < 44 || &b[..4] != b"TZif" {
            return None;
        }
        let version = b[4];
        let hdr = header(b)?;
        if version >= b'2' {
            let start = 44 + hdr.len(4);
            let h2 = header(b.get(start..)?)?;
            let z = parse_block(b.get(start + 44..)?, &h2, 8)?;
            let footer = b.get(start + 44 + h2.len(8)..).unwrap_or(&[]);
            let rule = std::str::from_utf8(footer)
                .ok()
                .and_then(|s| s.trim_matches('\n').split('\n').next())
                .and_then(PosixTz::parse);
            return Some(Tz { rule, ..z });
        }
        parse_block(&b[44..], &hdr, 4)
    }

    /// UTC offset in seconds at `secs`.
    pub fn offset(&self, secs: i64) -> i32 {
        match self.transitions.binary_search_by(|(t, _)| t.cmp(&secs)) {
            Ok(i) => self.transitions[i].1,
            Err(0) => match (&self.rule, self.transitions.is_empty()) {
                (Some(r), true) => r.offset(secs),
                _ => self.initial,
            },
            Err(i) if i == self.transitions.len() => match &self.rule {
                Some(r) => r.offset(secs),
                None => self.transitions[i - 1].1,
            },
            Err(i) => self.transitions[i - 1].1,
        }
    }

    pub fn localtime(&self, secs: i64) -> Tm {
        gmtime(secs + i64::from(self.offset(secs)))
    }
}

/// TZif header counts.
struct Hdr {
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    types: usize,
    chars: usize,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn header(b: &[u8]) -> Option<Hdr> {
    let n = |i: usize| be32(b, 20 + 4 * i).map(|v| v as usize);
    Some(Hdr {
        isut: n(0)?,
        isstd: n(1)?,
        leap: n(2)?,
        time: n(3)?,
        types: n(4)?,
        chars: n(5)?,
    })
}

impl Hdr {
    /// Length of the data block with `tsize`-byte times.
    fn len(&self, tsize: usize) -> usize {
        self.time * (tsize + 1)
            + self.types * 6
            + self.chars
            + self.leap * (tsize + 4)
            + self.isstd
            + self.isut
    }
}

fn parse_block(b: &[u8], h: &Hdr, tsize: usize) -> Option<Tz> {
    let times_at = 0;
    let idx_at = h.time * tsize;
    let types_at = idx_at + h.time;
    let mut types = Vec::with_capacity(h.types);
    for i in 0..h.types {
        let at = types_at + 6 * i;
        let off = i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?);
        let isdst = *b.get(at + 4)? != 0;
        types.push((off, isdst));
    }
    let mut transitions = Vec::with_capacity(h.time);
    for i in 0..h.time {
        let at = times_at + tsize * i;
        let t = if tsize == 8 {
            i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?)
        } else {
            i64::from(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
        };
        let ti = *b.get(idx_at + i)? as usize;
        transitions.push((t, types.get(ti)?.0));
    }
    // Before the first transition: the first standard-time type (RFC 8536 §3.2).
    let initial = types
        .iter()
        .find(|(_, dst)| !dst)
        .or(types.first())
        .map(|t| t.0)
        .unwrap_or(0);
    Some(Tz {
        transitions,
        initial,
        rule: None,
    })
}

/// A POSIX TZ rule (`CET-1CEST,M3.5.0,M10.5.0/3`); only the `Mm.w.d` date form is
/// understood for DST (the form every TZif footer uses in practice).
#[derive(Clone, Debug)]
struct PosixTz {
    /// Seconds west of UTC, as POSIX writes it.
    std_off: i32,
    dst: Option<(i32, RuleDate, RuleDate)>,
}

#[derive(Clone, Copy, Debug)]
struct RuleDate {
    month: u32,
    week: u32,
    wday: u32,
    /// Seconds after local midnight.
    time: i32,
}

impl PosixTz {
    fn parse(s: &str) -> Option<PosixTz> {
        let mut p = s.as_bytes();
        skip_name(&mut p)?;
        let std_off = parse_offset(&mut p)?;
        if p.is_empty() {
            return Some(PosixTz { std_off, dst: None });
        }
        skip_name(&mut p)?;
        let dst_off = if p.first() == Some(&b',') {
            std_off - 3600
        } else {
            parse_offset(&mut p)?
        };
        if p.first() != Some(&b',') {
            return Some(PosixTz { std_off, dst: None });
        }
        p = &p[1..];
        let start = parse_rule_date(&mut p)?;
        if p.first() != Some(&b',') {
            return None;
        }
        p = &p[1..];
        let end = parse_rule_date(&mut p)?;
        Some(PosixTz {
            std_off,
            dst: Some((dst_off, start, end)),
        })
    }

    fn offset(&self, secs: i64) -> i32 {
        let Some((dst_off, start, end)) = self.dst else {
            return -self.std_off;
        };
        let year = gmtime(secs - i64::from(self.std_off)).year;
        // Transition instants in UTC: start is in standard time, end in daylight time.
        let s = rule_instant(year, &start) + i64::from(self.std_off);
        let e = rule_instant(year, &end) + i64::from(dst_off);
        let in_dst = if s < e {
            secs >= s && secs < e
        } else {
            !(secs >= e && secs < s)
        };
        if in_dst {
            -dst_off
        } else {
            -self.std_off
        }
    }
}

fn rule_instant(year: i64, r: &RuleDate) -> i64 {
    let first = days_from_civil(year, r.month, 1);
    let first_wday = (first + 4).rem_euclid(7) as u32;
    let mut day = 1 + (7 + r.wday - first_wday) % 7 + 7 * (r.week.saturating_sub(1));
    let mdays = days_from_civil(
        if r.month == 12 { year + 1 } else { year },
        if r.month == 12 { 1 } else { r.month + 1 },
        1,
    ) - first;
    while i64::from(day) > mdays {
        day -= 7;
    }
    (first + i64::from(day) - 1) * 86_400 + i64::from(r.time)
}

fn skip_name(p: &mut &[u8]) -> Option<()> {
    if p.first() == Some(&b'<') {
        let end = p.iter().position(|&c| c == b'>')?;
        *p = &p[end + 1..];
        return Some(());
    }
    let n = p.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if n < 3 {
        return None;
    }
    *p = &p[n..];
    Some(())
}

fn parse_num(p: &mut &[u8]) -> Option<i32> {
    let n = p.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let v = std::str::from_utf8(&p[..n]).ok()?.parse().ok()?;
    *p = &p[n..];
    Some(v)
}

/// `[+-]hh[:mm[:ss]]` in seconds.
fn parse_offset(p: &mut &[u8]) -> Option<i32> {
    let sign = match p.first() {
        Some(b'-') => {
            *p = &p[1..];
            -1
        }
        Some(b'+') => {
            *p = &p[1..];
            1
        }
        _ => 1,
    };
    let mut v = parse_num(p)? * 3600;
    for mul in [60, 1] {
        if p.first() == Some(&b':') {
            *p = &p[1..];
            v += parse_num(p)? * mul;
        } else {
            break;
        }
    }
    Some(sign * v)
}

fn parse_rule_date(p: &mut &[u8]) -> Option<RuleDate> {
    if p.first() != Some(&b'M') {
        return None;
    }
    *p = &p[1..];
    let month = parse_num(p)? as u32;
    (p.first() == Some(&b'.')).then_some(())?;
    *p = &p[1..];
    let week = parse_num(p)? as u32;
    (p.first() == Some(&b'.')).then_some(())?;
    *p = &p[1..];
    let wday = parse_num(p)? as u32;
    let time = if p.first() == Some(&b'/') {
        *p = &p[1..];
        parse_offset(p)?
    } else {
        7200
    };
    (1..=12).contains(&month).then_some(())?;
    Some(RuleDate {
        month,
        week,
        wday,
        time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_g() {
        assert_eq!(c_g(5.0), "5");
        assert_eq!(c_g(0.5), "0.5");
        assert_eq!(c_g(0.001), "0.001");
        assert_eq!(c_g(1.0 / 3.0), "0.333333");
        assert_eq!(c_g(1_000_000.0), "1e+06");
        assert_eq!(c_g(123456.0), "123456");
        assert_eq!(c_g(0.0001), "0.0001");
        assert_eq!(c_g(0.00001), "1e-05");
        assert_eq!(c_g(0.0), "0");
    }

    #[test]
    fn ctime_stamps() {
        let utc = Tz::utc();
        assert_eq!(
            ctime_us(&utc, 1795466143, 955051),
            "Mon Nov 23 20:35:43.955051 2026"
        );
        assert_eq!(ctime19_us(&utc, 0, 0), "Thu Jan  1 00:00:00.000000");
        assert_eq!(
            ctime24_us(&utc, 1795475736, 894324),
            "Mon Nov 23 23:15:36 2026.894324"
        );
    }

    #[test]
    fn posix_rule() {
        let r = PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let tz = Tz {
            initial: 3600,
            rule: Some(r),
            transitions: Vec::new(),
        };
        // 2026-07-01 12:00 UTC is CEST (+2), 2026-01-15 is CET (+1).
        assert_eq!(tz.offset(1_782_907_200), 7200);
        assert_eq!(tz.offset(1_768_478_400), 3600);
        // 2026-03-29 01:00 UTC: the switch instant.
        assert_eq!(tz.offset(1_774_746_000), 7200);
        assert_eq!(tz.offset(1_774_745_999), 3600);
    }

    #[test]
    fn json_escapes_like_keepalived() {
        assert_eq!(json_str("192.0.2.1/24"), "\"192.0.2.1\\/24\"");
        assert_eq!(json_str("a\\b\"c"), "\"a\\nb\\\"c\"");
    }

    #[test]
    fn cmd_strings() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            cmd_str(&v(&["/usr/bin/true", "master"])),
            "'/usr/bin/true' 'master'"
        );
        assert_eq!(cmd_str(&v(&["</tmp/x"])), "</tmp/x");
    }
}
