//! The few system calls the adapters need that nix 0.29 does not wrap safely: raw sockets
//! with an arbitrary IP protocol (112, 51), integer and struct `setsockopt`s (multicast
//! membership by interface index, `IPV6_CHECKSUM`, `IP_MULTICAST_ALL`), `recvmsg` with a raw
//! control buffer (nix does not decode `IPV6_HOPLIMIT`), and `sendto`/`bind` with a
//! `sockaddr_ll` (nix offers no safe constructor for one). Also glibc's `malloc_trim`.
//!
//! All `unsafe` of the crate lives in this file. Every block passes the kernel a pointer to a
//! live, correctly sized value owned by the caller's stack frame, and every result is checked.
//! Control messages are decoded from bytes in safe code ([`ControlMessages`]).

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Gives the C allocator's free memory back to the kernel (glibc's `malloc_trim(0)`: the free
/// top of the heap and whole free pages inside it). A burst (start-up, reload, a mass
/// transition) frees what it allocated, but glibc keeps it resident otherwise. A no-op with
/// other C libraries.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim(3) takes an integer and only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Opens a socket with `SOCK_NONBLOCK | SOCK_CLOEXEC` (and `SOCK_NONBLOCK` left out when
/// `nonblocking` is false).
pub(crate) fn socket(
    domain: libc::c_int,
    ty: libc::c_int,
    protocol: libc::c_int,
    nonblocking: bool,
) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_CLOEXEC | if nonblocking { libc::SOCK_NONBLOCK } else { 0 };
    // SAFETY: socket(2) takes plain integers and returns a new descriptor or -1.
    let fd = unsafe { libc::socket(domain, ty | flags, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2), is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Plain-old-data option values `setsockopt` may copy from (no padding-sensitive meaning).
pub(crate) trait SockOptValue: Copy {}
impl SockOptValue for libc::c_int {}
impl SockOptValue for libc::ip_mreqn {}
impl SockOptValue for libc::ipv6_mreq {}
impl SockOptValue for libc::timeval {}

/// `setsockopt(fd, level, name, &value, sizeof value)`.
pub(crate) fn setsockopt<T: SockOptValue>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a live reference to `len` readable bytes for the whole call; the
    // kernel only reads from it.
    let rc =
        unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `setsockopt` with an `int` value.
pub(crate) fn setsockopt_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    setsockopt(fd, level, name, &value)
}

/// A socket address in the form the kernel takes.
#[derive(Clone, Copy)]
pub(crate) enum SockAddr {
    V4(libc::sockaddr_in),
    V6(libc::sockaddr_in6),
    Ll(libc::sockaddr_ll),
}

