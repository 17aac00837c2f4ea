//! UDP sockets for BFD (RFC 5881 single hop, RFC 5883 multihop), non-blocking, for the event
//! loop. The adapter checks nothing of the protocol (TTL, discriminators, ...): it reports
//! what the kernel delivered and the engine decides.
//!
//! * Receive: one socket per (family, port): `0.0.0.0:3784` and `[::]:3784` (`IPV6_V6ONLY`),
//!   and 4784 when a multihop session exists. `IP_RECVTTL` + `IP_PKTINFO` (IPv4) and
//!   `IPV6_RECVHOPLIMIT` + `IPV6_RECVPKTINFO` (IPv6) make every datagram come with its
//!   received TTL / hop limit and its destination address ([`BfdRx`]).
//! * Transmit: one socket per session, bound to (source address or unspecified, a source
//!   port in 49152..=65535, RFC 5881 §4), with `IP_TTL` / `IPV6_UNICAST_HOPS` set to the
//!   session's TTL. When the port is taken, the next ones in the range are tried
//!   ([`BfdTxSocket::open_in_range`]). `IP_FREEBIND` lets a session start before its source
//!   address is configured.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use super::sys::{self, ControlBuf, ControlMessages, SockAddr};

/// RFC 5881 §4: the source port range of BFD control packets.
pub const SRC_PORT_MIN: u16 = 49152;
pub const SRC_PORT_MAX: u16 = 65535;
/// How many ports [`BfdTxSocket::open_in_range`] tries before it gives up.
pub const PORT_TRIES: u32 = 1024;

// Linux uapi values not in every libc release.
const IPV6_UNICAST_HOPS: libc::c_int = 16;
const IPV6_RECVPKTINFO: libc::c_int = 49;
const IPV6_PKTINFO: libc::c_int = 50;
const IPV6_RECVHOPLIMIT: libc::c_int = 51;
const IPV6_HOPLIMIT: libc::c_int = 52;
const IPV6_FREEBIND: libc::c_int = 78;

/// Address family of a BFD socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BfdFamily {
    V4,
    V6,
}

impl BfdFamily {
    pub fn of(addr: &IpAddr) -> BfdFamily {
        match addr {
            IpAddr::V4(_) => BfdFamily::V4,
            IpAddr::V6(_) => BfdFamily::V6,
        }
    }

    fn domain(self) -> libc::c_int {
        match self {
            BfdFamily::V4 => libc::AF_INET,
            BfdFamily::V6 => libc::AF_INET6,
        }
    }

