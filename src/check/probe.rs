//! Checkers that probe (sans-IO): keepalived's scheduling and retry rule, and TCP_CHECK.
//! Reference §5, "Common scheduling".
//!
//! The daemon runs the probes (sockets, timeouts) and hands each attempt's outcome here;
//! this decides whether it is final (a result for the core, [`super::Checkers`]), when the
//! next attempt runs, and what keepalived logs:
//!
//! * While the checker is up (or has not run yet), a failure is retried `retry` times,
//!   `delay_before_retry` apart; the checker goes down after `retry + 1` failures in a row.
//! * A down checker is not retried: it is re-tested every `delay_loop`, and one success
//!   brings it up.
//! * The retry counter starts exhausted, so the very first failure marks it down at once.
//! * The first attempt runs `1 s + random(0..warmup)` after the start.

use crate::config::model::lvs::{format_trio, Checker, Protocol};

/// keepalived's `FMT_CHK`: the probe's target as `[ADDR]:tcp:PORT`.
pub fn target_name(cfg: &Checker) -> String {
    match &cfg.conn {
        Some(c) => format_trio(&c.dst_addr, Some(Protocol::Tcp), c.dst_port),
        None => String::from("[?]:tcp:0"),
    }
}

/// keepalived's `FMT_CHK` for checkers that name their virtual server's protocol
/// (PING_CHECK, UDP_CHECK, DNS_CHECK, SMTP_CHECK): `[ADDR]:PROTO:PORT` of the target, TCP
/// for a fwmark service.
pub fn target_name_in(cfg: &Checker, proto: Option<Protocol>) -> String {
    let proto = Some(proto.unwrap_or(Protocol::Tcp));
    match &cfg.conn {
        Some(c) => format_trio(&c.dst_addr, proto, c.dst_port),
        None => format_trio(&std::net::IpAddr::from([0u8; 4]), proto, 0),
    }
}

/// Microseconds from the start to a probe's first attempt: 1 s plus a random part of its
/// warmup (`random` comes from the caller's seeded generator; a warmup of 0 adds nothing).
pub fn first_delay_us(cfg: &Checker, random: u64) -> u64 {
    let jitter = if cfg.warmup_us == 0 {
        0
    } else {
        random % cfg.warmup_us
    };
    1_000_000 + jitter
}

/// What one attempt of a probe did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    Succeeded,
    Failed,
    TimedOut,
}

/// What the core and the daemon do after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The checker's result for the core (`Checkers::set_result`); `None` while a retry
    /// follows.
    pub result: Option<bool>,
    /// Microseconds until the next attempt.
    pub next_in_us: u64,
    /// keepalived's lines (INFO), in order.
    pub log: Vec<String>,
}

/// The retry counter of one probing checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Retries made since the last success (starts at `retry`: exhausted).
    retry_it: u32,
}

impl Retry {
    pub fn new(cfg: &Checker) -> Retry {
        Retry {
            retry_it: cfg.retry,
        }
    }

    /// Applies the rule to one attempt: `Ok(())` on success; on failure, whether the
    /// failure is final (`true`) or a retry follows (`false`).
    pub(crate) fn failure_is_final(&mut self, cfg: &Checker, is_up: bool, has_run: bool) -> bool {
        if (is_up || !has_run) && self.retry_it < cfg.retry {
            self.retry_it += 1;
            false
        } else {
            true
        }
    }

    /// Retries made before this final failure (0 at start, where the counter begins
    /// exhausted without any retry having run).
    pub(crate) fn retries_made(&self, has_run: bool) -> u32 {
        if has_run {
            self.retry_it
        } else {
            0
        }
    }
}

impl Retry {
    /// A success: the counter starts over.
    pub(crate) fn reset(&mut self) {
        self.retry_it = 0;
    }

