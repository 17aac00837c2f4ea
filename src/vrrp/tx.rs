//! The transmit path: adverts built straight into the [`Outbox`] (keepalived's
//! `vrrp_send_adv`, RFC 5798 §5, §6.4.3), and gratuitous ARP / unsolicited NA bursts paced
//! per interface (keepalived's `vrrp_send_link_update`, `vrrp_arp_thread`; reference §3.7).

use std::net::IpAddr;

use scheduler::Instant;

use crate::wire::ip::{IPV4_HEADER_LEN, VRRP_TTL};
use crate::wire::vrrp::{
    emit_ipv4_datagram, AdvertRepr, AhParams, AuthType, ChecksumKind, Endpoints, Family,
    Ipv4Envelope, Version, AUTH_DATA_LEN,
};

use super::instance::Instance;
use super::io::{Action, Outbox, State};
use super::params::Auth;
use super::router::{Pacer, PacerKey, Router};

/// Where one advert packet goes.
struct Dest {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    ifindex: u32,
    ip_id: u16,
}

/// Writes one advert at the end of `out.bytes` and records the action.
fn emit_one(inst: &Instance, idx: usize, repr: &AdvertRepr<'_>, d: Dest, out: &mut Outbox) -> bool {
    let Dest {
        src,
        dst,
        ttl,
        ifindex,
        ip_id,
    } = d;
    let start = out.bytes.len();
    let ah_len = if matches!(inst.cfg.auth, Auth::Ah(_)) {
        crate::wire::ah::AH_HEADER_LEN
    } else {
        0
    };
    let room = IPV4_HEADER_LEN + ah_len + repr.buffer_len(inst.cfg.family);
    out.bytes.resize(start + room, 0);
    let buf = &mut out.bytes[start..];
    let res = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let checksum = if inst.cfg.version == Version::V2 || inst.cfg.v3_checksum_as_v2 {
                ChecksumKind::V2Style
            } else if inst.cfg.is_unicast() && inst.tx_old_unicast {
                ChecksumKind::OldUnicast
            } else {
                ChecksumKind::PseudoHeader
            };
            let envelope = Ipv4Envelope {
                src: s,
                dst: d,
                ttl,
                identification: ip_id,
            };
            let ah = match &inst.cfg.auth {
                Auth::Ah(key) => Some(AhParams {
                    key,
                    sequence_number: inst.ah_seq,
                    zero_ttl: inst.cfg.is_unicast(),
                }),
                _ => None,
            };
            emit_ipv4_datagram(buf, &envelope, repr, checksum, ah)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => repr.emit(
            buf,
            Endpoints::V6 { src: s, dst: d },
            ChecksumKind::PseudoHeader,
        ),
        _ => Err(crate::wire::EmitError::FamilyMismatch),
    };
    match res {
        Ok(n) => {
            out.bytes.truncate(start + n);
            out.actions.push(Action::SendAdvert {
                instance: idx as u32,
                ifindex,
                family: inst.cfg.family,
                src,
                dst,
                ttl,
                range: start..start + n,
            });
            true
        }
        Err(e) => {
            out.bytes.truncate(start);
            log::warn!(target: "vrrp", "({}) cannot build advert: {e}", inst.cfg.name);
            false
        }
    }
}

