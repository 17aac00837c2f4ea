//! SMTP_CHECK (sans-IO): the conversation (peer input: never panics), and keepalived's
//! retry rule and lines. Reference §5 (SMTP_CHECK row).
//!
//! The daemon connects to the target (non-blocking, `connect_timeout` for the connect and
//! each read) and hands every event to [`SmtpCheck::on_event`]: the connect, the bytes
//! read, the end of the stream, or a failure. It answers what to do: read on, send a
//! command and read on, or close and run the next attempt after a delay.
//!
//! What keepalived 2.2.7 does (seen in the QEMU guest, /work/scratch/ka-check2):
//! * Read a line, which must start `220`; send `HELO <helo_name>\r\n`; read a line, which
//!   must start `250`; send `QUIT\r\n`; read one line (anything). A bad greeting or HELO
//!   reply ends the attempt at once (no QUIT). The peer closing, a read error or a
//!   `connect_timeout` without a line fails it too.
//! * Unlike the other checkers, SMTP_CHECK retries in every cycle, up or down and at start:
//!   up to `retry` retries `delay_before_retry` apart, then `delay_loop` to the next cycle.
//! * Lines: "Remote SMTP server T succeed on service." when it comes up (or first runs);
//!   "SMTP_CHECK <why>" for the final failure of a cycle while up (or at start), and for
//!   each failed attempt with `log_all_failures` while up. <why> names the server as
//!   `[ADDR]:PORT`: "Could not connect to server S", "Connection timeout to server S",
//!   "Read failure from server S", "Read timeout from server S", "Bad greeting banner from
//!   server S", "Bad HELO response from server S", ...

use super::probe::Step;
use crate::config::model::lvs::Checker;

/// The longest line kept (keepalived's reply buffer); a longer one fails the attempt.
pub const MAX_LINE: usize = 512;

/// Why an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The connect was refused.
    Refused,
    /// No route to the server (`ENETUNREACH`, `EHOSTUNREACH`).
    Unreachable,
    /// Any other connect error.
    ConnectError,
    ConnectTimeout,
    ReadTimeout,
    /// A read error, or the server closed the connection before the conversation ended.
    ReadFailure,
    WriteFailure,
    BadGreeting,
    BadHelo,
    /// A line longer than [`MAX_LINE`].
    Overflow,
}

/// What happened to the attempt in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpEvent<'a> {
    Connected,
    Data(&'a [u8]),
    Eof,
    Failed(Failure),
}

/// What the daemon does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmtpNext {
    /// Read on (up to `connect_timeout` for more).
    Read,
    /// Send this, then read on.
    Send(Vec<u8>),
    /// Close the connection; the next attempt runs in this many µs.
    Next(u64),
}

/// Where the conversation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Greeting,
    Helo,
    Quit,
}

/// SMTP_CHECK's state: failures in the current cycle and the conversation in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpCheck {
    failures: u32,
    phase: Phase,
    line: Vec<u8>,
}

/// `[ADDR]:PORT`, as keepalived names the server in its SMTP_CHECK failure lines.
pub fn server_name(cfg: &Checker) -> String {
    match &cfg.conn {
        Some(c) => format!("[{}]:{}", c.dst_addr, c.dst_port),
        None => String::from("[?]:0"),
    }
}

impl SmtpCheck {
    pub fn new() -> SmtpCheck {
        SmtpCheck {
            failures: 0,
            phase: Phase::Greeting,
            line: Vec::new(),
        }
    }

