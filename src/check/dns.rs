//! DNS_CHECK (sans-IO): the query, the reading of a response (peer input: never panics),
//! and keepalived's retry rule and lines. Reference §5 (DNS_CHECK row).
//!
//! The daemon sends [`DnsCheck::query`] (its ID drawn from the daemon's seeded generator)
//! on a UDP socket connected to the target with `IP_RECVERR`/`IPV6_RECVERR`, and hands
//! every datagram read, a socket error or the timeout to [`DnsCheck::on_event`].
//!
//! What keepalived 2.2.7 does (seen in the QEMU guest, /work/scratch/ka-check2):
//! * The query is a 12-byte header (the ID, flags 0x0100: RD, QDCOUNT 1) and one question
//!   (`name`, `type`, class IN); the name `.` is the root, a trailing dot adds nothing.
//! * A response with another ID (or not a response, or shorter than a header) is not for
//!   this query: it waits on, and the timeout ends the attempt. One with the ID, QR set and
//!   RCODE 0 is a success (the answers are not looked at); any other RCODE a failure.
//! * It never logs a success. A failed attempt logs "DNS_CHECK (T) MSG" with
//!   `log_all_failures` while up; the final failure logs the same line, with " after N
//!   retries" once retries were made. MSG is "read timeout from socket", "failed to read
//!   socket; errno E (TEXT)", "read error occurred. (rcode = R)" or "failed to write
//!   socket.". T is `[ADDR]:PROTO:PORT`.

use super::probe::{Dgram, DgramNext, Retry, Step, Verdict};
use crate::config::model::lvs::{Checker, DnsCheck as DnsCfg};

/// The DNS header length.
pub const HEADER_LEN: usize = 12;
/// Longest label (RFC 1035); a longer one is cut (the configuration refuses them anyway).
const MAX_LABEL: usize = 63;

/// The query for `cfg` with ID `id`.
pub fn encode_query(cfg: &DnsCfg, id: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(HEADER_LEN + cfg.name.len() + 6);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in cfg.name.split('.').filter(|l| !l.is_empty()) {
        let l = &label.as_bytes()[..label.len().min(MAX_LABEL)];
        q.push(l.len() as u8);
        q.extend_from_slice(l);
    }
    q.push(0);
    q.extend_from_slice(&cfg.qtype.code().to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// What a datagram is, read as a response to query `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    /// Not a response to this query.
    Other,
    /// The response, with its RCODE.
    Rcode(u8),
}

/// Reads `msg` as a response to query `id` (only the header is looked at).
pub fn decode_response(msg: &[u8], id: u16) -> Response {
    match msg {
        [i0, i1, f0, f1, ..] if msg.len() >= HEADER_LEN => {
            if u16::from_be_bytes([*i0, *i1]) != id || f0 & 0x80 == 0 {
                Response::Other
            } else {
                Response::Rcode(f1 & 0x0f)
            }
        }
        _ => Response::Other,
    }
}

/// The text of an errno, as `strerror` gives it.
fn strerror(e: i32) -> &'static str {
    nix::errno::Errno::from_raw(e).desc()
}

/// DNS_CHECK's state: the retry counter and the ID of the query in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsCheck {
    retry: Retry,
    id: u16,
}

impl DnsCheck {
    pub fn new(cfg: &Checker) -> DnsCheck {
        DnsCheck {
            retry: Retry::new(cfg),
            id: 0,
        }
    }

    /// The next query, with ID `id` (random, from the caller's generator).
    pub fn query(&mut self, cfg: &DnsCfg, id: u16) -> Vec<u8> {
        self.id = id;
        encode_query(cfg, id)
    }

