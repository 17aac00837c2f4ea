//! Raw VRRP sockets, one per (interface, family), non-blocking, for the event loop.
//!
//! Set up as keepalived sets up its own (keepalived-features §3.1, `vrrp.c:open_vrrp_*`):
//!
//! * IPv4: `socket(AF_INET, SOCK_RAW, 112)` (51 for AH), `IP_HDRINCL` (the engine hands over
//!   the whole datagram: TOS 0xC0, TTL 255 or `unicast_ttl`, its own identification),
//!   `IP_MULTICAST_ALL` 0, `IP_MULTICAST_LOOP` 0, the group (224.0.0.18 or `mcast_dst_ip`)
//!   joined on the interface index, `SO_BINDTODEVICE`. A raw IPv4 socket receives the IPv4
//!   header with the payload, so [`RxPacket`] takes TTL and destination from it.
//! * IPv6: `socket(AF_INET6, SOCK_RAW, 112)`, `IPV6_CHECKSUM` at offset 6 (the kernel fills
//!   the VRRP checksum on send and drops bad ones on receive), hop limit 255 for multicast
//!   and 255 (or `unicast_ttl`) for unicast, `IPV6_TCLASS` 0xC0, `IPV6_MULTICAST_ALL` 0,
//!   `IPV6_MULTICAST_IF` and `IPV6_MULTICAST_LOOP` 0, ff02::12 joined on the interface,
//!   `IPV6_RECVPKTINFO` and `IPV6_RECVHOPLIMIT` so that each received advert comes with its
//!   destination and hop limit, `SO_BINDTODEVICE`. The source address of each send is chosen
//!   per packet with an `IPV6_PKTINFO` control message.
//!
//! Unicast (`unicast_peer`) uses the same socket: a raw socket gets every protocol-112
//! datagram addressed to the host on its device, and the engine sends one datagram per peer.
//!
//! The adapter checks nothing of the protocol (TTL 255, VRID, ...): it reports what the
//! kernel delivered and the engine decides.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use nix::sys::socket::{setsockopt, sockopt};

use super::sys::{self, ControlBuf, ControlMessages, SockAddr};
use crate::wire::ip::{VRRP_MULTICAST_V4, VRRP_MULTICAST_V6};
use crate::wire::vrrp::Family;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of IPsec AH (keepalived's `auth_type AH`, IPv4 only).
pub const IPPROTO_AH: u8 = 51;
/// Traffic class keepalived puts on IPv6 adverts (Internetwork Control).
pub const IPV6_TCLASS_VRRP: u8 = 0xc0;

// Not all of these are in every libc release; the values are the Linux uapi ones.
const IP_MULTICAST_ALL: libc::c_int = 49;
const IPV6_CHECKSUM: libc::c_int = 7;
const IPV6_MULTICAST_IF: libc::c_int = 17;
const IPV6_MULTICAST_HOPS: libc::c_int = 18;
const IPV6_MULTICAST_LOOP: libc::c_int = 19;
const IPV6_UNICAST_HOPS: libc::c_int = 16;
const IPV6_ADD_MEMBERSHIP: libc::c_int = 20;
const IPV6_MULTICAST_ALL: libc::c_int = 29;
const IPV6_RECVPKTINFO: libc::c_int = 49;
const IPV6_PKTINFO: libc::c_int = 50;
const IPV6_RECVHOPLIMIT: libc::c_int = 51;
const IPV6_HOPLIMIT: libc::c_int = 52;
const IPV6_TCLASS: libc::c_int = 67;
/// Offset of the checksum in the VRRP header.
const VRRP_CHECKSUM_OFFSET: libc::c_int = 6;

/// How to open a [`VrrpSocket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpSocketConfig {
    pub ifindex: u32,
    /// The interface name, for `SO_BINDTODEVICE`.
    pub ifname: String,
    pub family: Family,
    /// 112, or 51 for IPv4 AH.
    pub protocol: u8,
    /// The multicast group to join; `None` for a unicast-only socket.
    pub group: Option<IpAddr>,
    /// IPv6 hop limit for unicast sends (IPv4 puts the TTL in the header itself).
    pub unicast_hops: u8,
    /// `SO_RCVBUF`; `None` keeps the system default.
    pub rcvbuf: Option<usize>,
}