    fn unspecified(self) -> IpAddr {
        match self {
            BfdFamily::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            BfdFamily::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

fn sockaddr(addr: IpAddr, port: u16) -> SockAddr {
    match addr {
        IpAddr::V4(a) => SockAddr::v4(a).with_port(port),
        IpAddr::V6(a) => SockAddr::v6(a, 0).with_port(port),
    }
}

fn err(e: io::Error, what: String) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// One received control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdRx {
    /// Source address and UDP port.
    pub src: SocketAddr,
    /// Destination address of the IP header.
    pub dst: IpAddr,
    /// The UDP port it arrived on (3784 or 4784).
    pub local_port: u16,
    /// Received IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Bytes of UDP payload in the buffer.
    pub len: usize,
    /// The datagram did not fit the buffer and was cut.
    pub truncated: bool,
    /// When the kernel received it (`SO_TIMESTAMPNS`, CLOCK_REALTIME), µs since the epoch.
    pub rx_realtime_us: Option<u64>,
}

/// Most datagrams one [`BfdRxSocket::recv_batch`] reads.
pub const RX_BATCH: usize = sys::RECV_BATCH;

/// Buffers for [`BfdRxSocket::recv_batch`], allocated once and reused.
#[derive(Default)]
pub struct BfdRxBatch {
    raw: sys::RecvBatch,
    decoded: Vec<(BfdRx, usize)>,
}

impl BfdRxBatch {
    /// The datagrams of the last read: what the kernel said about each, and its payload.
    pub fn packets(&self) -> impl Iterator<Item = (&BfdRx, &[u8])> + '_ {
        self.decoded
            .iter()
            .map(|(rx, i)| (rx, &self.raw.bufs[*i][..rx.len.min(sys::RECV_BUF)]))
    }
}

/// A receive socket on `[::]:port` or `0.0.0.0:port`.
pub struct BfdRxSocket {
    fd: OwnedFd,
    family: BfdFamily,
    port: u16,
    malformed: u64,
}

impl BfdRxSocket {
    /// Opens a non-blocking socket bound to the wildcard address and `port`.
    pub fn open(family: BfdFamily, port: u16) -> io::Result<BfdRxSocket> {
        let what = |op: &str| format!("BFD receive socket {family:?} port {port}: {op}");
        let fd = sys::socket(family.domain(), libc::SOCK_DGRAM, 0, true)
            .map_err(|e| err(e, what("socket")))?;
        let f = fd.as_fd();
        match family {
            BfdFamily::V4 => {
                sys::setsockopt_int(f, libc::IPPROTO_IP, libc::IP_RECVTTL, 1)
                    .map_err(|e| err(e, what("IP_RECVTTL")))?;
                sys::setsockopt_int(f, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)
                    .map_err(|e| err(e, what("IP_PKTINFO")))?;
            }
            BfdFamily::V6 => {
                sys::setsockopt_int(f, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)
                    .map_err(|e| err(e, what("IPV6_V6ONLY")))?;
                sys::setsockopt_int(f, libc::IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
                    .map_err(|e| err(e, what("IPV6_RECVHOPLIMIT")))?;
                sys::setsockopt_int(f, libc::IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
                    .map_err(|e| err(e, what("IPV6_RECVPKTINFO")))?;
            }
        }
        // Best effort: without receive times, packets are taken as received when read.
        let _ = sys::setsockopt_int(f, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1);
        // Room for a burst of many sessions' packets while the loop is busy (capped by
        // net.core.rmem_max; root may go past it).
        let rcvbuf: libc::c_int = 1 << 20;
        if sys::setsockopt_int(f, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, rcvbuf).is_err() {
            let _ = sys::setsockopt_int(f, libc::SOL_SOCKET, libc::SO_RCVBUF, rcvbuf);
        }
        sys::bind(f, &sockaddr(family.unspecified(), port)).map_err(|e| err(e, what("bind")))?;
        Ok(BfdRxSocket {
            fd,
            family,
            port,
            malformed: 0,
        })
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn family(&self) -> BfdFamily {
        self.family
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Datagrams skipped because the kernel gave no TTL or destination with them.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Reads up to [`RX_BATCH`] datagrams in one system call into `batch` (see
    /// [`BfdRxBatch::packets`]). Returns how many the kernel gave, malformed ones included:
    /// fewer than [`RX_BATCH`] means the queue is drained.
    pub fn recv_batch(&mut self, batch: &mut BfdRxBatch) -> io::Result<usize> {
        batch.decoded.clear();
        let n = sys::recvmmsg(self.fd.as_fd(), &mut batch.raw)?;
        for i in 0..n {
            let Some(r) = batch.raw.received[i] else {
                continue;
            };
            let control = &batch.raw.controls[i].0[..r.control_len];
            match decode(&r, control, self.port) {
                Some(p) => batch.decoded.push((p, i)),
                None => self.malformed += 1,
            }
        }
        Ok(n)
    }

    /// Reads one datagram into `buf`; `Ok(None)` when nothing is queued.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<BfdRx>> {
        loop {
            let mut control = ControlBuf::default();
            let Some(r) = sys::recvmsg(self.fd.as_fd(), buf, &mut control)? else {
                return Ok(None);
            };
            match decode(&r, &control.0[..r.control_len], self.port) {
                Some(p) => return Ok(Some(p)),
                None => self.malformed += 1,
            }
        }
    }
}

/// Source from the socket name; TTL and destination from the control messages.
fn decode(r: &sys::Received, control: &[u8], port: u16) -> Option<BfdRx> {
    if r.control_truncated {
        return None;
    }
    let src = r.src?;
    let (mut dst, mut ttl, mut stamp) = (None, None, None);
    let int = |d: &[u8]| {
        let b: [u8; 4] = d.get(..4)?.try_into().ok()?;
        u8::try_from(i32::from_ne_bytes(b)).ok()
    };
    for (level, ty, data) in ControlMessages::new(control) {
        match (level, ty) {
            (libc::IPPROTO_IP, libc::IP_TTL) => ttl = int(data),
            // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }:
            // ipi_addr is the header's destination.
            (libc::IPPROTO_IP, libc::IP_PKTINFO) if data.len() >= 12 => {
                dst = Some(IpAddr::V4(Ipv4Addr::new(
                    data[8], data[9], data[10], data[11],
                )));
            }
            (libc::IPPROTO_IPV6, IPV6_HOPLIMIT) => ttl = int(data),
            // struct timespec { time_t tv_sec; long tv_nsec; } (64-bit Linux)
            (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) if data.len() >= 16 => {
                let sec = i64::from_ne_bytes(data[..8].try_into().unwrap_or([0; 8]));
                let nsec = i64::from_ne_bytes(data[8..16].try_into().unwrap_or([0; 8]));
                stamp = u64::try_from(sec)
                    .ok()
                    .and_then(|s| s.checked_mul(1_000_000))
                    .and_then(|us| us.checked_add(u64::try_from(nsec / 1000).ok()?));
            }
            // struct in6_pktinfo { in6_addr ipi6_addr; int ipi6_ifindex; }
            (libc::IPPROTO_IPV6, IPV6_PKTINFO) if data.len() >= 16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(&data[..16]);
                dst = Some(IpAddr::V6(Ipv6Addr::from(o)));
            }
            _ => {}
        }
    }
    // A v4-mapped source on an IPv6 socket cannot happen with IPV6_V6ONLY; report the
    // plain address anyway.
    let src = match src {
        SocketAddr::V6(s) => match s.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), s.port()),
            None => SocketAddr::new(IpAddr::V6(*s.ip()), s.port()),
        },
        v4 => v4,
    };
    Some(BfdRx {
        src,
        dst: dst?,
        local_port: port,
        ttl: ttl?,
        len: r.len,
        truncated: r.truncated,
        rx_realtime_us: stamp,
    })
}

/// A session's transmit socket.
pub struct BfdTxSocket {
    fd: OwnedFd,
    family: BfdFamily,
    local: Option<IpAddr>,
    port: u16,
    /// The port asked for (differs from `port` after a conflict).
    requested_port: u16,
    ttl: u8,
    /// The destination the socket is connected to (see [`BfdTxSocket::send`]).
    connected: Option<SocketAddr>,
}

impl BfdTxSocket {
    /// Opens a non-blocking socket of `family` bound to (`local` or the wildcard, `port`),
    /// sending with TTL / hop limit `ttl`. Fails with `AddrInUse` if the port is taken.
    pub fn open(
        family: BfdFamily,
        local: Option<IpAddr>,
        port: u16,
        ttl: u8,
    ) -> io::Result<BfdTxSocket> {
        let what = |op: &str| format!("BFD send socket {local:?} port {port}: {op}");
        if local.is_some_and(|l| BfdFamily::of(&l) != family) {
            return Err(err(
                io::ErrorKind::InvalidInput.into(),
                what("source address of the other family"),
            ));
        }
        let fd = sys::socket(family.domain(), libc::SOCK_DGRAM, 0, true)
            .map_err(|e| err(e, what("socket")))?;
        let f = fd.as_fd();
        // Best effort: without it a source address not configured yet fails to bind.
        let _ = match family {
            BfdFamily::V4 => sys::setsockopt_int(f, libc::IPPROTO_IP, libc::IP_FREEBIND, 1),
            BfdFamily::V6 => sys::setsockopt_int(f, libc::IPPROTO_IPV6, IPV6_FREEBIND, 1),
        };
        if family == BfdFamily::V6 {
            sys::setsockopt_int(f, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)
                .map_err(|e| err(e, what("IPV6_V6ONLY")))?;
        }
        let bind_to = local.unwrap_or_else(|| family.unspecified());
        sys::bind(f, &sockaddr(bind_to, port)).map_err(|e| err(e, what("bind")))?;
        let mut s = BfdTxSocket {
            fd,
            family,
            local,
            port,
            requested_port: port,
            ttl: 0,
            connected: None,
        };
        s.set_ttl(ttl)?;
        Ok(s)
    }