impl SockAddr {
    pub(crate) fn v4(addr: Ipv4Addr) -> SockAddr {
        SockAddr::V4(libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(addr.octets()),
            },
            sin_zero: [0; 8],
        })
    }

    pub(crate) fn v6(addr: Ipv6Addr, scope_id: u32) -> SockAddr {
        SockAddr::V6(libc::sockaddr_in6 {
            sin6_family: libc::AF_INET6 as libc::sa_family_t,
            sin6_port: 0,
            sin6_flowinfo: 0,
            sin6_addr: libc::in6_addr {
                s6_addr: addr.octets(),
            },
            sin6_scope_id: scope_id,
        })
    }

    /// The same address with UDP/TCP `port` (host order); link-layer addresses unchanged.
    pub(crate) fn with_port(self, port: u16) -> SockAddr {
        match self {
            SockAddr::V4(mut a) => {
                a.sin_port = port.to_be();
                SockAddr::V4(a)
            }
            SockAddr::V6(mut a) => {
                a.sin6_port = port.to_be();
                SockAddr::V6(a)
            }
            ll => ll,
        }
    }

    /// A link-layer address: interface, EtherType (host order), destination MAC.
    pub(crate) fn link(ifindex: u32, ethertype: u16, dst: [u8; 6]) -> SockAddr {
        let mut addr = [0u8; 8];
        addr[..6].copy_from_slice(&dst);
        SockAddr::Ll(libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as libc::c_ushort,
            sll_protocol: ethertype.to_be(),
            sll_ifindex: ifindex as libc::c_int,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 6,
            sll_addr: addr,
        })
    }

    fn ptr_len(&self) -> (*const libc::sockaddr, libc::socklen_t) {
        match self {
            SockAddr::V4(a) => (
                (a as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ),
            SockAddr::V6(a) => (
                (a as *const libc::sockaddr_in6).cast(),
                size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            ),
            SockAddr::Ll(a) => (
                (a as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            ),
        }
    }
}

/// `bind(fd, addr)`.
pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &SockAddr) -> io::Result<()> {
    let (ptr, len) = addr.ptr_len();
    // SAFETY: `ptr` points to a live sockaddr of `len` bytes borrowed from `addr`.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), ptr, len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `sendto(fd, buf, 0, addr)`; returns the bytes sent. Retries on `EINTR`.
pub(crate) fn sendto(fd: BorrowedFd<'_>, buf: &[u8], addr: &SockAddr) -> io::Result<usize> {
    let (ptr, len) = addr.ptr_len();
    loop {
        // SAFETY: `buf` is readable for `buf.len()` bytes and `ptr` points to a live sockaddr
        // of `len` bytes, both for the whole call.
        let n =
            unsafe { libc::sendto(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0, ptr, len) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// What [`recvmsg`] read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// Bytes written to the data buffer.
    pub len: usize,
    /// The datagram was longer than the buffer (`MSG_TRUNC`).
    pub truncated: bool,
    /// The control messages did not fit (`MSG_CTRUNC`).
    pub control_truncated: bool,
    /// Bytes of control messages in the control buffer.
    pub control_len: usize,
    /// The source address, when it was an IPv4 or IPv6 one.
    pub src: Option<std::net::SocketAddr>,
}

/// Control-message buffer with the alignment `cmsghdr` needs.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub(crate) struct ControlBuf(pub [u8; 256]);

impl Default for ControlBuf {
    fn default() -> Self {
        ControlBuf([0; 256])
    }
}

/// `recvmsg(fd, ...)` with one data buffer and a control buffer. `Ok(None)` on `EAGAIN`;
/// retries on `EINTR`.
pub(crate) fn recvmsg(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    control: &mut ControlBuf,
) -> io::Result<Option<Received>> {
    loop {
        // SAFETY: an all-zero sockaddr_storage is a valid value (family AF_UNSPEC).
        let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: an all-zero msghdr is valid; the fields are filled below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control.0.len() as _;
        // SAFETY: every pointer in `msg` refers to a live, writable buffer of the length given
        // beside it (`name`, `iov` -> `buf`, `control`), all outliving the call.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(None),
                _ => return Err(e),
            }
        }
        return Ok(Some(Received::new(n as usize, buf.len(), &msg, &name)));
    }
}

impl Received {
    /// What `msg` says of a datagram of `n` bytes read into a buffer of `cap` bytes (and a
    /// [`ControlBuf`]), sent from `name`.
    fn new(n: usize, cap: usize, msg: &libc::msghdr, name: &libc::sockaddr_storage) -> Received {
        // `msg_controllen` is a usize with glibc, a u32 with musl.
        #[allow(clippy::unnecessary_cast)]
        let control_len = msg.msg_controllen as usize;
        Received {
            len: n.min(cap),
            truncated: msg.msg_flags & libc::MSG_TRUNC != 0 || n > cap,
            control_truncated: msg.msg_flags & libc::MSG_CTRUNC != 0,
            control_len: control_len.min(size_of::<ControlBuf>()),
            src: sockaddr_to_std(name, msg.msg_namelen as usize),
        }
    }
}

/// How many datagrams one [`recvmmsg`] call reads at most.
pub(crate) const RECV_BATCH: usize = 32;
/// Size of each datagram buffer of a [`RecvBatch`]: the largest VRRP packet (IPv4 header with
/// options, AH, 255 IPv6 addresses) fits.
pub(crate) const RECV_BUF: usize = 4096;

/// Buffers for [`recvmmsg`]: allocated once, reused for every read.
pub(crate) struct RecvBatch {
    pub bufs: Box<[[u8; RECV_BUF]; RECV_BATCH]>,
    pub controls: Box<[ControlBuf; RECV_BATCH]>,
    names: Box<[libc::sockaddr_storage; RECV_BATCH]>,
    pub received: [Option<Received>; RECV_BATCH],
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch {
            bufs: Box::new([[0; RECV_BUF]; RECV_BATCH]),
            controls: Box::new([ControlBuf::default(); RECV_BATCH]),
            // SAFETY: an all-zero sockaddr_storage is a valid value (family AF_UNSPEC).
            names: Box::new(unsafe { std::mem::zeroed() }),
            received: [None; RECV_BATCH],
        }
    }
}

