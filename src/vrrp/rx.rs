//! The receive path: envelope decode, dispatch by (interface, family, VRID), keepalived's
//! `vrrp_check_packet` in its order with one counter per reason (reference §3.2; RFC 3768
//! §7.1, RFC 5798 §7.1, RFC 9568 §7.1), then the BACKUP and MASTER handlers
//! (`vrrp_state_backup`, `vrrp_state_master_rx`; RFC 5798 §6.4.2, §6.4.3).

use std::cmp::Ordering;
use std::net::IpAddr;

use scheduler::Instant;

use crate::track::PRIORITY_OWNER;
use crate::wire::ah::{self, AhHeader, AH_HEADER_LEN};
use crate::wire::ip::{IpProtocol, Ipv4Header, VRRP_TTL};
use crate::wire::vrrp::{
    Advert, ChecksumKind, Endpoints, Family, Version, AUTH_DATA_LEN, HEADER_LEN, TYPE_ADVERTISEMENT,
};
use crate::wire::{DecodeError, Layer};

use super::instance::Instance;
use super::io::{NotifyState, Outbox, State};
use super::params::{family_number, Auth};
use super::router::{dispatch_slot, Router, Touched, NO_INSTANCE};

/// A received packet after the IP envelope is decoded.
pub(crate) struct RxPacket<'a> {
    pub family: Family,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub ah: Option<AhHeader>,
    /// IPv4: the datagram up to its Total Length (the AH ICV covers it).
    pub datagram: &'a [u8],
    /// The VRRP message (at least the 8-byte header).
    pub vrrp: &'a [u8],
}

/// What the state handlers need from a valid advert.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RxAdvert {
    pub priority: u8,
    /// The advertised interval in microseconds.
    pub adver_int_us: u64,
    pub src: IpAddr,
    pub ah_seq: Option<u32>,
}