impl Router {
    /// keepalived's `vrrp_send_adv`: one advert (one packet per unicast peer) with
    /// `priority`. IPv4 identification and the AH sequence number advance once per advert.
    pub(crate) fn send_advert(&mut self, i: usize, priority: u8, now: Instant, out: &mut Outbox) {
        let _ = now;
        let src = self.src_addr(i);
        let ifindex = self.instance_ifindex(i);
        let inst = &mut self.instances[i];
        let (Some(src), Some(ifindex)) = (src, ifindex) else {
            inst.stats.tx_no_source += 1;
            log::debug!(target: "vrrp", "({}) no source address - advert not sent", inst.cfg.name);
            return;
        };
        if inst.cfg.family == Family::Ipv4 {
            // "kernel will fill in ID if left to 0, so we overflow to 1"
            inst.ip_id = inst.ip_id.wrapping_add(1);
            if inst.ip_id == 0 {
                inst.ip_id = 1;
            }
            if matches!(inst.cfg.auth, Auth::Ah(_)) && inst.ah_seq < 0xFFFF_FFFD {
                inst.ah_seq += 1;
            }
        }
        let inst = &self.instances[i];
        let (auth_type, auth_data) = match &inst.cfg.auth {
            Auth::None => (AuthType::None, [0; AUTH_DATA_LEN]),
            Auth::Pass(pw) => (AuthType::SimplePassword, *pw),
            Auth::Ah(_) => (AuthType::IpAuthenticationHeader, [0; AUTH_DATA_LEN]),
        };
        let repr = AdvertRepr {
            version: inst.cfg.version,
            vrid: inst.cfg.vrid,
            priority,
            adver_int: inst.cfg.adver_int_field(),
            auth_type,
            auth_data,
            addresses: &inst.advert_addrs,
        };
        let unicast_ttl = inst.cfg.unicast_ttl.unwrap_or(VRRP_TTL);
        let ip_id = inst.ip_id;
        let mut sent = false;
        if inst.cfg.is_unicast() {
            for p in &inst.cfg.unicast_peers {
                let d = Dest {
                    src,
                    dst: p.addr,
                    ttl: unicast_ttl,
                    ifindex,
                    ip_id,
                };
                sent |= emit_one(inst, i, &repr, d, out);
            }
        } else {
            let d = Dest {
                src,
                dst: inst.cfg.mcast_dst,
                ttl: VRRP_TTL,
                ifindex,
                ip_id,
            };
            sent = emit_one(inst, i, &repr, d, out);
        }
        if sent {
            self.instances[i].stats.advert_sent += 1;
        }
    }

    /// keepalived's `vrrp_send_link_update`: `rep` GARPs (IPv4) or NAs (IPv6) for every VIP
    /// and eVIP, only while the VIPs are set.
    pub(crate) fn link_update(&mut self, i: usize, rep: u32, now: Instant, out: &mut Outbox) {
        if !self.instances[i].vip_set {
            return;
        }
        let n = self.instances[i].cfg.vips.len() + self.instances[i].cfg.evips.len();
        for j in 0..rep {
            for k in 0..n {
                self.send_update(i, k, j == 0, now, out);
            }
        }
    }

    fn vip_at(&self, i: usize, k: usize) -> &super::params::VipSpec {
        let cfg = &self.instances[i].cfg;
        if k < cfg.vips.len() {
            &cfg.vips[k]
        } else {
            &cfg.evips[k - cfg.vips.len()]
        }
    }

    fn pacer_key(&self, ifindex: u32) -> PacerKey {
        let name = self.ifaces.get(&ifindex).map(|i| i.name.as_str());
        match name.and_then(|n| {
            self.global
                .garp_groups
                .iter()
                .position(|g| g.interfaces.iter().any(|x| x == n))
        }) {
            Some(g) => PacerKey::Group(g),
            None => PacerKey::If(ifindex),
        }
    }

    fn pacer(&mut self, key: PacerKey) -> &mut Pacer {
        let (garp, gna) = match key {
            PacerKey::Group(g) => {
                let gg = &self.global.garp_groups[g];
                (gg.garp_interval_us, gg.gna_interval_us)
            }
            PacerKey::If(_) => (self.global.garp_interval_us, self.global.gna_interval_us),
        };
        self.pacers.entry(key).or_insert(Pacer {
            garp_interval_us: garp,
            gna_interval_us: gna,
            next_garp: Instant::ZERO,
            next_gna: Instant::ZERO,
        })
    }

