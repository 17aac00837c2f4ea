//! L1 BFD engine (sans-IO): RFC 5880 asynchronous mode over RFC 5881 single hop (UDP 3784)
//! and RFC 5883 multihop (UDP 4784), IPv4 and IPv6, with keepalived's behaviour
//! (reference §6) where it has one.
//!
//! [`BfdSet`] holds every session of the daemon. It never reads a clock, opens a socket or
//! iterates a hash map (DESIGN.md §1): [`BfdSet::handle`] takes an owned [`Input`] and the
//! current [`scheduler::Instant`], [`BfdSet::handle_timeout`] runs the timers that are due,
//! [`BfdSet::poll_timeout`] says when to call it next, and everything to do comes out as
//! [`Action`]s in the caller's reused outbox. Each session keeps its two timers (transmit and
//! detect); the set indexes their earliest deadline in a `BTreeSet<(Instant, index)>`, so
//! `poll_timeout` is O(log n). Arithmetic is integer microseconds.
//!
//! | module | what | RFC |
//! |---|---|---|
//! | this | lookup, packet, TTL and auth checks, reload, shutdown | 5880 §6.3, §6.7, §6.8.6; 5881 §5; 5883 §5 |
//! | `session` | state variables, state machine, timers, Poll/Final | 5880 §6.2, §6.5, §6.8.1-6.8.7 |
//! | `stats` | drop counters per reason, totals | |
//! | `rng` | seeded xoshiro256** for discriminators, ports and jitter | 5880 §6.8.1, §6.8.7; 5881 §4 |
//!
//! Deliberate choices (and differences from keepalived 2.2.7):
//! * Jitter follows RFC 5880 §6.8.7 exactly: 0-25 % reduction, 10-25 % when our Detect Mult is
//!   1 (keepalived always reduces by 10-25 %: its `if (bfd->local_detect_mult)` is always true).
//! * Authentication (all five RFC 5880 types) is supported when configured through
//!   [`BfdSet::set_auth`]; keepalived has none and drops every packet with the A bit, which
//!   is what a session without auth does here too.
//! * A packet found by Your Discriminator must also come from the session's neighbour and on
//!   the session's port kind (keepalived does not check).
//! * The local discriminator stays the same for the session's life (keepalived draws a new
//!   one when a session falls from Up).
//! * A Poll Sequence starts whenever the advertised intervals change while Init or Up (on
//!   going Up: idle_tx to min_tx; on reload); going Down applies the new values at once.
//! * The first packet of a new non-passive session is sent at once (as keepalived does at
//!   start-up); state changes do not send extra packets, but a shorter interval brings the
//!   next periodic packet forward.
#![forbid(unsafe_code)]

mod rng;
mod session;
mod stats;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use scheduler::Instant;

pub use crate::config::model::bfd::BfdInstance;
use crate::config::model::bfd::{BFD_PORT_MULTIHOP, BFD_PORT_SINGLE_HOP};
use crate::wire::bfd::{verify_auth, Auth, ControlPacket, MAX_PASSWORD_LEN};
pub use crate::wire::bfd::{AuthType, Diag, State};
pub use rng::Rng;
use session::Ctx;
pub use session::{jittered, Session};
pub use stats::{DropReason, SessionCounters, Stats};

/// Lowest UDP source port of a session (RFC 5881 §4).
pub const SRC_PORT_MIN: u16 = 49152;
/// Highest UDP source port of a session.
pub const SRC_PORT_MAX: u16 = 65535;

/// A dense session index, stable while the session exists (a removed session's index may
/// be reused by a later one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionIdx(pub usize);

/// What the engine is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A datagram received on a BFD control port. `local_port` is 3784 or 4784 (tells single
    /// hop from multihop).
    Packet {
        src: IpAddr,
        dst: IpAddr,
        src_port: u16,
        local_port: u16,
        ttl: u8,
        payload: Vec<u8>,
    },
    /// Stop: every session goes AdminDown (diag 7 Administratively Down) and sends one packet
    /// saying so.
    Shutdown,
}