impl VrrpSocketConfig {
    /// The usual socket: protocol 112, the RFC group (224.0.0.18 or ff02::12), hop limit 255.
    pub fn new(ifindex: u32, ifname: &str, family: Family) -> VrrpSocketConfig {
        let group = match family {
            Family::Ipv4 => IpAddr::V4(VRRP_MULTICAST_V4),
            Family::Ipv6 => IpAddr::V6(VRRP_MULTICAST_V6),
        };
        VrrpSocketConfig {
            ifindex,
            ifname: ifname.to_string(),
            family,
            protocol: IPPROTO_VRRP,
            group: Some(group),
            unicast_hops: 255,
            rcvbuf: None,
        }
    }
}

/// One received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxPacket {
    /// IP source.
    pub src: IpAddr,
    /// IP destination (the group, or our unicast address).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit as received.
    pub ttl: u8,
    /// Bytes in the buffer: IPv4: the whole datagram, header included (decode it with
    /// `wire::vrrp::parse_ipv4_datagram`); IPv6: the VRRP message (the kernel strips the
    /// IPv6 header and has already verified the checksum).
    pub len: usize,
    /// The datagram did not fit the buffer and was cut.
    pub truncated: bool,
}

/// A raw VRRP socket bound to one interface.
pub struct VrrpSocket {
    fd: OwnedFd,
    ifindex: u32,
    family: Family,
    malformed: u64,
}

fn group_error(e: io::Error, what: &str, cfg: &VrrpSocketConfig) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "VRRP socket on {} ({}): {what}: {e}",
            cfg.ifname, cfg.ifindex
        ),
    )
}

impl VrrpSocket {
    /// Opens and configures the socket.
    pub fn open(cfg: &VrrpSocketConfig) -> io::Result<VrrpSocket> {
        let domain = match cfg.family {
            Family::Ipv4 => libc::AF_INET,
            Family::Ipv6 => libc::AF_INET6,
        };
        let fd = sys::socket(
            domain,
            libc::SOCK_RAW,
            libc::c_int::from(cfg.protocol),
            true,
        )
        .map_err(|e| group_error(e, "socket", cfg))?;
        let sock = VrrpSocket {
            fd,
            ifindex: cfg.ifindex,
            family: cfg.family,
            malformed: 0,
        };
        let dev = std::ffi::OsString::from(&cfg.ifname);
        setsockopt(&sock.fd, sockopt::BindToDevice, &dev)
            .map_err(|e| group_error(e.into(), "SO_BINDTODEVICE", cfg))?;
        if let Some(size) = cfg.rcvbuf {
            setsockopt(&sock.fd, sockopt::RcvBuf, &size)
                .map_err(|e| group_error(e.into(), "SO_RCVBUF", cfg))?;
        }
        match cfg.family {
            Family::Ipv4 => sock.setup_v4(cfg)?,
            Family::Ipv6 => sock.setup_v6(cfg)?,
        }
        Ok(sock)
    }

    fn setup_v4(&self, cfg: &VrrpSocketConfig) -> io::Result<()> {
        let fd = self.fd.as_fd();
        let opt = |name, v, what: &str| {
            sys::setsockopt_int(fd, libc::IPPROTO_IP, name, v)
                .map_err(|e| group_error(e, what, cfg))
        };
        opt(libc::IP_HDRINCL, 1, "IP_HDRINCL")?;
        optional(
            sys::setsockopt_int(fd, libc::IPPROTO_IP, IP_MULTICAST_ALL, 0),
            "IP_MULTICAST_ALL",
            cfg,
        )?;
        opt(libc::IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP")?;
        let mreqn = |group: Ipv4Addr| libc::ip_mreqn {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from_ne_bytes(group.octets()),
            },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: cfg.ifindex as libc::c_int,
        };
        sys::setsockopt(
            fd,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            &mreqn(Ipv4Addr::UNSPECIFIED),
        )
        .map_err(|e| group_error(e, "IP_MULTICAST_IF", cfg))?;
        match cfg.group {
            Some(IpAddr::V4(g)) => {
                sys::setsockopt(fd, libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreqn(g))
                    .map_err(|e| group_error(e, &format!("join {g}"), cfg))
            }
            Some(IpAddr::V6(g)) => Err(group_error(
                io::Error::from(io::ErrorKind::InvalidInput),
                &format!("IPv6 group {g} on an IPv4 socket"),
                cfg,
            )),
            None => Ok(()),
        }
    }