    /// Sends the GARP/NA for address `k` of instance `i` now if the interface's pacing
    /// allows it, else marks it pending (keepalived collapses repeats of a pending address).
    fn send_update(&mut self, i: usize, k: usize, log_it: bool, now: Instant, out: &mut Outbox) {
        let vip = self.vip_at(i, k);
        let (addr, dev) = (vip.addr, vip.dev.clone());
        let Some(ifindex) = self.ifindex_of(&dev) else {
            return;
        };
        if log_it {
            log::debug!(
                target: "vrrp",
                "({}) Sending/queueing {} on {} for {}",
                self.instances[i].cfg.name,
                if addr.is_ipv4() {
                    "gratuitous ARPs"
                } else {
                    "Unsolicited Neighbour Adverts"
                },
                dev,
                addr
            );
        }
        if !self.try_send_one(ifindex, addr, &dev, now, out) {
            let g = &mut self.instances[i].garp;
            g.pending[k] = true;
            g.any_pending = true;
        }
    }

    /// Emits one GARP/NA if the pacer allows; returns false when it must wait.
    fn try_send_one(
        &mut self,
        ifindex: u32,
        addr: IpAddr,
        dev: &str,
        now: Instant,
        out: &mut Outbox,
    ) -> bool {
        let key = self.pacer_key(ifindex);
        let p = self.pacer(key);
        match addr {
            IpAddr::V4(v4) => {
                if p.garp_interval_us > 0 && now < p.next_garp {
                    return false;
                }
                p.next_garp = now.saturating_add_micros(p.garp_interval_us);
                log::debug!(target: "vrrp", "Sending gratuitous ARP on {dev} for {v4}");
                out.actions.push(Action::SendGarp { ifindex, vip: v4 });
            }
            IpAddr::V6(v6) => {
                if p.gna_interval_us > 0 && now < p.next_gna {
                    return false;
                }
                p.next_gna = now.saturating_add_micros(p.gna_interval_us);
                log::debug!(target: "vrrp", "Sending unsolicited Neighbour Advert on {dev} for {v6}");
                out.actions.push(Action::SendNa { ifindex, vip: v6 });
            }
        }
        true
    }

    /// When the earliest pending GARP/NA may go out.
    pub(crate) fn garp_wakeup(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        for (i, inst) in self.instances.iter().enumerate() {
            if !inst.garp.any_pending {
                continue;
            }
            for (k, &p) in inst.garp.pending.iter().enumerate() {
                if !p {
                    continue;
                }
                let vip = self.vip_at(i, k);
                let Some(ifx) = self.ifindex_of(&vip.dev) else {
                    continue;
                };
                let at = match self.pacers.get(&self.pacer_key(ifx)) {
                    Some(p) if vip.addr.is_ipv4() => p.next_garp,
                    Some(p) => p.next_gna,
                    None => Instant::ZERO,
                };
                t = Some(t.map_or(at, |x: Instant| x.min(at)));
            }
        }
        t
    }

    /// keepalived's `vrrp_arp_thread`: send what the pacing now allows, instance by
    /// instance, address by address.
    pub(crate) fn send_pending_garps(&mut self, now: Instant, out: &mut Outbox) {
        for i in 0..self.instances.len() {
            if !self.instances[i].garp.any_pending {
                continue;
            }
            self.instances[i].garp.any_pending = false;
            let active = self.instances[i].state == State::Master && self.instances[i].vip_set;
            let n = self.instances[i].garp.pending.len();
            for k in 0..n {
                if !self.instances[i].garp.pending[k] {
                    continue;
                }
                if !active {
                    self.instances[i].garp.pending[k] = false;
                    continue;
                }
                let vip = self.vip_at(i, k);
                let (addr, dev) = (vip.addr, vip.dev.clone());
                let Some(ifx) = self.ifindex_of(&dev) else {
                    self.instances[i].garp.pending[k] = false;
                    continue;
                };
                if self.try_send_one(ifx, addr, &dev, now, out) {
                    self.instances[i].garp.pending[k] = false;
                } else {
                    self.instances[i].garp.any_pending = true;
                }
            }
        }
    }
}