/// What the engine asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `payload` as one UDP datagram from (session's local address or unspecified,
    /// src_port) to (peer, dst_port) with the given TTL/hop limit.
    Send {
        session: SessionIdx,
        local: Option<IpAddr>,
        peer: IpAddr,
        src_port: u16,
        dst_port: u16,
        ttl: u8,
        payload: Vec<u8>,
    },
    /// A session changed state. The daemon logs it and feeds VRRP (up = to == Up).
    StateChange {
        session: SessionIdx,
        name: String,
        from: State,
        to: State,
        diag: Diag,
    },
}

/// Authentication of a session (RFC 5880 §6.7). keepalived has none, so the config model has
/// no field for it; ours is the `authentication { }` block of a `bfd_instance` (or
/// [`BfdSet::set_auth`]).
#[derive(Clone, PartialEq, Eq)]
pub struct BfdAuth {
    pub auth_type: AuthType,
    pub key_id: u8,
    /// The password (1-16 bytes) or the key (up to 16 bytes for MD5, 20 for SHA1).
    pub key: Vec<u8>,
}

impl std::fmt::Debug for BfdAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("BfdAuth")
            .field("auth_type", &self.auth_type)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl BfdAuth {
    /// From the `authentication { }` block of a `bfd_instance` (key lengths were checked
    /// there; `None` if they do not fit anyway).
    pub fn from_config(c: &crate::config::model::bfd::BfdAuthConfig) -> Option<BfdAuth> {
        use crate::config::model::bfd::BfdAuthKind as K;
        let t = match c.kind {
            K::SimplePassword => AuthType::SimplePassword,
            K::KeyedMd5 => AuthType::KeyedMd5,
            K::MeticulousKeyedMd5 => AuthType::MeticulousKeyedMd5,
            K::KeyedSha1 => AuthType::KeyedSha1,
            K::MeticulousKeyedSha1 => AuthType::MeticulousKeyedSha1,
        };
        BfdAuth::new(t, c.key_id, &c.key)
    }

    /// `None` if the key length does not fit the type.
    pub fn new(auth_type: AuthType, key_id: u8, key: &[u8]) -> Option<BfdAuth> {
        let max = match auth_type {
            AuthType::SimplePassword => MAX_PASSWORD_LEN,
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => 16,
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => 20,
        };
        let min = usize::from(auth_type == AuthType::SimplePassword);
        (min..=max).contains(&key.len()).then(|| BfdAuth {
            auth_type,
            key_id,
            key: key.to_vec(),
        })
    }
}

/// The RFC 5880 §6.2 state diagram plus AdminDown, for invariants: may a session go from
/// `from` to `to` in one step? (`from == to` is not a transition and is allowed.)
pub fn transition_allowed(from: State, to: State) -> bool {
    use State::*;
    match (from, to) {
        _ if from == to => true,
        // Any state can be administratively disabled; enabling again starts Down.
        (_, AdminDown) | (AdminDown, Down) => true,
        (Down, Init) | (Down, Up) => true,
        (Init, Up) | (Init, Down) => true,
        (Up, Down) => true,
        _ => false,
    }
}

/// All the daemon's BFD sessions.
#[derive(Debug)]
pub struct BfdSet {
    slots: Vec<Option<Session>>,
    free: Vec<usize>,
    by_name: BTreeMap<String, usize>,
    by_discr: BTreeMap<u32, usize>,
    ports: BTreeSet<u16>,
    deadlines: BTreeSet<(Instant, usize)>,
    rng: Rng,
    stats: Stats,
    shut_down: bool,
}

impl BfdSet {
    /// `seed` feeds the set's own PRNG (SplitMix64-seeded xoshiro256**): discriminators
    /// (unique, non-zero), source ports (49152..=65535, fixed per session), TX jitter.
    pub fn new(sessions: &[BfdInstance], seed: u64, now: Instant) -> BfdSet {
        let mut set = BfdSet {
            slots: Vec::with_capacity(sessions.len()),
            free: Vec::new(),
            by_name: BTreeMap::new(),
            by_discr: BTreeMap::new(),
            ports: BTreeSet::new(),
            deadlines: BTreeSet::new(),
            rng: Rng::new(seed),
            stats: Stats::default(),
            shut_down: false,
        };
        for inst in sessions {
            set.add(now, inst.clone());
        }
        set
    }

