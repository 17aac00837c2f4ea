//! PING_CHECK (sans-IO): the ICMP echo request, the reading of an echo reply (peer input:
//! never panics), and keepalived's retry rule and lines. Reference §5 (PING_CHECK row).
//!
//! The daemon opens an unprivileged ping socket (`SOCK_DGRAM`, `IPPROTO_ICMP` or
//! `IPPROTO_ICMPV6`) connected to the target, sends [`PingCheck::request`] and hands every
//! datagram read, an error or the timeout to [`PingCheck::on_event`]. On such a socket the
//! kernel fills in the identifier (the socket's "port") and the checksum, and hands back
//! only the replies to this socket, starting with their ICMP header.
//!
//! What keepalived 2.2.7 does (seen in the QEMU guest, /work/scratch/ka-check2):
//! * The request carries 128 bytes of the repeated text `keepalived check - ` and a sequence
//!   number that grows by one per request.
//! * Success is an echo reply with that sequence within `connect_timeout`; other replies
//!   (a late answer to an earlier request) are not for this attempt and it waits on.
//! * Lines: "ICMP connection to T success." when it comes up (or first runs);
//!   "ICMP connection to address T timeout." for a failed attempt with `log_all_failures`
//!   while up; "ICMP CHECK on service T failed." for a final failure at start and
//!   "ICMP CHECK on service T of VS failed after N retries." later. T is `[ADDR]:PROTO:PORT`
//!   with the real server's port and the virtual server's protocol.

use super::probe::{Dgram, DgramNext, Retry, Step, Verdict};
use crate::config::model::lvs::{default_check_payload, Checker};

/// The echo payload's length.
pub const PAYLOAD_LEN: usize = 128;
/// ICMP header length (type, code, checksum, identifier, sequence).
pub const HEADER_LEN: usize = 8;

/// ICMP echo request / reply types.
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

/// An echo request with sequence `seq` (identifier and checksum left 0: the ping socket
/// fills them in).
pub fn echo_request(v6: bool, seq: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER_LEN + PAYLOAD_LEN);
    b.push(if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 });
    b.extend_from_slice(&[0, 0, 0, 0, 0]);
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&default_check_payload(PAYLOAD_LEN));
    b
}

/// The sequence number of an echo reply (`None`: too short, or another ICMP message).
pub fn reply_seq(v6: bool, msg: &[u8]) -> Option<u16> {
    let want = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    match msg {
        [t, _code, _, _, _, _, s0, s1, ..] if *t == want => Some(u16::from_be_bytes([*s0, *s1])),
        _ => None,
    }
}

/// PING_CHECK's state: the retry counter and the last sequence sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingCheck {
    retry: Retry,
    seq: u16,
}

impl PingCheck {
    pub fn new(cfg: &Checker) -> PingCheck {
        PingCheck {
            retry: Retry::new(cfg),
            seq: 0,
        }
    }

    /// The next request (its sequence is the one a reply must carry).
    pub fn request(&mut self, v6: bool) -> Vec<u8> {
        self.seq = self.seq.wrapping_add(1);
        echo_request(v6, self.seq)
    }