    /// Something happened to the query in flight. `Err(Wait)`: not its response.
    pub fn on_event(
        &mut self,
        cfg: &Checker,
        ev: Dgram<'_>,
        is_up: bool,
        has_run: bool,
        log_all: bool,
        target: &str,
    ) -> Result<Step, DgramNext> {
        let msg = match ev {
            Dgram::Reply(r) => match decode_response(r, self.id) {
                Response::Other => return Err(DgramNext::Wait),
                Response::Rcode(0) => None,
                Response::Rcode(rc) => Some(format!("read error occurred. (rcode = {rc})")),
            },
            Dgram::TimedOut => Some("read timeout from socket".to_string()),
            Dgram::Error(e) => Some(format!(
                "failed to read socket; errno {e} ({})",
                strerror(e)
            )),
            Dgram::SendFailed(0) => Some("failed to write all of the datagram.".to_string()),
            Dgram::SendFailed(_) => Some("failed to write socket.".to_string()),
        };
        let verdict = self
            .retry
            .judge(cfg, msg.is_none(), is_up, has_run, log_all);
        let mut log = Vec::new();
        if let (
            Verdict::Failed {
                report_attempt,
                report_final,
                retries,
                ..
            },
            Some(msg),
        ) = (verdict, msg)
        {
            let line = format!("DNS_CHECK ({target}) {msg}");
            if report_attempt {
                log.push(line.clone());
            }
            if report_final {
                log.push(if retries > 0 {
                    format!("{line} after {retries} retries")
                } else {
                    line
                });
            }
        }
        Ok(verdict.step(cfg, log))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::lvs::{CheckerKind, DnsType};
    use crate::lvs::engine::tests::lvs_cfg;

    fn checker(body: &str) -> (Checker, DnsCfg) {
        let cfg = lvs_cfg(&format!(
            "virtual_server 192.0.2.51 53 {{\n lb_kind NAT\n protocol UDP\n delay_loop 2\n \
             real_server 198.18.1.2 5353 {{\n  DNS_CHECK {{\n{body}  }}\n }}\n}}\n"
        ));
        let c = cfg.virtual_servers[0].real_servers[0].checkers[0].clone();
        let CheckerKind::Dns(d) = c.kind.clone() else {
            panic!("not DNS_CHECK");
        };
        (c, d)
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// The queries keepalived 2.2.7 sent in the QEMU guest.
    #[test]
    fn queries_as_keepalived() {
        let (_, d) = checker("");
        assert_eq!(d.qtype, DnsType::Soa);
        assert_eq!(
            hex(&encode_query(&d, 0x6fd3)),
            "6fd3010000010000000000000000060001"
        );
        let (_, d) = checker("   type A\n   name www.example.test\n");
        assert_eq!(
            hex(&encode_query(&d, 0x0080)),
            "00800100000100000000000003777777076578616d706c6504746573740000010001"
        );
        let (_, d) = checker("   type MX\n   name example.test.\n");
        assert!(hex(&encode_query(&d, 1)).ends_with("076578616d706c65047465737400000f0001"));
    }

    #[test]
    fn responses() {
        let mut r = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode_response(&r, 0x1234), Response::Rcode(0));
        assert_eq!(decode_response(&r, 0x1235), Response::Other);
        assert_eq!(decode_response(&r[..11], 0x1234), Response::Other);
        r[3] = 0x83;
        assert_eq!(decode_response(&r, 0x1234), Response::Rcode(3));
        r[2] = 0x01;
        assert_eq!(decode_response(&r, 0x1234), Response::Other);
    }

    /// keepalived 2.2.7's lines, as captured in the QEMU guest (ka-check2 runs 1 and 2).
    #[test]
    fn lines_as_keepalived() {
        let t = "[198.18.1.2]:udp:5353";
        let (c, d) = checker("   retry 1\n   delay_before_retry 1\n   log_all_failures\n");
        let mut k = DnsCheck::new(&c);
        let q = k.query(&d, 0xe77e);
        let mut r = q.clone();
        r[2] = 0x81;
        r[3] = 0x80;
        let s = k
            .on_event(&c, Dgram::Reply(&r), true, false, true, t)
            .unwrap();
        assert_eq!((s.result, s.log.len()), (Some(true), 0));
        r[3] = 0x83;
        let line = format!("DNS_CHECK ({t}) read error occurred. (rcode = 3)");
        let s = k
            .on_event(&c, Dgram::Reply(&r), true, true, true, t)
            .unwrap();
        assert_eq!((s.result, s.log), (None, vec![line.clone()]));
        // Another ID: not ours.
        let mut other = r.clone();
        other[0] ^= 1;
        assert_eq!(
            k.on_event(&c, Dgram::Reply(&other), true, true, true, t),
            Err(DgramNext::Wait)
        );
        let s = k
            .on_event(&c, Dgram::Reply(&r), true, true, true, t)
            .unwrap();
        assert_eq!(
            (s.result, s.log),
            (
                Some(false),
                vec![line.clone(), format!("{line} after 1 retries")]
            )
        );
        // At start.
        let (c, _) = checker("");
        let mut k = DnsCheck::new(&c);
        let s = k
            .on_event(&c, Dgram::Error(111), true, false, false, t)
            .unwrap();
        assert_eq!(
            s.log,
            vec![format!(
                "DNS_CHECK ({t}) failed to read socket; errno 111 (Connection refused)"
            )]
        );
        let s = k
            .on_event(&c, Dgram::TimedOut, true, false, false, t)
            .unwrap();
        assert_eq!(
            s.log,
            vec![format!("DNS_CHECK ({t}) read timeout from socket")]
        );
    }
}