    fn add(&mut self, now: Instant, inst: BfdInstance) -> Option<usize> {
        if self.by_name.contains_key(&inst.name) {
            return None;
        }
        // RFC 5880 §6.8.1: unique, non-zero, random.
        let discr = loop {
            let d = self.rng.next_u32();
            if d != 0 && !self.by_discr.contains_key(&d) {
                break d;
            }
        };
        // RFC 5881 §4: 49152-65535, SHOULD be unique; a few tries, then accept a duplicate.
        let span = u64::from(SRC_PORT_MAX - SRC_PORT_MIN);
        let mut port = SRC_PORT_MIN + self.rng.up_to(span) as u16;
        for _ in 0..16 {
            if !self.ports.contains(&port) {
                break;
            }
            port = SRC_PORT_MIN + self.rng.up_to(span) as u16;
        }
        let seq = self.rng.next_u32();
        let idx = self.free.pop().unwrap_or(self.slots.len());
        let auth = inst.auth.as_ref().and_then(BfdAuth::from_config);
        let mut session = Session::new(idx, now, inst, discr, port, seq);
        session.auth = auth;
        self.by_name.insert(session.config.name.clone(), idx);
        self.by_discr.insert(discr, idx);
        self.ports.insert(port);
        if idx == self.slots.len() {
            self.slots.push(Some(session));
        } else {
            self.slots[idx] = Some(session);
        }
        self.rearm(idx);
        Some(idx)
    }

    fn remove(&mut self, idx: usize) {
        let Some(s) = self.slots.get_mut(idx).and_then(Option::take) else {
            return;
        };
        if let Some(t) = s.armed {
            self.deadlines.remove(&(t, idx));
        }
        self.by_name.remove(&s.config.name);
        self.by_discr.remove(&s.local_discr);
        if !self
            .slots
            .iter()
            .flatten()
            .any(|o| o.src_port == s.src_port)
        {
            self.ports.remove(&s.src_port);
        }
        self.free.push(idx);
    }

    /// Keeps the deadline index in step with session `idx`'s timers.
    fn rearm(&mut self, idx: usize) {
        let Some(s) = self.slots.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        let next = if self.shut_down {
            None
        } else {
            s.next_deadline()
        };
        if s.armed == next {
            return;
        }
        if let Some(t) = s.armed {
            self.deadlines.remove(&(t, idx));
        }
        if let Some(t) = next {
            self.deadlines.insert((t, idx));
        }
        s.armed = next;
    }

    /// Sets (or clears) the authentication of session `name`; false if there is none. The
    /// next packets carry it; the receive sequence state starts over.
    pub fn set_auth(&mut self, name: &str, auth: Option<BfdAuth>) -> bool {
        let Some(&idx) = self.by_name.get(name) else {
            return false;
        };
        let Some(s) = self.slots[idx].as_mut() else {
            return false;
        };
        s.auth = auth;
        s.rcv_auth_seq = None;
        true
    }

    /// SIGHUP: sessions matched by name keep state, discriminator and port; changed timers
    /// start a Poll Sequence; removed ones send AdminDown once and go; new ones start Down.
    /// A session whose neighbour, source address or hop mode changed is replaced (removed
    /// and added), since it is a different session on the wire.
    pub fn reconfigure(&mut self, now: Instant, sessions: &[BfdInstance], out: &mut Vec<Action>) {
        let mut wanted: BTreeMap<&str, &BfdInstance> = BTreeMap::new();
        for inst in sessions {
            wanted.entry(inst.name.as_str()).or_insert(inst);
        }
        // Removed or replaced sessions first (in index order).
        let mut gone = Vec::new();
        for (idx, s) in self.slots.iter().enumerate() {
            let Some(s) = s else { continue };
            let keep = wanted.get(s.config.name.as_str()).is_some_and(|n| {
                n.neighbor == s.config.neighbor
                    && n.source == s.config.source
                    && n.multihop == s.config.multihop
            });
            if !keep {
                gone.push(idx);
            }
        }
        for idx in gone {
            self.with_session(idx, out, |s, ctx| {
                if s.state != State::AdminDown {
                    s.change_state(now, State::AdminDown, Diag::AdministrativelyDown, ctx);
                    s.send(false, false, ctx);
                }
            });
            self.remove(idx);
        }
        for inst in sessions {
            match self.by_name.get(&inst.name) {
                Some(&idx) => {
                    let inst = inst.clone();
                    self.with_session(idx, out, |s, ctx| s.reconfigure(now, inst, ctx));
                }
                None => {
                    self.add(now, inst.clone());
                }
            }
        }
    }