    /// An event of the attempt in flight. `target` is keepalived's `FMT_CHK`, `rs` its
    /// `FMT_RS`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_event(
        &mut self,
        cfg: &Checker,
        helo_name: &str,
        ev: SmtpEvent<'_>,
        is_up: bool,
        has_run: bool,
        log_all: bool,
        target: &str,
        rs: &str,
    ) -> (SmtpNext, Option<Step>) {
        let outcome = match ev {
            SmtpEvent::Connected => {
                self.phase = Phase::Greeting;
                self.line.clear();
                return (SmtpNext::Read, None);
            }
            SmtpEvent::Data(d) => match self.feed(d, helo_name) {
                Ok(Some(send)) => return (SmtpNext::Send(send), None),
                Ok(None) if self.phase == Phase::Quit && self.line.is_empty() => Ok(()),
                Ok(None) => return (SmtpNext::Read, None),
                Err(f) => Err(f),
            },
            SmtpEvent::Eof => Err(Failure::ReadFailure),
            SmtpEvent::Failed(f) => Err(f),
        };
        let step = self.end(cfg, outcome, is_up, has_run, log_all, target, rs);
        (SmtpNext::Next(step.next_in_us), Some(step))
    }

    /// Takes in bytes read: `Ok(Some(cmd))` to send, `Ok(None)` for more to read (or, in
    /// the QUIT phase with the line consumed, the end), `Err` for a failure.
    fn feed(&mut self, data: &[u8], helo_name: &str) -> Result<Option<Vec<u8>>, Failure> {
        for &b in data {
            if b != b'\n' {
                if self.line.len() >= MAX_LINE {
                    return Err(Failure::Overflow);
                }
                self.line.push(b);
                continue;
            }
            // A whole line: what it must start with depends on the phase. Whatever follows
            // it in this read is dropped: the answer to the next command comes after it.
            let line = std::mem::take(&mut self.line);
            return match self.phase {
                Phase::Greeting if line.starts_with(b"220") => {
                    self.phase = Phase::Helo;
                    Ok(Some(format!("HELO {helo_name}\r\n").into_bytes()))
                }
                Phase::Greeting => Err(Failure::BadGreeting),
                Phase::Helo if line.starts_with(b"250") => {
                    self.phase = Phase::Quit;
                    Ok(Some(b"QUIT\r\n".to_vec()))
                }
                Phase::Helo => Err(Failure::BadHelo),
                Phase::Quit => Ok(None),
            };
        }
        Ok(None)
    }

    /// The attempt ended: keepalived's rule for SMTP_CHECK (retries in every cycle).
    #[allow(clippy::too_many_arguments)]
    fn end(
        &mut self,
        cfg: &Checker,
        outcome: Result<(), Failure>,
        is_up: bool,
        has_run: bool,
        log_all: bool,
        target: &str,
        rs: &str,
    ) -> Step {
        self.phase = Phase::Greeting;
        self.line.clear();
        let mut log = Vec::new();
        let failure = match outcome {
            Ok(()) => {
                self.failures = 0;
                if !is_up || !has_run {
                    log.push(format!("Remote SMTP server {target} succeed on service."));
                }
                return Step {
                    result: Some(true),
                    next_in_us: cfg.delay_loop_us,
                    log,
                };
            }
            Err(f) => f,
        };
        self.failures += 1;
        let last = self.failures > cfg.retry;
        let s = server_name(cfg);
        let why = match failure {
            Failure::Refused => format!("Could not connect to server {s}"),
            Failure::Unreachable => {
                format!("Network unreachable for server {s} - real server {rs}")
            }
            Failure::ConnectError => format!("Error connecting to server {s}"),
            Failure::ConnectTimeout => format!("Connection timeout to server {s}"),
            Failure::ReadTimeout => format!("Read timeout from server {s}"),
            Failure::ReadFailure => format!("Read failure from server {s}"),
            Failure::WriteFailure => format!("Write failure to server {s}"),
            Failure::BadGreeting => format!("Bad greeting banner from server {s}"),
            Failure::BadHelo => format!("Bad HELO response from server {s}"),
            Failure::Overflow => format!(
                "Buffer overflow reading from server {s}. Increase SMTP_BUFF_MAX in check_smtp.h"
            ),
        };
        // The final line while up (or at start); a retried failure only with log_all.
        let report = if last {
            is_up || !has_run
        } else {
            log_all && is_up
        };
        if report {
            log.push(format!("SMTP_CHECK {why}"));
        }
        if last {
            self.failures = 0;
        }
        Step {
            result: last.then_some(false),
            next_in_us: if last {
                cfg.delay_loop_us
            } else {
                cfg.delay_before_retry_us
            },
            log,
        }
    }
}

