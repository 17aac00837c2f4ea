//! Logging as keepalived does it: syslog (facility from `-S`, ident `Keepalived`) unless
//! `-G`, the console with `-l` (stderr, `Mon Nov 23 22:11:44 2026: message`), and optionally
//! a log file (`-g`). `-D` turns on detail (debug level for our targets), `-DD` trace.
//!
//! The logger is installed once per process through the `log` facade. Console output is
//! written with one `write` per line so lines from notify children do not interleave
//! mid-line.

use crate::os::syslog::{Syslog, SyslogSeverity};
use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

/// Where log lines go.
#[derive(Clone, Debug, Default)]
pub struct LogConfig {
    pub console: bool,
    pub syslog: bool,
    pub facility: u8,
    pub detail: u8,
    pub file: Option<std::path::PathBuf>,
    pub flush_file: bool,
}

struct Sinks {
    syslog: Option<Syslog>,
    file: Option<File>,
}

struct Logger {
    console: bool,
    flush_file: bool,
    level: log::LevelFilter,
    sinks: Mutex<Sinks>,
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let msg = record.args().to_string();
        let mut sinks = match self.sinks.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if let Some(s) = sinks.syslog.as_mut() {
            let sev = match record.level() {
                log::Level::Error => SyslogSeverity::Err,
                log::Level::Warn => SyslogSeverity::Warning,
                log::Level::Info => SyslogSeverity::Info,
                _ => SyslogSeverity::Debug,
            };
            s.send(sev, &msg);
        }
        if self.console || sinks.file.is_some() {
            let line = format!("{}: {}\n", console_timestamp(wall_seconds()), msg);
            if self.console {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            if let Some(f) = sinks.file.as_mut() {
                let _ = f.write_all(line.as_bytes());
                if self.flush_file {
                    let _ = f.flush();
                }
            }
        }
    }

    fn flush(&self) {}
}

/// Installs the process logger. Calling it twice keeps the first (tests may race).
pub fn init(cfg: &LogConfig) {
    let level = match cfg.detail {
        0 => log::LevelFilter::Info,
        1 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    let sinks = Sinks {
        syslog: cfg.syslog.then(|| Syslog::open("Keepalived", cfg.facility)),
        file: cfg.file.as_ref().and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        }),
    };
    let logger = Logger {
        console: cfg.console,
        flush_file: cfg.flush_file,
        level,
        sinks: Mutex::new(sinks),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
    }
}

/// Seconds since the epoch. L4 is where wall-clock stamps are added (DESIGN.md section 2).
#[allow(clippy::disallowed_methods)]
pub fn wall_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// keepalived's console stamp, `%a %b %d %H:%M:%S %Y`, in UTC (no libc time zone state).
pub fn console_timestamp(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        y
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        assert_eq!(console_timestamp(0), "Thu Jan 01 00:00:00 1970");
        // keepalived's own example line: "Mon Nov 23 22:11:44 2026".
        assert_eq!(console_timestamp(1_795_471_904), "Mon Nov 23 22:11:44 2026");
        assert_eq!(console_timestamp(951_782_400), "Tue Feb 29 00:00:00 2000");
    }
}