    /// Runs `f` on session `idx` with a context, then re-indexes its deadline.
    fn with_session(
        &mut self,
        idx: usize,
        out: &mut Vec<Action>,
        f: impl FnOnce(&mut Session, &mut Ctx<'_>),
    ) {
        let Some(s) = self.slots.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        let mut ctx = Ctx {
            rng: &mut self.rng,
            out,
            stats: &mut self.stats,
        };
        f(s, &mut ctx);
        self.rearm(idx);
    }

    pub fn handle(&mut self, now: Instant, input: Input, out: &mut Vec<Action>) {
        match input {
            Input::Packet {
                src,
                dst,
                src_port: _,
                local_port,
                ttl,
                payload,
            } => self.handle_packet(now, src, dst, local_port, ttl, &payload, out),
            Input::Shutdown => self.handle_shutdown(now, out),
        }
    }

    fn handle_shutdown(&mut self, now: Instant, out: &mut Vec<Action>) {
        for idx in 0..self.slots.len() {
            self.with_session(idx, out, |s, ctx| {
                if s.state != State::AdminDown {
                    s.change_state(now, State::AdminDown, Diag::AdministrativelyDown, ctx);
                    s.send(false, false, ctx);
                }
            });
        }
        self.shut_down = true;
        for idx in 0..self.slots.len() {
            self.rearm(idx);
        }
    }

    /// RFC 5880 §6.8.6 up to the session's own processing: packet checks, lookup, TTL (GTSM
    /// as keepalived), A bit and authentication.
    #[allow(clippy::too_many_arguments)]
    fn handle_packet(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        local_port: u16,
        ttl: u8,
        payload: &[u8],
        out: &mut Vec<Action>,
    ) {
        self.stats.rx_packets += 1;
        let multihop = match local_port {
            BFD_PORT_SINGLE_HOP => false,
            BFD_PORT_MULTIHOP => true,
            _ => return self.stats.drop(DropReason::BadPort),
        };
        let pkt = match ControlPacket::parse(payload) {
            Ok(p) => p,
            Err(e) => {
                log::debug!(target: "bfd", "Discarding bogus packet from {src}: {e}");
                return self.stats.drop(DropReason::from(&e));
            }
        };
        let (src, dst) = (src.to_canonical(), dst.to_canonical());
        let found = if pkt.your_discr != 0 {
            self.by_discr.get(&pkt.your_discr).copied()
        } else {
            self.slots
                .iter()
                .flatten()
                .find(|s| s.matches_addr(src, dst, multihop))
                .map(|s| s.idx)
        };
        let Some(idx) = found else {
            log::debug!(
                target: "bfd",
                "Discarding packet from {src} (session is not found - your discriminator field is {})",
                pkt.your_discr
            );
            return self.stats.drop(DropReason::NoSession);
        };
        let verdict = match self.slots[idx].as_ref() {
            Some(s) => check_session(s, now, &pkt, src, multihop, ttl),
            None => Err(DropReason::NoSession),
        };
        if let Err(reason) = verdict {
            log::debug!(target: "bfd", "Discarding packet from {src}: {}", reason.name());
            self.stats.drop(reason);
            if let Some(s) = self.slots[idx].as_mut() {
                s.counters.rx_dropped += 1;
            }
            return;
        }
        self.stats.rx_accepted += 1;
        self.with_session(idx, out, |s, ctx| {
            if let Some(seq) = pkt.auth.and_then(|a| a.seq()) {
                s.rcv_auth_seq = Some(seq);
            }
            s.receive(now, &pkt, ctx);
        });
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        while let Some(&(t, idx)) = self.deadlines.first() {
            if t > now {
                break;
            }
            self.deadlines.remove(&(t, idx));
            if let Some(s) = self.slots.get_mut(idx).and_then(Option::as_mut) {
                s.armed = None;
            }
            self.with_session(idx, out, |s, ctx| s.on_timeout(now, ctx));
        }
    }

    /// Earliest deadline over all sessions, O(log n). After `handle_timeout(now)` it is None
    /// or later than `now`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(t, _)| t)
    }