impl Default for SmtpCheck {
    fn default() -> Self {
        SmtpCheck::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::engine::tests::lvs_cfg;

    fn checker(body: &str) -> Checker {
        let cfg = lvs_cfg(&format!(
            "virtual_server 192.0.2.50 80 {{\n lb_kind NAT\n protocol TCP\n delay_loop 2\n \
             real_server 198.18.1.2 26 {{\n  SMTP_CHECK {{\n{body}  }}\n }}\n}}\n"
        ));
        cfg.virtual_servers[0].real_servers[0].checkers[0].clone()
    }

    const T: &str = "[198.18.1.2]:tcp:26";
    const RS: &str = "[198.18.1.2]:tcp:26";

    fn ev(
        k: &mut SmtpCheck,
        c: &Checker,
        e: SmtpEvent<'_>,
        up: bool,
        run: bool,
    ) -> (SmtpNext, Option<Step>) {
        k.on_event(c, "my.helo", e, up, run, false, T, RS)
    }

    #[test]
    fn a_conversation() {
        let c = checker("");
        let mut k = SmtpCheck::new();
        assert_eq!(
            ev(&mut k, &c, SmtpEvent::Connected, true, false).0,
            SmtpNext::Read
        );
        assert_eq!(
            ev(&mut k, &c, SmtpEvent::Data(b"220 mx"), true, false).0,
            SmtpNext::Read
        );
        assert_eq!(
            ev(&mut k, &c, SmtpEvent::Data(b" ESMTP\r\n"), true, false).0,
            SmtpNext::Send(b"HELO my.helo\r\n".to_vec())
        );
        assert_eq!(
            ev(&mut k, &c, SmtpEvent::Data(b"250 hi\r\n"), true, false).0,
            SmtpNext::Send(b"QUIT\r\n".to_vec())
        );
        let (n, s) = ev(&mut k, &c, SmtpEvent::Data(b"221 bye\r\n"), true, false);
        let s = s.unwrap();
        assert_eq!((n, s.result), (SmtpNext::Next(2_000_000), Some(true)));
        assert_eq!(
            s.log,
            vec![format!("Remote SMTP server {T} succeed on service.")]
        );
        // Up and running: silent.
        ev(&mut k, &c, SmtpEvent::Connected, true, true);
        ev(&mut k, &c, SmtpEvent::Data(b"220 x\r\n"), true, true);
        ev(&mut k, &c, SmtpEvent::Data(b"250 x\r\n"), true, true);
        let (_, s) = ev(&mut k, &c, SmtpEvent::Data(b"221\n"), true, true);
        assert!(s.unwrap().log.is_empty());
    }

    /// keepalived 2.2.7's lines and timing, as captured in the QEMU guest (ka-check2).
    #[test]
    fn retries_every_cycle() {
        let s = "[198.18.1.2]:26";
        // Default retry (1), no log_all: the first failure of a cycle is silent.
        let c = checker("   delay_before_retry 1\n");
        let mut k = SmtpCheck::new();
        ev(&mut k, &c, SmtpEvent::Connected, true, true);
        ev(&mut k, &c, SmtpEvent::Data(b"220 x\r\n"), true, true);
        let (n, st) = ev(&mut k, &c, SmtpEvent::Data(b"550 no\r\n"), true, true);
        let st = st.unwrap();
        assert_eq!(
            (n, st.result, st.log.len()),
            (SmtpNext::Next(1_000_000), None, 0)
        );
        ev(&mut k, &c, SmtpEvent::Connected, true, true);
        ev(&mut k, &c, SmtpEvent::Data(b"220 x\r\n"), true, true);
        let (n, st) = ev(&mut k, &c, SmtpEvent::Data(b"550 no\r\n"), true, true);
        let st = st.unwrap();
        assert_eq!(
            (n, st.result, st.log),
            (
                SmtpNext::Next(2_000_000),
                Some(false),
                vec![format!("SMTP_CHECK Bad HELO response from server {s}")]
            )
        );
        // Down: it still retries each cycle, silently.
        ev(&mut k, &c, SmtpEvent::Connected, false, true);
        let (n, st) = ev(&mut k, &c, SmtpEvent::Data(b"554 go\r\n"), false, true);
        assert_eq!((n, st.unwrap().log.len()), (SmtpNext::Next(1_000_000), 0));
        let (n, st) = ev(&mut k, &c, SmtpEvent::Eof, false, true);
        assert_eq!(
            (n, st.unwrap().result),
            (SmtpNext::Next(2_000_000), Some(false))
        );
        // At start too: retried, then the final line.
        let mut k = SmtpCheck::new();
        let refused = SmtpEvent::Failed(Failure::Refused);
        assert!(ev(&mut k, &c, refused, true, false)
            .1
            .unwrap()
            .log
            .is_empty());
        assert_eq!(
            ev(&mut k, &c, refused, true, false).1.unwrap().log,
            vec![format!("SMTP_CHECK Could not connect to server {s}")]
        );
        // With log_all_failures, each failure while up.
        let c = checker("   retry 1\n   log_all_failures\n");
        let mut k = SmtpCheck::new();
        ev(&mut k, &c, SmtpEvent::Connected, true, true);
        let st = k
            .on_event(
                &c,
                "h",
                SmtpEvent::Data(b"554 go\r\n"),
                true,
                true,
                true,
                T,
                RS,
            )
            .1
            .unwrap();
        assert_eq!(
            st.log,
            vec![format!("SMTP_CHECK Bad greeting banner from server {s}")]
        );
    }

    #[test]
    fn long_lines_fail() {
        let c = checker("");
        let mut k = SmtpCheck::new();
        ev(&mut k, &c, SmtpEvent::Connected, true, true);
        let long = vec![b'2'; MAX_LINE + 1];
        let (_, st) = ev(&mut k, &c, SmtpEvent::Data(&long), true, true);
        assert!(st.is_some());
    }
}