/// `recvmmsg(fd, ...)`: up to [`RECV_BATCH`] datagrams in one system call, each with its own
/// data and control buffer; `received[..n]` describes them. `Ok(0)` on `EAGAIN`; retries on
/// `EINTR`. Fewer than `RECV_BATCH` means the queue is drained (the socket is non-blocking).
pub(crate) fn recvmmsg(fd: BorrowedFd<'_>, batch: &mut RecvBatch) -> io::Result<usize> {
    // SAFETY: all-zero iovec/mmsghdr values are valid; the fields are filled below.
    let mut iovs: [libc::iovec; RECV_BATCH] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..RECV_BATCH {
        iovs[i].iov_base = batch.bufs[i].as_mut_ptr().cast();
        iovs[i].iov_len = RECV_BUF;
        let h = &mut msgs[i].msg_hdr;
        h.msg_name = (&mut batch.names[i] as *mut libc::sockaddr_storage).cast();
        h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = batch.controls[i].0.as_mut_ptr().cast();
        h.msg_controllen = batch.controls[i].0.len() as _;
    }
    let n = loop {
        // SAFETY: every header points at live, writable buffers of the lengths given beside
        // them (`names`, `iovs` -> `bufs`, `controls`), all outliving the call; `msgs` holds
        // RECV_BATCH entries.
        let n = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                RECV_BATCH as _,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(0),
                _ => return Err(e),
            }
        }
        break (n as usize).min(RECV_BATCH);
    };
    for (i, m) in msgs.iter().enumerate().take(n) {
        batch.received[i] = Some(Received::new(
            m.msg_len as usize,
            RECV_BUF,
            &m.msg_hdr,
            &batch.names[i],
        ));
    }
    Ok(n)
}

