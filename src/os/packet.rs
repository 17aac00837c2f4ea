//! AF_PACKET sockets: sending whole Ethernet frames (gratuitous ARP, unsolicited NA) on an
//! interface, and a small capture socket that reads frames of one EtherType.
//!
//! The frames come from the wire layer (`wire::arp::ArpFrame::gratuitous`,
//! `wire::ndp::NaFrame::unsolicited`); what to send, when and how often is the engine's
//! business (keepalived-features §3.7).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recv, MsgFlags};

use super::sys::{self, SockAddr};
use crate::wire::arp::{self, ArpFrame};
use crate::wire::ndp::{self, NaFrame};
use crate::wire::{MacAddr, ETHERTYPE_ARP, ETHERTYPE_IPV6};

/// `ETH_P_ALL`.
pub const ETH_P_ALL: u16 = 0x0003;

/// A send-only packet socket (protocol 0: it receives nothing), non-blocking, shared by all
/// interfaces.
pub struct PacketSocket {
    fd: OwnedFd,
    buf: [u8; 128],
}

impl PacketSocket {
    pub fn open() -> io::Result<PacketSocket> {
        let fd = sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0, true)?;
        Ok(PacketSocket { fd, buf: [0; 128] })
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Sends one complete Ethernet frame (header included) out of `ifindex`.
    pub fn send_frame(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[..6]);
        let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
        let n = sys::sendto(
            self.fd.as_fd(),
            frame,
            &SockAddr::link(ifindex, ethertype, dst),
        )
        .map_err(|e| io::Error::new(e.kind(), format!("send frame on ifindex {ifindex}: {e}")))?;
        if n != frame.len() {
            return Err(io::ErrorKind::WriteZero.into());
        }
        Ok(())
    }

    /// A gratuitous ARP request for `vip` from `mac` (the interface's or the VMAC's).
    pub fn send_garp(&mut self, ifindex: u32, mac: MacAddr, vip: Ipv4Addr) -> io::Result<()> {
        let n = ArpFrame::gratuitous(mac, vip)
            .emit(&mut self.buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e:?}")))?;
        debug_assert_eq!(n, arp::FRAME_LEN);
        let frame = self.buf;
        self.send_frame(ifindex, &frame[..n])
    }

    /// An unsolicited Neighbor Advertisement for `vip` from `mac`, Router flag as given.
    pub fn send_na(
        &mut self,
        ifindex: u32,
        mac: MacAddr,
        vip: Ipv6Addr,
        router: bool,
    ) -> io::Result<()> {
        let n = NaFrame::unsolicited(mac, vip, router)
            .emit(&mut self.buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e:?}")))?;
        debug_assert_eq!(n, ndp::FRAME_LEN);
        let frame = self.buf;
        self.send_frame(ifindex, &frame[..n])
    }
}

/// A non-blocking capture socket bound to one interface and EtherType (`ETH_P_ALL` for
/// everything); used by tests and diagnostics.
pub struct PacketCapture {
    fd: OwnedFd,
}

impl PacketCapture {
    pub fn open(ifindex: u32, ethertype: u16) -> io::Result<PacketCapture> {
        let proto = libc::c_int::from(ethertype.to_be());
        let fd = sys::socket(libc::AF_PACKET, libc::SOCK_RAW, proto, true)?;
        sys::bind(fd.as_fd(), &SockAddr::link(ifindex, ethertype, [0; 6]))?;
        Ok(PacketCapture { fd })
    }

    /// Captures ARP frames on `ifindex`.
    pub fn arp(ifindex: u32) -> io::Result<PacketCapture> {
        Self::open(ifindex, ETHERTYPE_ARP)
    }

    /// Captures IPv6 frames on `ifindex`.
    pub fn ipv6(ifindex: u32) -> io::Result<PacketCapture> {
        Self::open(ifindex, ETHERTYPE_IPV6)
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// One frame (Ethernet header included), or `None` when nothing is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match recv(self.fd.as_raw_fd(), buf, MsgFlags::empty()) {
                Ok(n) => return Ok(Some(n)),
                Err(nix::errno::Errno::EAGAIN) => return Ok(None),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The broadcast address GARPs go to, re-exported for callers' checks.
pub const BROADCAST: MacAddr = arp::BROADCAST;