    /// Applies the rule to one attempt of a checker logging as TCP_CHECK does (PING_CHECK,
    /// UDP_CHECK, DNS_CHECK): what it means and which of keepalived's lines are due.
    pub(crate) fn judge(
        &mut self,
        cfg: &Checker,
        ok: bool,
        is_up: bool,
        has_run: bool,
        log_all: bool,
    ) -> Verdict {
        if ok {
            self.reset();
            return Verdict::Up {
                report: !is_up || !has_run,
            };
        }
        let retries = self.retries_made(has_run);
        let last = self.failure_is_final(cfg, is_up, has_run);
        Verdict::Failed {
            // Each failed attempt is logged only while the checker is up.
            report_attempt: log_all && is_up,
            last,
            report_final: last && (is_up || !has_run),
            retries,
        }
    }
}

/// What one attempt means under keepalived's retry rule ([`Retry::judge`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It succeeded; `report`: keepalived logs the success (the checker was down or had
    /// not run).
    Up { report: bool },
    /// It failed.
    Failed {
        /// keepalived logs the attempt's own line (`log_all_failures`, while up).
        report_attempt: bool,
        /// The failure is final: the checker goes (or stays) down.
        last: bool,
        /// keepalived logs the verdict line.
        report_final: bool,
        /// Retries made before this final failure ("after N retries" when not 0).
        retries: u32,
    },
}

impl Verdict {
    /// The core's [`Step`] for this verdict, with `log`.
    pub(crate) fn step(self, cfg: &Checker, log: Vec<String>) -> Step {
        let (result, next_in_us) = match self {
            Verdict::Up { .. } => (Some(true), cfg.delay_loop_us),
            Verdict::Failed { last: true, .. } => (Some(false), cfg.delay_loop_us),
            Verdict::Failed { last: false, .. } => (None, cfg.delay_before_retry_us),
        };
        Step {
            result,
            next_in_us,
            log,
        }
    }
}

/// What a datagram probe (PING_CHECK, UDP_CHECK, DNS_CHECK) saw while it waited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dgram<'a> {
    /// A datagram from the target (the ICMP message itself for PING_CHECK).
    Reply(&'a [u8]),
    /// The socket reported an error (an ICMP error such as port unreachable, seen as
    /// `ECONNREFUSED` and the like): its errno.
    Error(i32),
    /// Sending the probe failed: its errno (0 for a short write).
    SendFailed(i32),
    /// `connect_timeout` passed with nothing conclusive.
    TimedOut,
}

/// What the daemon does after a datagram event: wait on for the rest of the timeout (the
/// datagram was not for this probe), or close the socket and run the next attempt in
/// `Next(µs)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DgramNext {
    Wait,
    Next(u64),
}

/// TCP_CHECK: success is a completed `connect()`; the socket is closed at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpCheck {
    retry: Retry,
}

impl TcpCheck {
    pub fn new(cfg: &Checker) -> TcpCheck {
        TcpCheck {
            retry: Retry::new(cfg),
        }
    }

    /// One connect attempt ended. `is_up` and `has_run` are the checker's state in the
    /// core; `log_all` is `log_all_failures` (or the global `checker_log_all_failures`).
    pub fn on_attempt(
        &mut self,
        cfg: &Checker,
        attempt: Attempt,
        is_up: bool,
        has_run: bool,
        log_all: bool,
    ) -> Step {
        let target = target_name(cfg);
        let mut log = Vec::new();
        if attempt == Attempt::Succeeded {
            self.retry.retry_it = 0;
            if !is_up || !has_run {
                log.push(format!("TCP connection to {target} success."));
            }
            return Step {
                result: Some(true),
                next_in_us: cfg.delay_loop_us,
                log,
            };
        }
        let retries = self.retry.retries_made(has_run);
        let last = self.retry.failure_is_final(cfg, is_up, has_run);
        // Each failed attempt is logged only while the checker is up (keepalived 2.2.7: an
        // alpha checker's startup failure logs just the "failed." line).
        if log_all && is_up {
            let how = if attempt == Attempt::TimedOut {
                "timeout"
            } else {
                "failed"
            };
            log.push(format!("TCP connection to {target} {how}."));
        }
        if !last {
            return Step {
                result: None,
                next_in_us: cfg.delay_before_retry_us,
                log,
            };
        }
        if is_up || !has_run {
            log.push(if retries > 0 {
                format!("TCP_CHECK on service {target} failed after {retries} retries.")
            } else {
                format!("TCP_CHECK on service {target} failed.")
            });
        }
        Step {
            result: Some(false),
            next_in_us: cfg.delay_loop_us,
            log,
        }
    }
}