/// `setpriority(PRIO_PROCESS, 0, nice)`: this process's nice value (-20..19).
pub fn set_nice(nice: i32) -> io::Result<()> {
    // SAFETY: plain system call on this process; no pointers.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `sched_setscheduler(0, SCHED_RR, priority)`: round-robin real-time scheduling (1..99).
pub fn set_realtime(priority: i32) -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `param` is a valid sched_param that outlives the call.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &param) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `mlockall(MCL_CURRENT | MCL_FUTURE)`: keep every page of this process in memory.
pub fn lock_memory() -> io::Result<()> {
    // SAFETY: plain system call; no pointers.
    let r = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One datagram for [`sendmmsg`]: data, destination and raw control bytes (`control_len`
/// of them; 0 for none).
pub(crate) struct OutMsg<'a> {
    pub buf: &'a [u8],
    pub addr: SockAddr,
    pub control: ControlBuf,
    pub control_len: usize,
}

/// The most datagrams one [`sendmmsg`] call takes (the rest go in further calls).
pub(crate) const SEND_BATCH: usize = 64;

/// `sendmmsg(fd, msgs)`: sends up to [`SEND_BATCH`] datagrams in one system call. Returns how
/// many were sent (from the first); an error means the first one failed. Retries on `EINTR`.
pub(crate) fn sendmmsg(fd: BorrowedFd<'_>, msgs: &[OutMsg<'_>]) -> io::Result<usize> {
    let n = msgs.len().min(SEND_BATCH);
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: all-zero iovec/mmsghdr values are valid; the fields are filled below.
    let mut iovs: [libc::iovec; SEND_BATCH] = unsafe { std::mem::zeroed() };
    let mut hdrs: [libc::mmsghdr; SEND_BATCH] = unsafe { std::mem::zeroed() };
    for (i, m) in msgs[..n].iter().enumerate() {
        iovs[i].iov_base = m.buf.as_ptr() as *mut libc::c_void;
        iovs[i].iov_len = m.buf.len();
        let (name, namelen) = m.addr.ptr_len();
        let h = &mut hdrs[i].msg_hdr;
        h.msg_name = name as *mut libc::c_void;
        h.msg_namelen = namelen;
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        let clen = m.control_len.min(m.control.0.len());
        if clen > 0 {
            h.msg_control = m.control.0.as_ptr() as *mut libc::c_void;
            h.msg_controllen = clen as _;
        }
    }
    loop {
        // SAFETY: the first `n` headers point to live buffers (data, address, control, iovec)
        // borrowed from `msgs` and `iovs` for the whole call; sendmmsg(2) only reads them and
        // writes each header's msg_len.
        let r = unsafe { libc::sendmmsg(fd.as_raw_fd(), hdrs.as_mut_ptr(), n as _, 0) };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `sendmsg(fd, buf, addr, control)`: one data buffer, a destination and raw control bytes
/// (built with [`push_cmsg`]). Retries on `EINTR`.
pub(crate) fn sendmsg(
    fd: BorrowedFd<'_>,
    buf: &[u8],
    addr: &SockAddr,
    control: &ControlBuf,
    control_len: usize,
) -> io::Result<usize> {
    let (name, namelen) = addr.ptr_len();
    let control_len = control_len.min(control.0.len());
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: an all-zero msghdr is valid; the fields are filled below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = name as *mut libc::c_void;
        msg.msg_namelen = namelen;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if control_len > 0 {
            msg.msg_control = control.0.as_ptr() as *mut libc::c_void;
            msg.msg_controllen = control_len as _;
        }
        // SAFETY: all pointers refer to live buffers of the lengths given; sendmsg(2) only
        // reads from them (the casts to *mut are what the C prototype asks for).
        let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, 0) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn sockaddr_to_std(name: &libc::sockaddr_storage, len: usize) -> Option<std::net::SocketAddr> {
    match i32::from(name.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family is AF_INET and the kernel wrote at least a sockaddr_in;
            // sockaddr_storage is aligned for every sockaddr type.
            let a =
                unsafe { &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(a.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddrV4::new(ip, u16::from_be(a.sin_port)).into())
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for AF_INET6 and sockaddr_in6.
            let a =
                unsafe { &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(
                SocketAddrV6::new(
                    ip,
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                )
                .into(),
            )
        }
        _ => None,
    }
}

/// `setns(fd, CLONE_NEWNET)`: moves the calling thread into the network namespace `fd`
/// refers to.
pub(crate) fn setns_net(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: setns(2) takes a descriptor and a flag; `fd` is open for the whole call.
    let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// Control messages, decoded and encoded from bytes in safe code. Linux layout:
// struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } followed by the data,
// every header and data start aligned to sizeof(size_t).

const CMSG_ALIGN: usize = size_of::<usize>();
const CMSG_HDR_LEN: usize = size_of::<usize>() + 2 * size_of::<libc::c_int>();

fn cmsg_align(n: usize) -> usize {
    (n + CMSG_ALIGN - 1) & !(CMSG_ALIGN - 1)
}

/// Iterates over the control messages in `buf`: `(level, type, data)`. Stops at the first
/// malformed header.
pub(crate) struct ControlMessages<'a> {
    rest: &'a [u8],
}

impl<'a> ControlMessages<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        ControlMessages { rest: buf }
    }
}

impl<'a> Iterator for ControlMessages<'a> {
    type Item = (i32, i32, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < CMSG_HDR_LEN {
            return None;
        }
        let mut len_bytes = [0u8; size_of::<usize>()];
        len_bytes.copy_from_slice(&self.rest[..size_of::<usize>()]);
        let len = usize::from_ne_bytes(len_bytes);
        let at = size_of::<usize>();
        let level = i32::from_ne_bytes(self.rest[at..at + 4].try_into().ok()?);
        let ty = i32::from_ne_bytes(self.rest[at + 4..at + 8].try_into().ok()?);
        let data_start = cmsg_align(CMSG_HDR_LEN);
        if len < CMSG_HDR_LEN || len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let data = self.rest.get(data_start.min(len)..len).unwrap_or(&[]);
        let advance = cmsg_align(len).min(self.rest.len());
        self.rest = &self.rest[advance..];
        Some((level, ty, data))
    }
}

/// Appends one control message at `*at` in `buf`; returns false if it does not fit.
pub(crate) fn push_cmsg(
    buf: &mut ControlBuf,
    at: &mut usize,
    level: i32,
    ty: i32,
    data: &[u8],
) -> bool {
    let start = *at;
    let data_start = start + cmsg_align(CMSG_HDR_LEN);
    let len = cmsg_align(CMSG_HDR_LEN) + data.len();
    let end = start + cmsg_align(len);
    if end > buf.0.len() {
        return false;
    }
    let b = &mut buf.0;
    b[start..end].fill(0);
    b[start..start + size_of::<usize>()].copy_from_slice(&len.to_ne_bytes());
    let lv = start + size_of::<usize>();
    b[lv..lv + 4].copy_from_slice(&level.to_ne_bytes());
    b[lv + 4..lv + 8].copy_from_slice(&ty.to_ne_bytes());
    b[data_start..data_start + data.len()].copy_from_slice(data);
    *at = end;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmsg_round_trip_and_garbage() {
        let mut buf = ControlBuf::default();
        let mut at = 0;
        assert!(push_cmsg(&mut buf, &mut at, 41, 52, &255i32.to_ne_bytes()));
        assert!(push_cmsg(&mut buf, &mut at, 41, 50, &[1u8; 20]));
        let v: Vec<_> = ControlMessages::new(&buf.0[..at]).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], (41, 52, &255i32.to_ne_bytes()[..]));
        assert_eq!(v[1].2, &[1u8; 20]);
        // Garbage never panics.
        let mut seed = 0x1234_5678_9abc_def0u64;
        for _ in 0..5000 {
            let mut g = [0u8; 64];
            for b in g.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = (seed & 0xff) as u8;
            }
            let n = (seed % 65) as usize;
            let _ = ControlMessages::new(&g[..n]).count();
        }
        let mut full = ControlBuf::default();
        let mut at = 250;
        assert!(!push_cmsg(&mut full, &mut at, 1, 1, &[0; 16]));
    }
}
