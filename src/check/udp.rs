//! UDP_CHECK (sans-IO): what a reply means, and keepalived's retry rule and lines.
//! Reference §5 (UDP_CHECK row).
//!
//! The daemon sends the checker's `payload` on a UDP socket connected to the target with
//! `IP_RECVERR`/`IPV6_RECVERR` (so that ICMP errors such as port unreachable come back as
//! socket errors) and hands what follows to [`UdpCheck::on_event`].
//!
//! What keepalived 2.2.7 does (seen in the QEMU guest, /work/scratch/ka-check2):
//! * Without `require_reply`, an ICMP error before `connect_timeout` is a failure, anything
//!   else (a reply or the timeout) a success. With it, a reply must come whose length is in
//!   [`min_reply_length`, `max_reply_length`] and which matches the hex pattern over the
//!   shorter of the two lengths (`X` nibbles are wildcards); a timeout is a failure.
//! * Lines: "UDP connection to T success." when it comes up (or first runs); with
//!   `log_all_failures` while up, "UDP check to T reply data mismatch." for a wrong reply
//!   and "UDP connection to T failed." for any other failed attempt; "UDP_CHECK on service
//!   T failed." for a final failure at start, "... failed after N retries." later.

use super::probe::{Dgram, Retry, Step, Verdict};
use crate::config::model::lvs::{Checker, UdpCheck as UdpCfg};

/// Whether `reply` is what `require_reply` asks for (length bounds and pattern).
pub fn reply_ok(cfg: &UdpCfg, reply: &[u8]) -> bool {
    let len = reply.len();
    len >= usize::from(cfg.min_reply_length)
        && len <= usize::from(cfg.max_reply_length)
        && cfg.reply.as_ref().map_or(true, |p| p.matches(reply))
}

/// UDP_CHECK's state: the retry counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpCheck {
    retry: Retry,
}

impl UdpCheck {
    pub fn new(cfg: &Checker) -> UdpCheck {
        UdpCheck {
            retry: Retry::new(cfg),
        }
    }

    /// The attempt in flight ended with `ev`. `target` is keepalived's `FMT_CHK`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_event(
        &mut self,
        cfg: &Checker,
        udp: &UdpCfg,
        ev: Dgram<'_>,
        is_up: bool,
        has_run: bool,
        log_all: bool,
        target: &str,
    ) -> Step {
        let (ok, mismatch) = match ev {
            Dgram::Reply(r) if udp.require_reply => {
                let ok = reply_ok(udp, r);
                (ok, !ok)
            }
            Dgram::Reply(_) => (true, false),
            Dgram::TimedOut => (!udp.require_reply, false),
            Dgram::Error(_) | Dgram::SendFailed(_) => (false, false),
        };
        let verdict = self.retry.judge(cfg, ok, is_up, has_run, log_all);
        let mut log = Vec::new();
        match verdict {
            Verdict::Up { report } => {
                if report {
                    log.push(format!("UDP connection to {target} success."));
                }
            }
            Verdict::Failed {
                report_attempt,
                report_final,
                retries,
                ..
            } => {
                if report_attempt {
                    log.push(if mismatch {
                        format!("UDP check to {target} reply data mismatch.")
                    } else {
                        format!("UDP connection to {target} failed.")
                    });
                }
                if report_final {
                    log.push(if retries > 0 {
                        format!("UDP_CHECK on service {target} failed after {retries} retries.")
                    } else {
                        format!("UDP_CHECK on service {target} failed.")
                    });
                }
            }
        }
        verdict.step(cfg, log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::lvs::CheckerKind;
    use crate::lvs::engine::tests::lvs_cfg;

    fn checker(body: &str) -> (Checker, UdpCfg) {
        let cfg = lvs_cfg(&format!(
            "virtual_server 192.0.2.51 53 {{\n lb_kind NAT\n protocol UDP\n delay_loop 2\n \
             real_server 198.18.1.2 5003 {{\n  UDP_CHECK {{\n{body}  }}\n }}\n}}\n"
        ));
        let c = cfg.virtual_servers[0].real_servers[0].checkers[0].clone();
        let CheckerKind::Udp(u) = c.kind.clone() else {
            panic!("not UDP_CHECK");
        };
        (c, u)
    }

    const T: &str = "[198.18.1.2]:udp:5003";

    /// keepalived 2.2.7's lines, as captured in the QEMU guest (ka-check2 runs 1 and 2).
    #[test]
    fn lines_as_keepalived() {
        // No reply required: a timeout is a success, an ICMP error a failure.
        let (c, u) = checker("   retry 1\n   delay_before_retry 1\n   log_all_failures\n");
        let mut k = UdpCheck::new(&c);
        let s = k.on_event(&c, &u, Dgram::TimedOut, true, false, true, T);
        assert_eq!(
            (s.result, s.log),
            (Some(true), vec![format!("UDP connection to {T} success.")])
        );
        let s = k.on_event(&c, &u, Dgram::Error(111), true, true, true, T);
        assert_eq!(
            (s.result, s.next_in_us, s.log),
            (
                None,
                1_000_000,
                vec![format!("UDP connection to {T} failed.")]
            )
        );
        let s = k.on_event(&c, &u, Dgram::Error(111), true, true, true, T);
        assert_eq!(
            (s.result, s.log),
            (
                Some(false),
                vec![
                    format!("UDP connection to {T} failed."),
                    format!("UDP_CHECK on service {T} failed after 1 retries.")
                ]
            )
        );
        // At start: final at once.
        let (c, u) = checker("");
        let mut k = UdpCheck::new(&c);
        let s = k.on_event(&c, &u, Dgram::Error(111), true, false, false, T);
        assert_eq!(s.log, vec![format!("UDP_CHECK on service {T} failed.")]);
        // A reply required: pattern and length, the attempt line only with log_all.
        let (c, u) = checker(
            "   require_reply 6f6b\n   min_reply_length 2\n   max_reply_length 4\n   retry 0\n   log_all_failures\n",
        );
        let mut k = UdpCheck::new(&c);
        let s = k.on_event(&c, &u, Dgram::Reply(b"okokok"), true, false, true, T);
        assert_eq!(
            s.log,
            vec![
                format!("UDP check to {T} reply data mismatch."),
                format!("UDP_CHECK on service {T} failed.")
            ]
        );
        assert_eq!(
            k.on_event(&c, &u, Dgram::Reply(b"ok1"), false, true, true, T)
                .result,
            Some(true)
        );
        for r in [&b"no"[..], b"o", b"okokok"] {
            let s = k.on_event(&c, &u, Dgram::Reply(r), true, true, true, T);
            assert_eq!(s.result, Some(false), "{r:?}");
            assert_eq!(s.log.len(), 2);
        }
        assert_eq!(
            k.on_event(&c, &u, Dgram::TimedOut, false, true, false, T)
                .result,
            Some(false)
        );
        let (c, u) = checker("   require_reply 6fXX\n");
        let mut k = UdpCheck::new(&c);
        assert_eq!(
            k.on_event(&c, &u, Dgram::Reply(b"o!!!"), true, true, false, T)
                .result,
            Some(true)
        );
    }
}