/// How a MISC_CHECK script ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MiscExit {
    Exited(i32),
    Signaled(i32),
    /// Its `misc_timeout` passed (the loop terminates it).
    TimedOut,
}

/// MISC_CHECK: an external program; exit status 0 is success (with `misc_dynamic`, 2..=255
/// too, and the status sets the real server's weight: see [`MiscCheck::dynamic_weight`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiscCheck {
    retry: Retry,
}

impl MiscCheck {
    pub fn new(cfg: &Checker) -> MiscCheck {
        MiscCheck {
            retry: Retry::new(cfg),
        }
    }

    /// The weight a run of a `misc_dynamic` script gives its real server, as keepalived
    /// 2.2.7 sets it in the QEMU guest: exit status 0 the configured weight
    /// (`configured`), 2..=255 the status minus 2 (0..=253; 2 keeps the server in the
    /// table at weight 0); anything else (a failure) leaves the weight as it is (`None`).
    pub fn dynamic_weight(
        misc: &crate::config::model::lvs::MiscCheck,
        exit: MiscExit,
        configured: u32,
    ) -> Option<u32> {
        match exit {
            _ if !misc.dynamic => None,
            MiscExit::Exited(0) => Some(configured),
            MiscExit::Exited(c @ 2..=255) => u32::try_from(c - 2).ok(),
            _ => None,
        }
    }