    fn setup_v6(&self, cfg: &VrrpSocketConfig) -> io::Result<()> {
        let fd = self.fd.as_fd();
        let opt = |name, v, what: &str| {
            sys::setsockopt_int(fd, libc::IPPROTO_IPV6, name, v)
                .map_err(|e| group_error(e, what, cfg))
        };
        opt(IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET, "IPV6_CHECKSUM")?;
        optional(
            sys::setsockopt_int(fd, libc::IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0),
            "IPV6_MULTICAST_ALL",
            cfg,
        )?;
        opt(IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP")?;
        opt(IPV6_MULTICAST_HOPS, 255, "IPV6_MULTICAST_HOPS")?;
        opt(
            IPV6_UNICAST_HOPS,
            libc::c_int::from(cfg.unicast_hops),
            "IPV6_UNICAST_HOPS",
        )?;
        opt(
            IPV6_MULTICAST_IF,
            cfg.ifindex as libc::c_int,
            "IPV6_MULTICAST_IF",
        )?;
        opt(
            IPV6_TCLASS,
            libc::c_int::from(IPV6_TCLASS_VRRP),
            "IPV6_TCLASS",
        )?;
        opt(IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO")?;
        opt(IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT")?;
        match cfg.group {
            Some(IpAddr::V6(g)) => {
                let mreq = libc::ipv6_mreq {
                    ipv6mr_multiaddr: libc::in6_addr {
                        s6_addr: g.octets(),
                    },
                    ipv6mr_interface: cfg.ifindex,
                };
                sys::setsockopt(fd, libc::IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq)
                    .map_err(|e| group_error(e, &format!("join {g}"), cfg))
            }
            Some(IpAddr::V4(g)) => Err(group_error(
                io::Error::from(io::ErrorKind::InvalidInput),
                &format!("IPv4 group {g} on an IPv6 socket"),
                cfg,
            )),
            None => Ok(()),
        }
    }

    /// The fd for the event loop's `add_read`.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// Datagrams the kernel delivered that could not be framed (an IPv4 header shorter than
    /// it says); skipped by [`VrrpSocket::recv`].
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Sends one advert to `dst`. IPv4: `packet` is the whole datagram (IP header
    /// included, its destination should be `dst`) and `src` is ignored. IPv6: `packet` is
    /// the VRRP message (checksum left for the kernel), sent from `src` (a link-local address
    /// of the interface for multicast, RFC 9568 §5.1.2.2) or, when `None`, from the address
    /// the kernel picks. `WouldBlock` means the socket buffer is full (a dropped advert).
    pub fn send(&self, packet: &[u8], dst: IpAddr, src: Option<IpAddr>) -> io::Result<()> {
        let m = self.out_msg(packet, dst, src)?;
        let n = sys::sendmsg(self.fd.as_fd(), m.buf, &m.addr, &m.control, m.control_len)?;
        if n != packet.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short send: {n} of {} bytes", packet.len()),
            ));
        }
        Ok(())
    }

    /// Sends several adverts (each as [`VrrpSocket::send`] would) in as few system calls as
    /// it takes (`sendmmsg`, up to 64 a call): a master's burst of adverts is one world
    /// switch instead of one per advert. Returns how many failed and the last error.
    pub fn send_batch<'a>(
        &self,
        adverts: impl Iterator<Item = (&'a [u8], IpAddr, Option<IpAddr>)>,
    ) -> (usize, Option<io::Error>) {
        let mut failed = 0;
        let mut last = None;
        let mut msgs = Vec::new();
        for (packet, dst, src) in adverts {
            match self.out_msg(packet, dst, src) {
                Ok(m) => msgs.push(m),
                Err(e) => {
                    failed += 1;
                    last = Some(e);
                }
            }
        }
        let mut i = 0;
        while i < msgs.len() {
            match sys::sendmmsg(self.fd.as_fd(), &msgs[i..]) {
                Ok(0) => {
                    failed += msgs.len() - i;
                    break;
                }
                Ok(k) => i += k,
                Err(e) => {
                    // The first of the rest failed: count it, go on with the next.
                    failed += 1;
                    last = Some(e);
                    i += 1;
                }
            }
        }
        (failed, last)
    }

    /// The datagram to send for an advert: IPv4 as is, IPv6 with its source in IPV6_PKTINFO.
    fn out_msg<'a>(
        &self,
        packet: &'a [u8],
        dst: IpAddr,
        src: Option<IpAddr>,
    ) -> io::Result<sys::OutMsg<'a>> {
        match (self.family, dst) {
            (Family::Ipv4, IpAddr::V4(d)) => Ok(sys::OutMsg {
                buf: packet,
                addr: SockAddr::v4(d),
                control: ControlBuf::default(),
                control_len: 0,
            }),
            (Family::Ipv6, IpAddr::V6(d)) => {
                let src = match src {
                    Some(IpAddr::V6(s)) => Some(s),
                    Some(IpAddr::V4(_)) => return Err(io::ErrorKind::InvalidInput.into()),
                    None => None,
                };
                Ok(self.out_msg_v6(packet, d, src))
            }
            _ => Err(io::ErrorKind::InvalidInput.into()),
        }
    }

    fn out_msg_v6<'a>(
        &self,
        packet: &'a [u8],
        dst: Ipv6Addr,
        src: Option<Ipv6Addr>,
    ) -> sys::OutMsg<'a> {
        let scope = if is_link_scope(&dst) { self.ifindex } else { 0 };
        let addr = SockAddr::v6(dst, scope);
        let mut control = ControlBuf::default();
        let mut clen = 0;
        if let Some(s) = src {
            // struct in6_pktinfo { struct in6_addr ipi6_addr; int ipi6_ifindex; }
            let mut info = [0u8; 20];
            info[..16].copy_from_slice(&s.octets());
            info[16..].copy_from_slice(&self.ifindex.to_ne_bytes());
            sys::push_cmsg(
                &mut control,
                &mut clen,
                libc::IPPROTO_IPV6,
                IPV6_PKTINFO,
                &info,
            );
        }
        sys::OutMsg {
            buf: packet,
            addr,
            control,
            control_len: clen,
        }
    }

    /// Reads up to [`RX_BATCH`] datagrams in one system call into `batch` (see
    /// [`RxBatch::packets`]). Returns how many datagrams the kernel gave, malformed ones
    /// included: fewer than [`RX_BATCH`] means the queue is drained.
    pub fn recv_batch(&mut self, batch: &mut RxBatch) -> io::Result<usize> {
        let n = sys::recvmmsg(self.fd.as_fd(), &mut batch.raw)?;
        for i in 0..sys::RECV_BATCH {
            batch.packets[i] = None;
            if i >= n {
                continue;
            }
            let Some(r) = batch.raw.received[i] else {
                continue;
            };
            batch.packets[i] = self.frame(&r, &batch.raw.bufs[i], &batch.raw.controls[i]);
        }
        Ok(n)
    }

    /// Reads one datagram into `buf`. `Ok(None)` when nothing is queued (the caller's drain
    /// loop ends there). Call it in a loop, up to the loop's per-socket budget.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<RxPacket>> {
        loop {
            let mut control = ControlBuf::default();
            let Some(r) = sys::recvmsg(self.fd.as_fd(), buf, &mut control)? else {
                return Ok(None);
            };
            if let Some(p) = self.frame(&r, buf, &control) {
                return Ok(Some(p));
            }
        }
    }

    /// The datagram `r` read into `buf` and `control`, or `None` (counted as malformed).
    fn frame(&mut self, r: &sys::Received, buf: &[u8], control: &ControlBuf) -> Option<RxPacket> {
        let pkt = match self.family {
            Family::Ipv4 => rx_v4(&buf[..r.len], r.truncated),
            Family::Ipv6 => rx_v6(r, &control.0[..r.control_len]),
        };
        if pkt.is_none() {
            self.malformed += 1;
        }
        pkt
    }
}