    /// Every session with its index, in index order.
    pub fn sessions(&self) -> impl Iterator<Item = (SessionIdx, &Session)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (SessionIdx(i), s)))
    }

    pub fn session(&self, idx: SessionIdx) -> Option<&Session> {
        self.slots.get(idx.0).and_then(Option::as_ref)
    }

    pub fn session_by_name(&self, name: &str) -> Option<&Session> {
        self.by_name.get(name).and_then(|&i| self.slots[i].as_ref())
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The per-session receive checks of §6.8.6 (and keepalived's TTL check), before any state
/// is touched.
fn check_session(
    s: &Session,
    now: Instant,
    pkt: &ControlPacket<'_>,
    src: IpAddr,
    multihop: bool,
    ttl: u8,
) -> Result<(), DropReason> {
    if s.config.multihop != multihop {
        return Err(DropReason::PortMismatch);
    }
    if s.config.neighbor.to_canonical() != src {
        return Err(DropReason::AddrMismatch);
    }
    // keepalived's bfd_check_packet_ttl (GTSM, RFC 5881 §5 extended with max_hops): 255 and
    // -1 disable it, an unknown TTL (0) passes.
    let max_hops = i32::from(s.config.max_hops);
    if (0..255).contains(&max_hops)
        && ttl != 0
        && i32::from(ttl) + max_hops < i32::from(s.config.ttl)
    {
        return Err(DropReason::Ttl);
    }
    match (&s.auth, pkt.auth) {
        (None, None) => {}
        (None, Some(_)) | (Some(_), None) => return Err(DropReason::AuthMismatch),
        (Some(cfg), Some(a)) => {
            if a.auth_type() != cfg.auth_type {
                return Err(DropReason::AuthMismatch);
            }
            if a.key_id() != cfg.key_id {
                return Err(DropReason::AuthFailed);
            }
            if let Some(seq) = a.seq() {
                let meticulous = matches!(
                    a,
                    Auth::KeyedMd5 {
                        meticulous: true,
                        ..
                    } | Auth::KeyedSha1 {
                        meticulous: true,
                        ..
                    }
                );
                if !s.auth_seq_ok(now, seq, meticulous, pkt.detect_mult) {
                    return Err(DropReason::AuthSeq);
                }
            }
            if !verify_auth(pkt, &cfg.key) {
                return Err(DropReason::AuthFailed);
            }
        }
    }
    if s.state == State::AdminDown {
        return Err(DropReason::AdminDown);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_diagram() {
        use State::*;
        let all = [AdminDown, Down, Init, Up];
        for &s in &all {
            assert!(transition_allowed(s, s));
            assert!(transition_allowed(s, AdminDown));
        }
        assert!(transition_allowed(Down, Init));
        assert!(transition_allowed(Down, Up));
        assert!(transition_allowed(Init, Up));
        assert!(transition_allowed(Init, Down));
        assert!(transition_allowed(Up, Down));
        assert!(transition_allowed(AdminDown, Down));
        assert!(!transition_allowed(Up, Init));
        assert!(!transition_allowed(AdminDown, Up));
        assert!(!transition_allowed(AdminDown, Init));
    }

    #[test]
    fn jitter_bounds() {
        let mut rng = Rng::new(1);
        for _ in 0..10_000 {
            let j = jittered(10_000, 3, &mut rng);
            assert!((7_500..=10_000).contains(&j));
            let j = jittered(10_000, 1, &mut rng);
            assert!((7_500..=9_000).contains(&j));
        }
        assert_eq!(jittered(1, 1, &mut rng), 1);
    }

    #[test]
    fn auth_key_lengths() {
        assert!(BfdAuth::new(AuthType::SimplePassword, 1, b"").is_none());
        assert!(BfdAuth::new(AuthType::SimplePassword, 1, &[1; 17]).is_none());
        assert!(BfdAuth::new(AuthType::KeyedMd5, 1, &[1; 16]).is_some());
        assert!(BfdAuth::new(AuthType::KeyedSha1, 1, &[1; 21]).is_none());
    }
}