    /// One run of the script ended. `rs` and `vs` are keepalived's `FMT_RS` and `FMT_VS`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_exit(
        &mut self,
        cfg: &Checker,
        misc: &crate::config::model::lvs::MiscCheck,
        exit: MiscExit,
        is_up: bool,
        has_run: bool,
        log_all: bool,
        rs: &str,
        vs: &str,
    ) -> Step {
        let ok = match exit {
            MiscExit::Exited(0) => true,
            MiscExit::Exited(c) => misc.dynamic && (2..=255).contains(&c),
            _ => false,
        };
        // keepalived names the program, without its arguments.
        let program = crate::config::lexer::split_script_argv(&misc.script.command)
            .ok()
            .and_then(|v| v.into_iter().next())
            .unwrap_or_else(|| misc.script.command.clone());
        let head = format!("Misc check for [{rs} VS {vs}] by [{program}]");
        let mut log = Vec::new();
        if ok {
            self.retry.retry_it = 0;
            if !is_up || !has_run {
                log.push(format!("{head} succeeded."));
            }
            return Step {
                result: Some(true),
                next_in_us: cfg.delay_loop_us,
                log,
            };
        }
        let made = self.retry.retries_made(has_run);
        let last = self.retry.failure_is_final(cfg, is_up, has_run);
        // keepalived 2.2.7: "failed, will do N retries", "failed on retry I/N", "failed
        // after N retries", "failed with retry disabled", each followed by how the program
        // ended; "timed out" in place of "failed" (and no status) when it was killed.
        let verb = if exit == MiscExit::TimedOut {
            "timed out"
        } else {
            "failed"
        };
        // (At start the counter begins exhausted: the first failure is final and still
        // says "after N retries", as keepalived's does.)
        let retry = cfg.retry;
        let retries = if retry == 1 { "retry" } else { "retries" };
        let when = if !last {
            if made == 0 {
                format!(", will do {retry} {retries}")
            } else {
                format!(" on retry {made}/{retry}")
            }
        } else if retry == 0 {
            " with retry disabled".to_string()
        } else {
            format!(" after {retry} {retries}")
        };
        let how = match exit {
            MiscExit::Exited(c) => format!(" (exited with status {c})"),
            MiscExit::Signaled(sig) => format!(" (killed by signal {sig})"),
            MiscExit::TimedOut => String::new(),
        };
        let line = format!("{head} {verb}{when}{how}.");
        if (last && (is_up || !has_run)) || (!last && log_all) {
            log.push(line);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::engine::tests::lvs_cfg;

    fn checker(body: &str) -> Checker {
        let cfg = lvs_cfg(&format!(
            "virtual_server 192.0.2.1 80 {{\n lb_kind NAT\n protocol TCP\n delay_loop 6\n \
             real_server 192.0.2.2 80 {{\n  TCP_CHECK {{\n{body}  }}\n }}\n}}\n"
        ));
        cfg.virtual_servers[0].real_servers[0].checkers[0].clone()
    }

    /// Runs attempts through a checker whose state follows its own results, as the core's
    /// does; returns each step.
    fn run(cfg: &Checker, attempts: &[Attempt]) -> Vec<Step> {
        let mut t = TcpCheck::new(cfg);
        let (mut up, mut has_run) = (!cfg.alpha, false);
        attempts
            .iter()
            .map(|&a| {
                let s = t.on_attempt(cfg, a, up, has_run, false);
                if let Some(r) = s.result {
                    up = r;
                    has_run = true;
                }
                s
            })
            .collect()
    }

    use Attempt::{Failed as F, Succeeded as S, TimedOut as T};

    #[test]
    fn first_failure_is_final_at_start() {
        let c = checker("   retry 3\n   delay_before_retry 2\n");
        let s = run(&c, &[F]);
        assert_eq!(s[0].result, Some(false));
        assert_eq!(s[0].next_in_us, 6_000_000);
        assert_eq!(
            s[0].log,
            vec!["TCP_CHECK on service [192.0.2.2]:tcp:80 failed.".to_string()]
        );
    }

    #[test]
    fn retries_then_down_then_up() {
        let c = checker("   retry 2\n   delay_before_retry 2\n");
        let s = run(&c, &[S, F, F, F, F, S, S]);
        assert_eq!(s[0].result, Some(true));
        // The first success is reported, as every success of a checker that has not run.
        assert_eq!(
            s[0].log,
            vec!["TCP connection to [192.0.2.2]:tcp:80 success.".to_string()]
        );
        assert_eq!((s[1].result, s[1].next_in_us), (None, 2_000_000));
        assert_eq!((s[2].result, s[2].next_in_us), (None, 2_000_000));
        assert_eq!((s[3].result, s[3].next_in_us), (Some(false), 6_000_000));
        assert_eq!(
            s[3].log,
            vec!["TCP_CHECK on service [192.0.2.2]:tcp:80 failed after 2 retries.".to_string()]
        );
        // Down: no retries, no more lines.
        assert_eq!((s[4].result, s[4].next_in_us), (Some(false), 6_000_000));
        assert!(s[4].log.is_empty());
        assert_eq!(s[5].result, Some(true));
        assert_eq!(
            s[5].log,
            vec!["TCP connection to [192.0.2.2]:tcp:80 success.".to_string()]
        );
        assert!(s[6].log.is_empty());
    }

    #[test]
    fn a_success_resets_the_retries() {
        let c = checker("   retry 1\n");
        let s = run(&c, &[S, F, S, F, S]);
        assert!(s.iter().all(|s| s.result != Some(false)), "{s:?}");
    }

    #[test]
    fn alpha_logs_its_first_success_and_log_all_failures() {
        let c = checker("   alpha\n   retry 1\n   connect_port 8080\n");
        let s = run(&c, &[S]);
        assert_eq!(
            s[0].log,
            vec!["TCP connection to [192.0.2.2]:tcp:8080 success.".to_string()]
        );
        let mut t = TcpCheck::new(&c);
        t.on_attempt(&c, S, true, false, true);
        let step = t.on_attempt(&c, T, true, true, true);
        assert_eq!(step.result, None);
        assert_eq!(
            step.log,
            vec!["TCP connection to [192.0.2.2]:tcp:8080 timeout.".to_string()]
        );
    }

    #[test]
    fn an_alpha_startup_failure_logs_only_the_verdict() {
        let c = checker("   alpha\n   retry 3\n   log_all_failures\n");
        let mut t = TcpCheck::new(&c);
        let s = t.on_attempt(&c, F, false, false, true);
        assert_eq!(s.result, Some(false));
        assert_eq!(
            s.log,
            vec!["TCP_CHECK on service [192.0.2.2]:tcp:80 failed.".to_string()]
        );
        // Not alpha: the attempt's line first (keepalived 2.2.7).
        let c = checker("   retry 3\n   log_all_failures\n");
        let mut t = TcpCheck::new(&c);
        let s = t.on_attempt(&c, F, true, false, true);
        assert_eq!(
            s.log,
            vec![
                "TCP connection to [192.0.2.2]:tcp:80 failed.".to_string(),
                "TCP_CHECK on service [192.0.2.2]:tcp:80 failed.".to_string()
            ]
        );
    }

    fn misc(body: &str) -> (Checker, crate::config::model::lvs::MiscCheck) {
        let cfg = lvs_cfg(&format!(
            "virtual_server 192.0.2.1 80 {{\n lb_kind NAT\n protocol TCP\n delay_loop 6\n \
             real_server 192.0.2.2 80 {{\n  MISC_CHECK {{\n   misc_path \"/bin/check a b\"\n{body}  }}\n }}\n}}\n"
        ));
        let c = cfg.virtual_servers[0].real_servers[0].checkers[0].clone();
        let crate::config::model::lvs::CheckerKind::Misc(m) = c.kind.clone() else {
            panic!("not MISC_CHECK");
        };
        (c, m)
    }

    /// keepalived 2.2.7's MISC_CHECK lines, as captured from it in a QEMU guest.
    #[test]
    fn misc_lines_as_keepalived() {
        let head = "Misc check for [[192.0.2.2]:tcp:80 VS [192.0.2.1]:tcp:80] by [/bin/check]";
        let (c, m) = misc("   retry 2\n   delay_before_retry 1\n   log_all_failures\n");
        let mut t = MiscCheck::new(&c);
        let rs = "[192.0.2.2]:tcp:80";
        let vs = "[192.0.2.1]:tcp:80";
        let s = t.on_exit(&c, &m, MiscExit::Exited(0), true, false, false, rs, vs);
        assert_eq!(s.log, vec![format!("{head} succeeded.")]);
        let e1 = MiscExit::Exited(1);
        let s = t.on_exit(&c, &m, e1, true, true, true, rs, vs);
        assert_eq!(
            (s.result, s.log),
            (
                None,
                vec![format!(
                    "{head} failed, will do 2 retries (exited with status 1)."
                )]
            )
        );
        let s = t.on_exit(&c, &m, e1, true, true, true, rs, vs);
        assert_eq!(
            s.log,
            vec![format!(
                "{head} failed on retry 1/2 (exited with status 1)."
            )]
        );
        let s = t.on_exit(&c, &m, e1, true, true, true, rs, vs);
        assert_eq!(
            (s.result, s.log),
            (
                Some(false),
                vec![format!(
                    "{head} failed after 2 retries (exited with status 1)."
                )]
            )
        );
        // Down: silent until it succeeds.
        let s = t.on_exit(&c, &m, e1, false, true, true, rs, vs);
        assert!(s.log.is_empty());
        let s = t.on_exit(&c, &m, MiscExit::Exited(0), false, true, true, rs, vs);
        assert_eq!(s.log, vec![format!("{head} succeeded.")]);
        // At start: the first failure is final, and says so as keepalived does.
        let mut t = MiscCheck::new(&c);
        let s = t.on_exit(&c, &m, e1, true, false, false, rs, vs);
        assert_eq!(
            (s.result, s.log),
            (
                Some(false),
                vec![format!(
                    "{head} failed after 2 retries (exited with status 1)."
                )]
            )
        );
        // One retry: singular.
        let (c, m) = misc("   retry 1\n   log_all_failures\n");
        let mut t = MiscCheck::new(&c);
        t.on_exit(&c, &m, MiscExit::Exited(0), true, false, false, rs, vs);
        let s = t.on_exit(&c, &m, MiscExit::TimedOut, true, true, true, rs, vs);
        assert_eq!(s.log, vec![format!("{head} timed out, will do 1 retry.")]);
        let s = t.on_exit(&c, &m, MiscExit::TimedOut, true, true, true, rs, vs);
        assert_eq!(s.log, vec![format!("{head} timed out after 1 retry.")]);
        // Retry 0 (MISC's default).
        let (c, m) = misc("");
        let mut t = MiscCheck::new(&c);
        let s = t.on_exit(&c, &m, MiscExit::TimedOut, true, true, false, rs, vs);
        assert_eq!(
            s.log,
            vec![format!("{head} timed out with retry disabled.")]
        );
        let s = t.on_exit(&c, &m, e1, true, true, false, rs, vs);
        assert_eq!(
            s.log,
            vec![format!(
                "{head} failed with retry disabled (exited with status 1)."
            )]
        );
    }

    #[test]
    fn misc_dynamic_counts_2_to_255_as_success() {
        let (c, m) = misc("   misc_dynamic\n");
        let mut t = MiscCheck::new(&c);
        let (rs, vs) = ("r", "v");
        assert_eq!(
            t.on_exit(&c, &m, MiscExit::Exited(7), true, true, false, rs, vs)
                .result,
            Some(true)
        );
        assert_eq!(
            t.on_exit(&c, &m, MiscExit::Exited(1), true, true, false, rs, vs)
                .result,
            Some(false)
        );
        let (c, m) = misc("");
        let mut t = MiscCheck::new(&c);
        assert_eq!(
            t.on_exit(&c, &m, MiscExit::Exited(7), true, true, false, rs, vs)
                .result,
            Some(false)
        );
    }

    #[test]
    fn misc_dynamic_weight_is_the_status_minus_2() {
        let (_, m) = misc("   misc_dynamic\n");
        let w = |e| MiscCheck::dynamic_weight(&m, e, 3);
        assert_eq!(w(MiscExit::Exited(0)), Some(3));
        assert_eq!(w(MiscExit::Exited(1)), None);
        assert_eq!(w(MiscExit::Exited(2)), Some(0));
        assert_eq!(w(MiscExit::Exited(5)), Some(3));
        assert_eq!(w(MiscExit::Exited(255)), Some(253));
        assert_eq!(w(MiscExit::Exited(256)), None);
        assert_eq!(w(MiscExit::Exited(-1)), None);
        assert_eq!(w(MiscExit::Signaled(9)), None);
        assert_eq!(w(MiscExit::TimedOut), None);
        let (_, m) = misc("");
        assert_eq!(MiscCheck::dynamic_weight(&m, MiscExit::Exited(7), 3), None);
        assert_eq!(MiscCheck::dynamic_weight(&m, MiscExit::Exited(0), 3), None);
    }

    #[test]
    fn first_delay() {
        let c = checker("   warmup 5\n");
        assert_eq!(first_delay_us(&c, 7), 1_000_007);
        assert_eq!(first_delay_us(&c, 5_000_000), 1_000_000);
        let c = checker("   warmup 0\n");
        assert_eq!(first_delay_us(&c, 12345), 1_000_000);
    }
}
