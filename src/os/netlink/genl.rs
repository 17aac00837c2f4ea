//! Generic netlink (NETLINK_GENERIC): the family header, family-name resolution through the
//! controller (`CTRL_CMD_GETFAMILY`) and a synchronous request client, for IPVS
//! ([`crate::os::ipvs`]).
//!
//! A generic netlink message is a netlink header, a 4-byte `genlmsghdr` (command, version,
//! reserved) and attributes, encoded with the rtnetlink codec ([`super::codec`]). Requests
//! block until the kernel answers, as keepalived's do (libnl's `nl_send_auto` then
//! `nl_recvmsgs_default`); replies are matched on sequence number and port id, and stale ones
//! (an earlier timed-out request) are skipped.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, MsgFlags, SockProtocol};

use super::codec::{self, AttrIter, MsgBuilder, NlMsgIter, NlParseError};
use super::{with_context, OsOpError};

/// `struct genlmsghdr`: cmd, version, reserved u16.
pub const GENL_HDR_LEN: usize = 4;
/// The controller family's fixed id (`GENL_ID_CTRL`).
pub const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_NEWFAMILY: u8 = 1;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const CTRL_VERSION: u8 = 2;

use super::RX_BUF;

/// Starts a generic netlink request to `family` (the length is set by
/// [`MsgBuilder::finish`]).
pub fn start(b: &mut MsgBuilder, family: u16, flags: u16, seq: u32, cmd: u8, version: u8) {
    b.start(family, flags, seq);
    b.push(&[cmd, version, 0, 0]);
}

/// Splits a generic netlink message payload into (command, version, attributes).
pub fn parse_header(payload: &[u8]) -> Result<(u8, u8, &[u8]), NlParseError> {
    if payload.len() < GENL_HDR_LEN {
        return Err(NlParseError::Truncated {
            what: "genlmsghdr",
            need: GENL_HDR_LEN,
            have: payload.len(),
        });
    }
    Ok((payload[0], payload[1], &payload[GENL_HDR_LEN..]))
}

/// Builds `CTRL_CMD_GETFAMILY` for `name`.
pub fn build_get_family(b: &mut MsgBuilder, seq: u32, name: &str) {
    start(
        b,
        GENL_ID_CTRL,
        codec::NLM_F_REQUEST | codec::NLM_F_ACK,
        seq,
        CTRL_CMD_GETFAMILY,
        CTRL_VERSION,
    );
    let mut v = Vec::with_capacity(name.len() + 1);
    v.extend_from_slice(name.as_bytes());
    v.push(0);
    b.attr(CTRL_ATTR_FAMILY_NAME, &v);
}

/// The family id in a controller reply (`CTRL_CMD_NEWFAMILY`), if it carries one.
pub fn parse_family_id(payload: &[u8]) -> Option<u16> {
    let (cmd, _, attrs) = parse_header(payload).ok()?;
    if cmd != CTRL_CMD_NEWFAMILY {
        return None;
    }
    AttrIter::new(attrs)
        .find(|(ty, _)| *ty == CTRL_ATTR_FAMILY_ID)
        .and_then(|(_, d)| (d.len() >= 2).then(|| u16::from_ne_bytes([d[0], d[1]])))
}

/// How a request ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A command with `NLM_F_ACK`: replies (if any) then the ACK.
    Ack,
    /// A dump (`NLM_F_DUMP`): multi-part replies then `NLMSG_DONE`.
    Dump,
}

/// A synchronous generic netlink client. Not for the event loop: each call blocks until the
/// kernel answers (microseconds).
pub struct GenlSocket {
    fd: OwnedFd,
    pid: u32,
    seq: u32,
    tx: MsgBuilder,
    rx: Vec<u8>,
    malformed: u64,
}

impl GenlSocket {
    /// Opens a NETLINK_GENERIC socket (extended acks on, echoed requests capped, replies
    /// awaited at most 5 s).
    pub fn open() -> io::Result<GenlSocket> {
        let (fd, pid) = super::open_command_socket(SockProtocol::NetlinkGeneric)?;
        Ok(GenlSocket {
            fd,
            pid,
            seq: 1,
            tx: MsgBuilder::default(),
            rx: vec![0; RX_BUF],
            malformed: 0,
        })
    }

    /// Kernel messages that could not be parsed and were skipped.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Counts one more malformed message (a reply the caller could not decode).
    pub fn count_malformed(&mut self) {
        self.malformed += 1;
    }