fn need(layer: Layer, buf: &[u8], needed: usize) -> Result<(), DecodeError> {
    if buf.len() < needed {
        Err(DecodeError::Truncated {
            layer,
            needed,
            got: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Decodes the envelope: for IPv4 the header (checksum, Total Length) and AH, for IPv6
/// nothing (the kernel removed the header).
fn decode<'a>(
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    payload: &'a [u8],
) -> Result<RxPacket<'a>, DecodeError> {
    if src.is_ipv4() {
        let (ip, body) = Ipv4Header::parse(payload)?;
        let datagram = &payload[..usize::from(ip.total_len)];
        let (ah, vrrp) = match ip.protocol {
            IpProtocol::Vrrp => (None, body),
            IpProtocol::Ah => (Some(AhHeader::parse(body)?), &body[AH_HEADER_LEN..]),
            got => return Err(DecodeError::UnexpectedProtocol { got }),
        };
        need(Layer::Vrrp, vrrp, HEADER_LEN)?;
        Ok(RxPacket {
            family: Family::Ipv4,
            src: IpAddr::V4(ip.src),
            dst: IpAddr::V4(ip.dst),
            ttl: ip.ttl,
            ah,
            datagram,
            vrrp,
        })
    } else {
        need(Layer::Vrrp, payload, HEADER_LEN)?;
        Ok(RxPacket {
            family: Family::Ipv6,
            src,
            dst,
            ttl,
            ah: None,
            datagram: payload,
            vrrp: payload,
        })
    }
}

/// Logs a receive error, rate-limited per instance.
macro_rules! rxlog {
    ($inst:expr, $now:expr, $fmt:literal $(, $arg:expr)* $(,)?) => {
        if $inst.may_log($now) {
            log::info!(target: "vrrp", concat!("({}) ", $fmt), $inst.cfg.name $(, $arg)*);
        }
    };
}

/// Constant-time equality of the 8-byte PASS field (keepalived `memcmp_constant_time`).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// keepalived's `vrrp_check_packet`, in its order. `Err(())` means the advert is ignored
/// (the reason is counted and logged).
pub(crate) fn check_packet(
    inst: &mut Instance,
    pkt: &RxPacket<'_>,
    check_vip_addr: bool,
    now: Instant,
) -> Result<RxAdvert, ()> {
    let v = pkt.vrrp;
    let unicast = inst.cfg.is_unicast();
    let version = inst.cfg.version;

    // 1. AH present iff configured (IPv4).
    let want_ah = matches!(inst.cfg.auth, Auth::Ah(_));
    if pkt.family == Family::Ipv4 && pkt.ah.is_some() != want_ah {
        if pkt.ah.is_some() {
            rxlog!(inst, now, "Received AH header but auth type not AH");
        } else {
            rxlog!(inst, now, "No AH header but auth type is AH");
        }
        inst.stats.authtype_mismatch += 1;
        return Err(());
    }

    // 2. RFC 9568 §7.1 "MUST verify that the received packet contains the complete VRRP
    // packet"; the length follows from Count. Padding after it is tolerated.
    let count = usize::from(v[3]);
    let auth_len = if version == Version::V2 {
        AUTH_DATA_LEN
    } else {
        0
    };
    let msg_len = HEADER_LEN + count * pkt.family.addr_len() + auth_len;
    if v.len() < msg_len {
        rxlog!(
            inst,
            now,
            "vrrp packet too short, length {} and expect {}",
            v.len(),
            msg_len
        );
        inst.stats.packet_len_err += 1;
        return Err(());
    }

    // 3. RFC 5798 §5.1.1.3 / §7.1: TTL / Hop Limit 255 (unicast: the peer's bounds, below).
    if !unicast && pkt.ttl != VRRP_TTL {
        rxlog!(
            inst,
            now,
            "invalid TTL/HL. Received {} and expect {}",
            pkt.ttl,
            VRRP_TTL
        );
        inst.stats.ip_ttl_err += 1;
        return Err(());
    }

    // 4. Version.
    let got_version = v[0] >> 4;
    if got_version != version.number() {
        rxlog!(
            inst,
            now,
            "wrong version. Received {} and expect {}",
            got_version,
            version.number()
        );
        inst.stats.version_err += 1;
        return Err(());
    }

    // 6. VRRPv2 authentication and interval (RFC 3768 §7.1, RFC 2338 §5.3.6).
    let mut ah_seq = None;
    if version == Version::V2 {
        let auth_type = v[4];
        if auth_type > 2 {
            rxlog!(inst, now, "Invalid auth type: {}", auth_type);
            inst.stats.invalid_authtype += 1;
            return Err(());
        }
        let want = inst.cfg.auth.type_number();
        if auth_type != want {
            rxlog!(
                inst,
                now,
                "received a {} auth, expecting {}!",
                auth_type,
                want
            );
            inst.stats.authtype_mismatch += 1;
            return Err(());
        }
        match &inst.cfg.auth {
            Auth::None => {}
            Auth::Pass(pw) => {
                let at = msg_len - AUTH_DATA_LEN;
                if !ct_eq(&v[at..msg_len], pw) {
                    rxlog!(inst, now, "received an invalid passwd!");
                    inst.stats.auth_failure += 1;
                    return Err(());
                }
            }
            Auth::Ah(key) => {
                let Some(hdr) = pkt.ah else {
                    // AH is IPv4 only: an IPv6 instance configured with it hears nothing.
                    inst.stats.authtype_mismatch += 1;
                    return Err(());
                };
                if hdr.next_header != IpProtocol::Vrrp {
                    // An AH header for some other protocol: not ours.
                    inst.stats.ah_next_header += 1;
                    return Err(());
                }
                if ah::verify_icv(pkt.datagram, key, unicast) != Ok(true) {
                    rxlog!(
                        inst,
                        now,
                        "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields \
                         mutation or bad password !"
                    );
                    inst.stats.auth_failure += 1;
                    return Err(());
                }
                let IpAddr::V4(src4) = pkt.src else {
                    inst.stats.malformed += 1;
                    return Err(());
                };
                if !hdr.spi_matches(src4) {
                    rxlog!(
                        inst,
                        now,
                        "IPSEC AH : invalid IPSEC SPI value. {} and expect {}",
                        hdr.spi,
                        u32::from(src4)
                    );
                    inst.stats.auth_failure += 1;
                    return Err(());
                }
                // Anti-replay: keepalived shares one counter for sending and receiving.
                if hdr.sequence_number > inst.ah_seq {
                    inst.ah_seq = hdr.sequence_number;
                } else {
                    rxlog!(
                        inst,
                        now,
                        "IPSEC-AH : sequence number {} already processed. Packet \
                         dropped. Local({})",
                        hdr.sequence_number,
                        inst.ah_seq
                    );
                    inst.stats.auth_failure += 1;
                    return Err(());
                }
                ah_seq = Some(hdr.sequence_number);
            }
        }
        // RFC 3768 §7.1: "MUST verify that the Adver Interval in the packet is the same as
        // the locally configured for this virtual router" (prevents two masters).
        let rx_s = u64::from(v[5]);
        if rx_s * 1_000_000 != inst.cfg.adver_int_us {
            rxlog!(
                inst,
                now,
                "advertisement interval mismatch mine={} sec rcv'd={} sec",
                inst.cfg.adver_int_us / 1_000_000,
                rx_s
            );
            inst.stats.advert_interval_err += 1;
            return Err(());
        }
    }

    // 7. Type (RFC 9568 §5.2.2: unknown types MUST be discarded).
    let vrrp_type = v[0] & 0x0f;
    if vrrp_type != TYPE_ADVERTISEMENT {
        rxlog!(
            inst,
            now,
            "Invalid packet type. {} and expect {}",
            vrrp_type,
            TYPE_ADVERTISEMENT
        );
        inst.stats.invalid_type_rcvd += 1;
        return Err(());
    }

    // 9. Checksum, and the v3 zero count / zero interval errata, through the L0 decoder.
    let endpoints = match (pkt.src, pkt.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Endpoints::V4 { src: s, dst: d },
        (IpAddr::V6(s), IpAddr::V6(d)) => Endpoints::V6 { src: s, dst: d },
        _ => {
            inst.stats.malformed += 1;
            return Err(());
        }
    };
    let adv = match Advert::parse(v, endpoints, Some(version)) {
        Ok(a) => a,
        Err(DecodeError::BadChecksum { .. }) => {
            rxlog!(inst, now, "Invalid VRRPv{} checksum", version.number());
            inst.stats.checksum_err += 1;
            return Err(());
        }
        Err(DecodeError::ZeroCount) => {
            inst.stats.zero_count += 1;
            return Err(());
        }
        Err(DecodeError::ZeroAdverInt) => {
            inst.stats.zero_adver_int += 1;
            return Err(());
        }
        Err(e) => {
            rxlog!(inst, now, "malformed advert: {}", e);
            inst.stats.malformed += 1;
            return Err(());
        }
    };
    if adv.checksum_kind == ChecksumKind::OldUnicast {
        match inst.cfg.old_unicast_checksum {
            Some(false) => {
                rxlog!(inst, now, "Invalid VRRPv{} checksum", version.number());
                inst.stats.checksum_err += 1;
                return Err(());
            }
            None if !inst.tx_old_unicast => {
                log::info!(
                    target: "vrrp",
                    "({}) Setting unicast VRRPv3 checksum to old version",
                    inst.cfg.name
                );
                inst.tx_old_unicast = true;
            }
            _ => {}
        }
    }

    // 10. Multicast destination on a unicast instance, or the reverse.
    if pkt.dst.is_multicast() == unicast {
        let (want, got) = if unicast {
            ("un", "mult")
        } else {
            ("mult", "un")
        };
        rxlog!(
            inst,
            now,
            "Expected {}icast packet but received {}icast packet",
            want,
            got
        );
        inst.stats.addr_list_err += 1;
        inst.stats.mcast_unicast_mismatch += 1;
        return Err(());
    }
    // RFC 3768/5798 §7.1 "the local router is not the IPvX Address owner".
    if inst.cfg.owner_ignore_adverts && inst.base_priority == PRIORITY_OWNER {
        inst.stats.owner_ignored += 1;
        return Err(());
    }

    inst.stats.advert_rcvd += 1;
    match adv.checksum_kind {
        ChecksumKind::PseudoHeader => inst.stats.checksum_pseudo_header += 1,
        ChecksumKind::V2Style => inst.stats.checksum_v2_style += 1,
        ChecksumKind::OldUnicast => inst.stats.checksum_old_unicast += 1,
    }
    if !adv.trailing.is_empty() {
        inst.stats.trailing_bytes += 1;
    }

    // 11. The address list "MAY" be verified: logged and counted, not dropped.
    if check_vip_addr {
        let mut bad = false;
        let (n_vips, missing) = {
            let vips = match &inst.rx_vips {
                Some((a, n)) => &a[..usize::from(*n)],
                None => &inst.advert_addrs[..],
            };
            let missing = vips.iter().copied().find(|a| !adv.addresses.contains(*a));
            (vips.len(), missing)
        };
        if count != n_vips {
            rxlog!(
                inst,
                now,
                "received an unexpected ip number count {}, expected {}!",
                count,
                inst.cfg.vips.len()
            );
            inst.stats.addr_count_mismatch += 1;
            bad = true;
        }
        if let Some(missing) = missing {
            rxlog!(
                inst,
                now,
                "ip address associated with VRID {} not present in MASTER advert : {}",
                inst.cfg.vrid,
                missing
            );
            inst.stats.vip_missing += 1;
            bad = true;
        }
        if bad {
            inst.stats.addr_list_err += 1;
        }
    }
    if unicast {
        let peer = inst.cfg.unicast_peers.iter().find(|p| p.addr == pkt.src);
        let bounded = inst
            .cfg
            .unicast_peers
            .iter()
            .any(|p| p.min_ttl.is_some() || p.max_ttl.is_some());
        match peer {
            None if inst.cfg.check_unicast_src || bounded => {
                rxlog!(
                    inst,
                    now,
                    "unicast source address {} not a unicast peer",
                    pkt.src
                );
                inst.stats.unicast_src_err += 1;
                return Err(());
            }
            Some(p)
                if p.min_ttl.is_some_and(|m| pkt.ttl < m)
                    || p.max_ttl.is_some_and(|m| pkt.ttl > m) =>
            {
                log::debug!(
                    target: "vrrp",
                    "({}) TTL {} from {} outside the peer's range - dropping",
                    inst.cfg.name,
                    pkt.ttl,
                    pkt.src
                );
                inst.stats.peer_ttl_err += 1;
                return Err(());
            }
            _ => {}
        }
    }
    if adv.priority == 0 {
        inst.stats.pri_zero_rcvd += 1;
    }
    Ok(RxAdvert {
        priority: adv.priority,
        adver_int_us: u64::from(adv.adver_int.as_centiseconds()) * 10_000,
        src: pkt.src,
        ah_seq,
    })
}

impl Router {
    /// Returns which timers the packet can have moved (for the timer cache).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_packet(
        &mut self,
        now: Instant,
        ifindex: u32,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: &[u8],
        out: &mut Outbox,
    ) -> Touched {
        if !self.started {
            self.counters.startup_delay += 1;
            return Touched::Nothing;
        }
        let pkt = match decode(src, dst, ttl, payload) {
            Ok(p) => p,
            Err(e) => {
                self.counters.count_decode(&e);
                log::trace!(target: "vrrp", "undecodable packet on ifindex {ifindex}: {e}");
                return Touched::Nothing;
            }
        };
        let vrid = pkt.vrrp[1];
        let Some(i) = self.lookup(ifindex, pkt.family, vrid, pkt.dst) else {
            return Touched::Nothing;
        };
        let inst = &self.instances[i];
        if !matches!(inst.state, State::Backup | State::Master) {
            // keepalived ignores adverts in FAULT and INIT.
            self.instances[i].stats.ignored_in_state += 1;
            return Touched::Nothing;
        }
        let check_vip_addr = inst.state == State::Master
            || !inst.cfg.skip_check_adv_addr
            || inst.master_addr != Some(pkt.src);
        let Ok(adv) = check_packet(&mut self.instances[i], &pkt, check_vip_addr, now) else {
            return Touched::Nothing;
        };
        let prev = self.instances[i].state;
        let before = self.instance_deadline(i);
        let actions = out.actions.len();
        match prev {
            State::Backup => self.rx_backup(i, &adv, now, out),
            State::Master if self.rx_master(i, &adv, now, out) => {
                self.leave_master(i, State::Backup, false, now, out);
            }
            _ => {}
        }
        self.tsm(prev, i, now, out);
        // Without a state change, a sync group or an action (an advert sent, GARPs, a
        // notification), the handlers above touched instance `i` only.
        let inst = &self.instances[i];
        if inst.state == prev && inst.cfg.sync_group.is_none() && out.actions.len() == actions {
            Touched::One(i, before)
        } else {
            Touched::Any
        }
    }

    /// Finds the instance for (interface, family, VRID); counts the miss.
    fn lookup(&mut self, ifindex: u32, family: Family, vrid: u8, dst: IpAddr) -> Option<usize> {
        let fam = family_number(family);
        // `dispatch` for (ifindex, fam, vrid), else for (0, fam, vrid), as flat tables
        // (see `rebuild_dispatch`).
        let slot = dispatch_slot(fam, vrid);
        let kind = usize::from(!dst.is_multicast());
        let find = |ifx: u32| {
            self.fast_dispatch
                .iter()
                .find(|(x, _)| *x == ifx)
                .map(|(_, t)| t[slot][kind])
                .filter(|&i| i != NO_INSTANCE)
        };
        if let Some(i) = find(ifindex).or_else(|| find(0)) {
            return Some(i as usize);
        }
        if self.vrids.contains(&(fam, vrid)) {
            self.counters.wrong_interface += 1;
        } else {
            self.counters.unknown_vrid += 1;
            if self.global.log_unknown_vrids {
                let ifname = self
                    .ifaces
                    .get(&ifindex)
                    .map_or_else(|| ifindex.to_string(), |i| i.name.clone());
                log::info!(
                    target: "vrrp",
                    "Unknown VRID({vrid}) received on interface({ifname}). ignoring..."
                );
            }
        }
        None
    }

    /// keepalived's `vrrp_state_backup` (RFC 5798 §6.4.2).
    fn rx_backup(&mut self, i: usize, adv: &RxAdvert, now: Instant, out: &mut Outbox) {
        let _ = out;
        let inst = &mut self.instances[i];
        let name = &inst.cfg.name;
        if adv.priority == 0 {
            // RFC 5798 §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the
            // Master_Down_Timer to Skew_Time".
            log::info!(target: "vrrp", "({name}) Backup received priority 0 advertisement");
            inst.ms_down_timer_us = inst.skew_us();
            inst.sands = Some(now.saturating_add_micros(inst.ms_down_timer_us));
            return;
        }
        let delaying = inst.cfg.preempt_delay_us > 0 && inst.preempt_time.map_or(true, |t| t > now);
        if inst.cfg.nopreempt || adv.priority >= inst.effective_priority || delaying {
            // RFC 9568 §6.4.2: adopt the master's interval and recompute Skew_Time and
            // Master_Down_Interval (VRRPv3 only; v2 intervals must match).
            if inst.cfg.version == Version::V3 && inst.master_adver_int_us != adv.adver_int_us {
                log::info!(
                    target: "vrrp",
                    "({name}) advertisement interval updated to {} milli-sec from {} milli-sec",
                    adv.adver_int_us / 1000,
                    inst.master_adver_int_us / 1000
                );
                inst.master_adver_int_us = adv.adver_int_us;
            }
            inst.ms_down_timer_us = inst.master_down_us();
            inst.master_addr = Some(adv.src);
            inst.master_priority = adv.priority;
            if inst.cfg.preempt_delay_us > 0 {
                if adv.priority >= inst.effective_priority {
                    if inst.preempt_time.take().is_some() {
                        log::debug!(target: "vrrp", "({name}) stop preempt delay");
                    }
                } else if inst.preempt_time.is_none() {
                    let d = inst.cfg.preempt_delay_us;
                    log::debug!(
                        target: "vrrp",
                        "({name}) start preempt delay ({}.{:06})",
                        d / 1_000_000,
                        d % 1_000_000
                    );
                    inst.preempt_time = Some(now.saturating_add_micros(d));
                }
            }
            // Held in BACKUP by a sync group, we wanted MASTER; now there is a master.
            inst.wantstate = State::Backup;
            inst.sands = Some(now.saturating_add_micros(inst.ms_down_timer_us));
        } else {
            // Preemption (RFC 5798 §6.4.2 "Preempt_Mode is True and the priority is less"):
            // ignore it, so our Master_Down_Timer fires.
            log::debug!(
                target: "vrrp",
                "({name}) received lower priority ({}) advert from {} - discarding",
                adv.priority,
                adv.src
            );
            inst.master_addr = Some(adv.src);
            inst.stats.lower_prio_ignored += 1;
        }
    }

    /// keepalived's `vrrp_state_master_rx` (RFC 5798 §6.4.3). Returns true to leave MASTER.
    fn rx_master(&mut self, i: usize, adv: &RxAdvert, now: Instant, out: &mut Outbox) -> bool {
        let own = self.src_addr(i);
        // keepalived's vrrp_saddr_cmp: the remote address against ours.
        let addr_cmp = match (own, adv.src) {
            (Some(IpAddr::V4(a)), IpAddr::V4(b)) => b.cmp(&a),
            (Some(IpAddr::V6(a)), IpAddr::V6(b)) => b.cmp(&a),
            _ => Ordering::Equal,
        };
        let eff = self.instances[i].effective_priority;
        let higher = adv.priority > eff || (adv.priority == eff && addr_cmp == Ordering::Greater);
        if adv.priority == 0 || (self.instances[i].cfg.higher_prio_send_advert && higher) {
            self.send_advert(i, eff, now, out);
            if adv.priority == 0 {
                // RFC 5798 §6.4.3: "Send an ADVERTISEMENT; Reset the Adver_Timer".
                log::debug!(
                    target: "vrrp",
                    "({}) Master received priority 0 message",
                    self.instances[i].cfg.name
                );
                self.instances[i].init_sands(now);
                return false;
            }
        }
        if adv.priority == eff {
            if addr_cmp == Ordering::Equal {
                log::info!(
                    target: "vrrp",
                    "({}) WARNING - equal priority advert received from remote host with our \
                     IP address.",
                    self.instances[i].cfg.name
                );
            } else if eff == PRIORITY_OWNER && addr_cmp == Ordering::Greater {
                // Two owners: the one with the lower address gives way.
                log::info!(
                    target: "vrrp",
                    "({}) CONFIGURATION ERROR: local instance and a remote instance are both \
                     configured as address owner, please fix - reducing local priority",
                    self.instances[i].cfg.name
                );
                let inst = &mut self.instances[i];
                inst.effective_priority = PRIORITY_OWNER - 1;
                inst.base_priority = PRIORITY_OWNER - 1;
                inst.total_priority -= 1;
            }
        }
        let eff = self.instances[i].effective_priority;
        if adv.priority < eff || (adv.priority == eff && addr_cmp == Ordering::Less) {
            self.master_rx_lower(i, adv, now, out);
            return false;
        }
        if adv.priority > eff || (adv.priority == eff && addr_cmp == Ordering::Greater) {
            if adv.priority > eff {
                log::info!(
                    target: "vrrp",
                    "({}) Master received advert from {} with higher priority {}, ours {}",
                    self.instances[i].cfg.name,
                    adv.src,
                    adv.priority,
                    eff
                );
            } else {
                log::info!(
                    target: "vrrp",
                    "({}) Master received advert from {} with same priority {} but higher IP \
                     address than ours",
                    self.instances[i].cfg.name,
                    adv.src,
                    adv.priority
                );
            }
            let inst = &mut self.instances[i];
            if inst.cfg.version == Version::V3 && inst.master_adver_int_us != adv.adver_int_us {
                log::info!(
                    target: "vrrp",
                    "({}) advertisement interval updated from {} to {} milli-sec from higher \
                     priority master",
                    inst.cfg.name,
                    inst.master_adver_int_us / 1000,
                    adv.adver_int_us / 1000
                );
                inst.master_adver_int_us = adv.adver_int_us;
            }
            inst.ms_down_timer_us = inst.master_down_us();
            inst.master_priority = adv.priority;
            inst.master_addr = Some(adv.src);
            inst.wantstate = State::Backup;
            return true;
        }
        false
    }

    /// A master hears a lower-priority advert: stay, re-advertise (unless
    /// `lower_prio_no_advert`), re-announce with GARPs, notify MASTER_RX_LOWER_PRI.
    fn master_rx_lower(&mut self, i: usize, adv: &RxAdvert, now: Instant, out: &mut Outbox) {
        let inst = &mut self.instances[i];
        let eff = inst.effective_priority;
        log::info!(
            target: "vrrp",
            "({}) Received advert from {} with lower priority {}, ours {}{}",
            inst.cfg.name,
            adv.src,
            adv.priority,
            eff,
            if inst.cfg.lower_prio_no_advert {
                ""
            } else {
                ", forcing new election"
            }
        );
        if let Some(seq) = adv.ah_seq {
            log::info!(
                target: "vrrp",
                "({}) IPSEC-AH : Syncing seq_num - Increment seq",
                inst.cfg.name
            );
            inst.ah_seq = seq.saturating_add(1);
        }
        if !inst.cfg.lower_prio_no_advert {
            self.send_advert(i, eff, now, out);
            self.instances[i].init_sands(now);
        }
        let mut bursts = vec![i];
        if let Some(g) = self.instances[i].cfg.sync_group {
            bursts.extend(
                self.groups[g]
                    .cfg
                    .members
                    .iter()
                    .copied()
                    .filter(|&m| m != i),
            );
        }
        for m in bursts {
            let garp = self.instances[m].cfg.garp.clone();
            if garp.lower_prio_repeat == 0 {
                continue;
            }
            self.link_update(m, garp.lower_prio_repeat, now, out);
            if garp.lower_prio_delay_us > 0 {
                self.instances[m].garp.lower_prio_at =
                    Some(now.saturating_add_micros(garp.lower_prio_delay_us));
            }
        }
        self.notify_event(i, NotifyState::MasterRxLowerPri, out);
    }
}