    /// Something happened to the attempt in flight. `target` and `vs` are keepalived's
    /// `FMT_CHK` and `FMT_VS`. `Err(())`: not for this attempt, wait on.
    #[allow(clippy::too_many_arguments)]
    pub fn on_event(
        &mut self,
        cfg: &Checker,
        ev: Dgram<'_>,
        is_up: bool,
        has_run: bool,
        log_all: bool,
        target: &str,
        vs: &str,
    ) -> Result<Step, DgramNext> {
        let v6 = cfg.conn.as_ref().is_some_and(|c| c.dst_addr.is_ipv6());
        let ok = match ev {
            Dgram::Reply(msg) => match reply_seq(v6, msg) {
                Some(s) if s == self.seq => true,
                _ => return Err(DgramNext::Wait),
            },
            Dgram::Error(_) | Dgram::SendFailed(_) | Dgram::TimedOut => false,
        };
        let verdict = self.retry.judge(cfg, ok, is_up, has_run, log_all);
        let mut log = Vec::new();
        match verdict {
            Verdict::Up { report } => {
                if report {
                    log.push(format!("ICMP connection to {target} success."));
                }
            }
            Verdict::Failed {
                report_attempt,
                report_final,
                retries,
                ..
            } => {
                if report_attempt {
                    log.push(if ev == Dgram::TimedOut {
                        format!("ICMP connection to address {target} timeout.")
                    } else {
                        format!("ICMP connection to {target} of {vs} failed.")
                    });
                }
                if report_final {
                    log.push(if retries > 0 {
                        format!("ICMP CHECK on service {target} of {vs} failed after {retries} retries.")
                    } else {
                        format!("ICMP CHECK on service {target} failed.")
                    });
                }
            }
        }
        Ok(verdict.step(cfg, log))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::engine::tests::lvs_cfg;

    fn checker(body: &str) -> Checker {
        let cfg = lvs_cfg(&format!(
            "virtual_server 192.0.2.50 80 {{\n lb_kind NAT\n protocol TCP\n delay_loop 2\n \
             real_server 198.18.1.2 2 {{\n  PING_CHECK {{\n{body}  }}\n }}\n}}\n"
        ));
        cfg.virtual_servers[0].real_servers[0].checkers[0].clone()
    }

    #[test]
    fn request_and_reply() {
        let r = echo_request(false, 0x1234);
        assert_eq!(r.len(), 136);
        assert_eq!(&r[..8], &[8, 0, 0, 0, 0, 0, 0x12, 0x34]);
        assert_eq!(&r[8..27], b"keepalived check - ");
        assert_eq!(echo_request(true, 1)[0], 128);
        let mut rep = r.clone();
        rep[0] = 0;
        assert_eq!(reply_seq(false, &rep), Some(0x1234));
        assert_eq!(reply_seq(true, &rep), None);
        assert_eq!(reply_seq(false, &rep[..7]), None);
        rep[0] = 129;
        assert_eq!(reply_seq(true, &rep[..8]), Some(0x1234));
    }

    /// keepalived 2.2.7's lines, as captured in the QEMU guest (ka-check2 run 1).
    #[test]
    fn lines_as_keepalived() {
        let (t, vs) = ("[198.18.1.2]:tcp:2", "[192.0.2.50]:tcp:80");
        let c = checker("   retry 2\n   delay_before_retry 1\n   log_all_failures\n");
        let mut p = PingCheck::new(&c);
        let req = p.request(false);
        let mut rep = req.clone();
        rep[0] = 0;
        // An old reply is not this attempt's.
        let mut old = rep.clone();
        old[7] ^= 1;
        assert_eq!(
            p.on_event(&c, Dgram::Reply(&old), true, false, true, t, vs),
            Err(DgramNext::Wait)
        );
        let s = p
            .on_event(&c, Dgram::Reply(&rep), true, false, true, t, vs)
            .unwrap();
        assert_eq!(s.result, Some(true));
        assert_eq!(s.log, vec![format!("ICMP connection to {t} success.")]);
        let timeout = format!("ICMP connection to address {t} timeout.");
        let s = p
            .on_event(&c, Dgram::TimedOut, true, true, true, t, vs)
            .unwrap();
        assert_eq!(
            (s.result, s.next_in_us, s.log),
            (None, 1_000_000, vec![timeout.clone()])
        );
        p.on_event(&c, Dgram::TimedOut, true, true, true, t, vs)
            .unwrap();
        let s = p
            .on_event(&c, Dgram::TimedOut, true, true, true, t, vs)
            .unwrap();
        assert_eq!(
            (s.result, s.next_in_us, s.log),
            (
                Some(false),
                2_000_000,
                vec![
                    timeout,
                    format!("ICMP CHECK on service {t} of {vs} failed after 2 retries.")
                ]
            )
        );
        // Down: silent; the request sequence moved on.
        let s = p
            .on_event(&c, Dgram::TimedOut, false, true, true, t, vs)
            .unwrap();
        assert!(s.log.is_empty());
        assert_eq!(p.request(false)[7], 2);
        // At start the first failure is final.
        let mut p = PingCheck::new(&c);
        p.request(false);
        let s = p
            .on_event(&c, Dgram::TimedOut, true, false, false, t, vs)
            .unwrap();
        assert_eq!(
            (s.result, s.log),
            (
                Some(false),
                vec![format!("ICMP CHECK on service {t} failed.")]
            )
        );
    }
}