    /// [`BfdTxSocket::open`] at `port`, or when it is taken the next free port of
    /// 49152..=65535 (wrapping), at most [`PORT_TRIES`] tries. Each conflict is logged.
    pub fn open_in_range(
        family: BfdFamily,
        local: Option<IpAddr>,
        port: u16,
        ttl: u8,
    ) -> io::Result<BfdTxSocket> {
        let span = u32::from(SRC_PORT_MAX - SRC_PORT_MIN) + 1;
        let first = u32::from(port.clamp(SRC_PORT_MIN, SRC_PORT_MAX) - SRC_PORT_MIN);
        let mut last = None;
        for i in 0..PORT_TRIES.min(span) {
            let p = SRC_PORT_MIN + ((first + i) % span) as u16;
            match BfdTxSocket::open(family, local, p, ttl) {
                Ok(mut s) => {
                    s.requested_port = port;
                    if i > 0 {
                        log::info!(target: "bfd", "BFD source port {port} in use, using {p}");
                    }
                    return Ok(s);
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    log::debug!(target: "bfd", "BFD source port {p} in use: {e}");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::ErrorKind::AddrInUse.into()))
    }

    /// Sets the TTL (IPv4) or unicast hop limit (IPv6) of what follows.
    pub fn set_ttl(&mut self, ttl: u8) -> io::Result<()> {
        let f = self.fd.as_fd();
        let v = libc::c_int::from(ttl);
        match self.family {
            BfdFamily::V4 => sys::setsockopt_int(f, libc::IPPROTO_IP, libc::IP_TTL, v),
            BfdFamily::V6 => sys::setsockopt_int(f, libc::IPPROTO_IPV6, IPV6_UNICAST_HOPS, v),
        }
        .map_err(|e| err(e, format!("BFD send socket port {}: TTL {ttl}", self.port)))?;
        self.ttl = ttl;
        Ok(())
    }

    /// Sends `payload` to `peer`:`port`. `WouldBlock` means the socket buffer is full. The
    /// socket is connected to the first destination (a session has one), so that the kernel
    /// keeps the route instead of looking it up for every packet; another destination is
    /// sent to explicitly.
    pub fn send(&mut self, payload: &[u8], peer: IpAddr, port: u16) -> io::Result<()> {
        if BfdFamily::of(&peer) != self.family {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        let dst = SocketAddr::new(peer, port);
        if self.connected.is_none() {
            let r = match dst {
                SocketAddr::V4(a) => nix::sys::socket::connect(
                    self.fd.as_raw_fd(),
                    &nix::sys::socket::SockaddrIn::from(a),
                ),
                SocketAddr::V6(a) => nix::sys::socket::connect(
                    self.fd.as_raw_fd(),
                    &nix::sys::socket::SockaddrIn6::from(a),
                ),
            };
            if r.is_ok() {
                self.connected = Some(dst);
            }
        }
        let n = if self.connected == Some(dst) {
            let send = || {
                nix::sys::socket::send(
                    self.fd.as_raw_fd(),
                    payload,
                    nix::sys::socket::MsgFlags::MSG_DONTWAIT,
                )
            };
            // A connected socket reports an ICMP error (the peer's port closed) on the next
            // send, which then sends nothing; the error is cleared by being reported, so the
            // packet goes out on a second try. The error is still returned, for the count.
            match send() {
                Ok(n) => n,
                Err(nix::errno::Errno::ECONNREFUSED) => {
                    let _ = send();
                    return Err(io::ErrorKind::ConnectionRefused.into());
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            sys::sendto(self.fd.as_fd(), payload, &sockaddr(peer, port))?
        };
        if n != payload.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short send: {n} of {} bytes", payload.len()),
            ));
        }
        Ok(())
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn family(&self) -> BfdFamily {
        self.family
    }

    /// The bound source address (`None`: the wildcard).
    pub fn local(&self) -> Option<IpAddr> {
        self.local
    }

    /// The bound source port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The source port asked for ([`BfdTxSocket::open_in_range`]'s `port`).
    pub fn requested_port(&self) -> u16 {
        self.requested_port
    }

    pub fn ttl(&self) -> u8 {
        self.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(src: SocketAddr, control_len: usize) -> sys::Received {
        sys::Received {
            len: 24,
            truncated: false,
            control_truncated: false,
            control_len,
            src: Some(src),
        }
    }

    #[test]
    fn decode_v4_and_v6_control() {
        let mut c = ControlBuf::default();
        let mut at = 0;
        assert!(sys::push_cmsg(
            &mut c,
            &mut at,
            libc::IPPROTO_IP,
            libc::IP_TTL,
            &255i32.to_ne_bytes()
        ));
        let mut info = [0u8; 12];
        info[8..].copy_from_slice(&[192, 0, 2, 1]);
        assert!(sys::push_cmsg(
            &mut c,
            &mut at,
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            &info
        ));
        let src: SocketAddr = "192.0.2.2:49152".parse().unwrap();
        let p = decode(&received(src, at), &c.0[..at], 3784).unwrap();
        assert_eq!(p.ttl, 255);
        assert_eq!(p.dst, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!(p.src, src);
        assert_eq!(p.local_port, 3784);
        // No TTL: dropped, counted by the caller.
        let mut c2 = ControlBuf::default();
        let mut at2 = 0;
        sys::push_cmsg(&mut c2, &mut at2, libc::IPPROTO_IP, libc::IP_PKTINFO, &info);
        assert!(decode(&received(src, at2), &c2.0[..at2], 3784).is_none());

        let mut c6 = ControlBuf::default();
        let mut at6 = 0;
        let mut info6 = [0u8; 20];
        info6[..16].copy_from_slice(&"fd00::1".parse::<Ipv6Addr>().unwrap().octets());
        sys::push_cmsg(&mut c6, &mut at6, libc::IPPROTO_IPV6, IPV6_PKTINFO, &info6);
        sys::push_cmsg(
            &mut c6,
            &mut at6,
            libc::IPPROTO_IPV6,
            IPV6_HOPLIMIT,
            &64i32.to_ne_bytes(),
        );
        let src6: SocketAddr = "[fd00::2]:50000".parse().unwrap();
        let p = decode(&received(src6, at6), &c6.0[..at6], 4784).unwrap();
        assert_eq!((p.ttl, p.local_port), (64, 4784));
        assert_eq!(p.dst, "fd00::1".parse::<IpAddr>().unwrap());
        // Garbage TTL values never panic.
        let mut c7 = ControlBuf::default();
        let mut at7 = 0;
        sys::push_cmsg(
            &mut c7,
            &mut at7,
            libc::IPPROTO_IP,
            libc::IP_TTL,
            &(-1i32).to_ne_bytes(),
        );
        sys::push_cmsg(
            &mut c7,
            &mut at7,
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            &[1, 2],
        );
        assert!(decode(&received(src, at7), &c7.0[..at7], 3784).is_none());
    }
}