/// Most datagrams one [`VrrpSocket::recv_batch`] reads.
pub const RX_BATCH: usize = sys::RECV_BATCH;

/// Buffers for [`VrrpSocket::recv_batch`], allocated once and reused.
#[derive(Default)]
pub struct RxBatch {
    raw: sys::RecvBatch,
    packets: [Option<RxPacket>; sys::RECV_BATCH],
}

impl RxBatch {
    /// The datagrams of the last read, in arrival order, with their bytes (see
    /// [`RxPacket::len`]). Malformed ones are skipped (and counted by the socket).
    pub fn packets(&self) -> impl Iterator<Item = (&RxPacket, &[u8])> {
        self.packets
            .iter()
            .zip(self.raw.bufs.iter())
            .filter_map(|(p, b)| p.as_ref().map(|p| (p, &b[..p.len.min(b.len())])))
    }
}

/// `IP(V6)_MULTICAST_ALL` is missing before Linux 2.6.31 / 4.20: without it the socket
/// also sees groups other sockets joined, which the engine drops by destination anyway.
fn optional(r: io::Result<()>, what: &str, cfg: &VrrpSocketConfig) -> io::Result<()> {
    match r {
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
            log::warn!(target: "os", "{}; continuing without it", group_error(e, what, cfg));
            Ok(())
        }
        r => r.map_err(|e| group_error(e, what, cfg)),
    }
}