    /// The id of the family called `name`; `Ok(None)` when the kernel has no such family
    /// (its module is not loaded and could not be loaded).
    pub fn resolve_family(&mut self, name: &str) -> io::Result<Option<u16>> {
        let seq = self.next_seq();
        build_get_family(&mut self.tx, seq, name);
        let mut id = None;
        let r = self.exchange(
            seq,
            Reply::Ack,
            &|| format!("resolve generic netlink family {name}"),
            &mut |p| {
                if let Some(v) = parse_family_id(p) {
                    id = Some(v);
                    true
                } else {
                    false
                }
            },
        );
        match r {
            Ok(()) if id.is_some() => Ok(id),
            Ok(()) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("resolve generic netlink family {name}: no family id in the reply"),
            )),
            Err(e) if super::errno(&e) == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends one request to `family` built by `attrs` and hands each reply message's payload
    /// (generic header included) to `on_reply`, which says whether it understood it (a
    /// `false` counts as malformed). A kernel refusal becomes an [`OsOpError`] named by
    /// `what`.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &mut self,
        family: u16,
        cmd: u8,
        version: u8,
        reply: Reply,
        what: &dyn Fn() -> String,
        attrs: impl FnOnce(&mut MsgBuilder),
        on_reply: &mut dyn FnMut(&[u8]) -> bool,
    ) -> io::Result<()> {
        let seq = self.next_seq();
        let flags = codec::NLM_F_REQUEST
            | match reply {
                Reply::Ack => codec::NLM_F_ACK,
                Reply::Dump => codec::NLM_F_DUMP,
            };
        start(&mut self.tx, family, flags, seq, cmd, version);
        attrs(&mut self.tx);
        self.exchange(seq, reply, what, on_reply)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    fn recv_datagram(&mut self) -> io::Result<usize> {
        loop {
            match recv(self.fd.as_raw_fd(), &mut self.rx, MsgFlags::empty()) {
                Ok(n) => return Ok(n),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends the built message and reads until its ACK, error or `NLMSG_DONE`.
    fn exchange(
        &mut self,
        seq: u32,
        reply: Reply,
        what: &dyn Fn() -> String,
        on_reply: &mut dyn FnMut(&[u8]) -> bool,
    ) -> io::Result<()> {
        let msg = self.tx.finish();
        send(self.fd.as_raw_fd(), msg, MsgFlags::empty())
            .map_err(|e| with_context(e.into(), what()))?;
        let mut interrupted = false;
        loop {
            let n = self.recv_datagram().map_err(|e| with_context(e, what()))?;
            let mut malformed = 0;
            let mut end = None;
            for m in NlMsgIter::new(&self.rx[..n]) {
                let Ok(m) = m else {
                    malformed += 1;
                    continue;
                };
                if m.seq != seq || m.pid != self.pid {
                    continue;
                }
                interrupted |= m.flags & codec::NLM_F_DUMP_INTR != 0;
                match m.ty {
                    codec::NLMSG_DONE if reply == Reply::Dump => {
                        end = Some(Ok(()));
                        break;
                    }
                    codec::NLMSG_ERROR => match codec::parse_ack(m.flags, m.payload) {
                        Ok(ack) if ack.error == 0 => {
                            end = Some(Ok(()));
                            break;
                        }
                        Ok(ack) => {
                            end = Some(Err((ack.error.saturating_neg(), ack.message)));
                            break;
                        }
                        Err(_) => malformed += 1,
                    },
                    codec::NLMSG_NOOP | codec::NLMSG_DONE | codec::NLMSG_OVERRUN => {}
                    _ => {
                        if !on_reply(m.payload) {
                            malformed += 1;
                        }
                    }
                }
            }
            self.malformed += malformed;
            match end {
                None => {}
                Some(Ok(())) if interrupted => {
                    return Err(io::Error::new(
                        io::ErrorKind::Interrupted,
                        format!("{}: dump interrupted by a concurrent change", what()),
                    ))
                }
                Some(Ok(())) => return Ok(()),
                Some(Err((errno, kernel_msg))) => {
                    return Err(OsOpError {
                        what: what(),
                        errno,
                        kernel_msg,
                    }
                    .into_io())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_family_request_layout() {
        let mut b = MsgBuilder::default();
        build_get_family(&mut b, 7, "IPVS");
        let m = b.finish().to_vec();
        // nlmsghdr(16) + genlmsghdr(4) + attr(4 + "IPVS\0" padded to 8)
        assert_eq!(m.len(), 32);
        assert_eq!(u32::from_ne_bytes([m[0], m[1], m[2], m[3]]), 32);
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), GENL_ID_CTRL);
        assert_eq!(
            u16::from_ne_bytes([m[6], m[7]]),
            codec::NLM_F_REQUEST | codec::NLM_F_ACK
        );
        assert_eq!(&m[16..20], &[CTRL_CMD_GETFAMILY, CTRL_VERSION, 0, 0]);
        assert_eq!(u16::from_ne_bytes([m[20], m[21]]), 9);
        assert_eq!(u16::from_ne_bytes([m[22], m[23]]), CTRL_ATTR_FAMILY_NAME);
        assert_eq!(&m[24..29], b"IPVS\0");
    }

    #[test]
    fn family_id_from_reply() {
        let mut p = vec![CTRL_CMD_NEWFAMILY, 2, 0, 0];
        p.extend_from_slice(&6u16.to_ne_bytes());
        p.extend_from_slice(&CTRL_ATTR_FAMILY_ID.to_ne_bytes());
        p.extend_from_slice(&0x1du16.to_ne_bytes());
        p.extend_from_slice(&[0, 0]);
        assert_eq!(parse_family_id(&p), Some(0x1d));
        assert_eq!(parse_family_id(&p[..3]), None);
        assert_eq!(parse_family_id(&p[..8]), None);
        p[0] = CTRL_CMD_GETFAMILY;
        assert_eq!(parse_family_id(&p), None);
    }
}