fn is_link_scope(a: &Ipv6Addr) -> bool {
    let s = a.segments();
    (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xff0f) == 0xff02 || (s[0] & 0xff0f) == 0xff01
}

/// Frames what a raw IPv4 socket returned: the header gives TTL, source and destination.
fn rx_v4(d: &[u8], truncated: bool) -> Option<RxPacket> {
    if d.len() < 20 || d[0] >> 4 != 4 || usize::from(d[0] & 0x0f) * 4 > d.len() {
        return None;
    }
    Some(RxPacket {
        src: IpAddr::V4(Ipv4Addr::new(d[12], d[13], d[14], d[15])),
        dst: IpAddr::V4(Ipv4Addr::new(d[16], d[17], d[18], d[19])),
        ttl: d[8],
        len: d.len(),
        truncated,
    })
}

/// Reads source from the socket name, destination and hop limit from the control messages.
fn rx_v6(r: &sys::Received, control: &[u8]) -> Option<RxPacket> {
    if r.control_truncated {
        return None;
    }
    let src = match r.src? {
        std::net::SocketAddr::V6(s) => *s.ip(),
        std::net::SocketAddr::V4(_) => return None,
    };
    let (mut dst, mut hops) = (None, None);
    for (level, ty, data) in ControlMessages::new(control) {
        if level != libc::IPPROTO_IPV6 {
            continue;
        }
        if ty == IPV6_PKTINFO && data.len() >= 16 {
            let mut o = [0u8; 16];
            o.copy_from_slice(&data[..16]);
            dst = Some(Ipv6Addr::from(o));
        } else if ty == IPV6_HOPLIMIT && data.len() >= 4 {
            let v = i32::from_ne_bytes([data[0], data[1], data[2], data[3]]);
            hops = u8::try_from(v).ok();
        }
    }
    Some(RxPacket {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst?),
        ttl: hops?,
        len: r.len,
        truncated: r.truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_framing() {
        let mut d = [0u8; 28];
        d[0] = 0x45;
        d[8] = 255;
        d[12..16].copy_from_slice(&[192, 0, 2, 1]);
        d[16..20].copy_from_slice(&[224, 0, 0, 18]);
        let p = rx_v4(&d, false).unwrap();
        assert_eq!(p.ttl, 255);
        assert_eq!(p.dst, IpAddr::V4(VRRP_MULTICAST_V4));
        assert_eq!(p.len, 28);
        assert!(rx_v4(&d[..19], false).is_none());
        d[0] = 0x4f; // IHL 60 > 28
        assert!(rx_v4(&d, false).is_none());
        d[0] = 0x65;
        assert!(rx_v4(&d, false).is_none());
    }

    #[test]
    fn link_scope() {
        assert!(is_link_scope(&VRRP_MULTICAST_V6));
        assert!(is_link_scope(&"fe80::1".parse().unwrap()));
        assert!(!is_link_scope(&"fd00::1".parse().unwrap()));
    }
}
