//! One BFD session: the state variables of RFC 5880 §6.8.1, its two timers (transmit and
//! detect), timer negotiation (§6.8.2-6.8.4, §6.8.7), Poll Sequences (§6.5) and the reception
//! procedure after the session was found (§6.8.6 from "update remote state" on).

use std::net::IpAddr;

use scheduler::Instant;

use super::rng::Rng;
use super::stats::{SessionCounters, Stats};
use super::{Action, BfdAuth, BfdInstance, SessionIdx};
use crate::wire::bfd::{sign, Auth, AuthType, ControlPacket, ControlRepr, Diag, State, MAX_LEN};

/// A BFD session (read-only view for dumps; the set owns and drives it).
#[derive(Debug, Clone)]
pub struct Session {
    pub(crate) idx: usize,
    /// The configuration it runs with.
    pub config: BfdInstance,
    /// Authentication (none unless set with [`super::BfdSet::set_auth`]).
    pub auth: Option<BfdAuth>,
    /// UDP source port, fixed for the session's life (RFC 5881 §4).
    pub src_port: u16,
    /// bfd.SessionState.
    pub state: State,
    /// bfd.LocalDiag.
    pub local_diag: Diag,
    /// bfd.LocalDiscr.
    pub local_discr: u32,
    /// bfd.RemoteDiscr (0 until heard, and again a Detection Time after the last packet).
    pub remote_discr: u32,
    /// bfd.RemoteSessionState.
    pub remote_state: State,
    /// The diagnostic of the last packet received.
    pub remote_diag: Diag,
    /// bfd.RemoteDemandMode.
    pub remote_demand: bool,
    /// bfd.RemoteMinRxInterval (1 until heard).
    pub remote_min_rx_us: u32,
    /// Desired Min TX Interval of the last packet received (0 until heard).
    pub remote_desired_min_tx_us: u32,
    /// Detect Mult of the last packet received (0 until heard).
    pub remote_detect_mult: u8,
    /// bfd.DesiredMinTxInterval as advertised: `min_tx` when Up, `idle_tx` otherwise.
    pub desired_min_tx_us: u32,
    /// bfd.RequiredMinRxInterval as advertised.
    pub required_min_rx_us: u32,
    /// The Desired Min TX used for our transmit interval: an increase while Up waits for the
    /// Poll Sequence to end (§6.8.3).
    pub tx_desired_in_use_us: u32,
    /// The Required Min RX used for the detection time: a decrease while Up waits for the
    /// Poll Sequence to end (§6.8.3).
    pub rx_required_in_use_us: u32,
    /// The (desired tx, required rx) a Poll Sequence in progress announces.
    pub poll: Option<(u32, u32)>,
    /// bfd.XmitAuthSeq.
    pub xmit_auth_seq: u32,
    /// bfd.AuthSeqKnown and bfd.RcvAuthSeq.
    pub rcv_auth_seq: Option<u32>,
    /// When the last valid packet was processed.
    pub last_rx: Option<Instant>,
    /// Next periodic transmission.
    pub tx_deadline: Option<Instant>,
    /// The negotiated interval `tx_deadline` was drawn from.
    tx_sched_interval_us: u64,
    /// When the Detection Time after the last valid packet runs out.
    pub detect_deadline: Option<Instant>,
    pub counters: SessionCounters,
    /// The entry this session has in the set's deadline index.
    pub(crate) armed: Option<Instant>,
}

/// What the set passes to a session so that it can act.
pub(crate) struct Ctx<'a> {
    pub rng: &'a mut Rng,
    pub out: &'a mut Vec<Action>,
    pub stats: &'a mut Stats,
}

impl Session {
    pub(crate) fn new(
        idx: usize,
        now: Instant,
        config: BfdInstance,
        local_discr: u32,
        src_port: u16,
        xmit_auth_seq: u32,
    ) -> Session {
        let desired = config.idle_tx_us;
        let required = config.required_min_rx_us;
        let tx_deadline = if config.passive { None } else { Some(now) };
        Session {
            idx,
            config,
            auth: None,
            src_port,
            state: State::Down,
            local_diag: Diag::NoDiagnostic,
            local_discr,
            remote_discr: 0,
            remote_state: State::Down,
            remote_diag: Diag::NoDiagnostic,
            remote_demand: false,
            remote_min_rx_us: 1,
            remote_desired_min_tx_us: 0,
            remote_detect_mult: 0,
            desired_min_tx_us: desired,
            required_min_rx_us: required,
            tx_desired_in_use_us: desired,
            rx_required_in_use_us: required,
            poll: None,
            xmit_auth_seq,
            rcv_auth_seq: None,
            last_rx: None,
            tx_deadline,
            tx_sched_interval_us: 0,
            detect_deadline: None,
            counters: SessionCounters::default(),
            armed: None,
        }
    }

    /// The session's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.state
    }

    /// bfd.LocalDiag.
    pub fn local_diag(&self) -> Diag {
        self.local_diag
    }

    /// bfd.RemoteSessionState.
    pub fn remote_state(&self) -> State {
        self.remote_state
    }

    /// The diagnostic of the last packet received.
    pub fn remote_diag(&self) -> Diag {
        self.remote_diag
    }

    /// bfd.LocalDiscr.
    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }

    /// bfd.RemoteDiscr.
    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }

    /// UDP source port.
    pub fn src_port(&self) -> u16 {
        self.src_port
    }

    /// The index of the session in its set.
    pub fn index(&self) -> SessionIdx {
        SessionIdx(self.idx)
    }

    /// The negotiated transmit interval before jitter: max(Desired Min TX in use,
    /// bfd.RemoteMinRxInterval) (§6.8.7), at least 1 µs.
    pub fn tx_interval_us(&self) -> u64 {
        u64::from(self.tx_desired_in_use_us.max(self.remote_min_rx_us)).max(1)
    }

    /// The Detection Time in asynchronous mode (§6.8.4): remote Detect Mult x max(Required
    /// Min RX in use, last received Desired Min TX). `None` before the peer was heard.
    pub fn detect_time_us(&self) -> Option<u64> {
        if self.remote_detect_mult == 0 {
            return None;
        }
        let per = u64::from(
            self.rx_required_in_use_us
                .max(self.remote_desired_min_tx_us),
        );
        Some((u64::from(self.remote_detect_mult) * per).max(1))
    }

    /// The peer's Detection Time for our packets (what it computes): our Detect Mult x our
    /// transmit interval.
    pub fn remote_detect_time_us(&self) -> u64 {
        u64::from(self.config.detect_mult) * self.tx_interval_us()
    }

    /// The earliest of the two timers.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match (self.tx_deadline, self.detect_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether periodic transmission is allowed now (§6.8.7, §6.1 passive, §6.6 demand).
    fn periodic_allowed(&self) -> bool {
        if self.state == State::AdminDown || self.remote_min_rx_us == 0 {
            return false;
        }
        // RFC 5880 §6.1: a passive system does not begin sending until it hears the peer;
        // keepalived stops again when the session falls Down (bfd_state_down).
        if self.config.passive && self.state == State::Down && self.remote_discr == 0 {
            return false;
        }
        // §6.8.7: the remote asked for Demand mode and both are Up: stop, unless polling.
        !(self.remote_demand
            && self.state == State::Up
            && self.remote_state == State::Up
            && self.poll.is_none())
    }

    /// The interval to the next periodic packet: the negotiated interval reduced by 0-25 %
    /// at random, 10-25 % when our Detect Mult is 1 (§6.8.7). Integer microseconds.
    fn jittered_interval_us(&self, rng: &mut Rng) -> u64 {
        jittered(self.tx_interval_us(), self.config.detect_mult, rng)
    }

    /// Re-derives the transmit timer after a change: off when not allowed, started when
    /// off, and brought forward when the negotiated interval became shorter than the one the
    /// pending deadline was drawn from (as keepalived's `bfd_sender_reschedule`).
    fn reschedule_tx(&mut self, now: Instant, rng: &mut Rng) {
        if !self.periodic_allowed() {
            self.tx_deadline = None;
            return;
        }
        let interval = self.tx_interval_us();
        match self.tx_deadline {
            Some(_) if interval >= self.tx_sched_interval_us => {}
            pending => {
                let next = now.saturating_add_micros(self.jittered_interval_us(rng));
                if pending.map_or(true, |t| t > next) {
                    self.tx_deadline = Some(next);
                }
                self.tx_sched_interval_us = interval;
            }
        }
    }

    /// Schedules the next periodic packet a jittered interval after `now`.
    fn schedule_next_tx(&mut self, now: Instant, rng: &mut Rng) {
        self.tx_sched_interval_us = self.tx_interval_us();
        self.tx_deadline = Some(now.saturating_add_micros(self.jittered_interval_us(rng)));
    }

    /// Builds and emits one Control packet.
    pub(crate) fn send(&mut self, poll: bool, final_: bool, ctx: &mut Ctx<'_>) {
        let mut buf = [0u8; MAX_LEN];
        let auth = self.auth.as_ref().map(|a| match a.auth_type {
            AuthType::SimplePassword => Auth::SimplePassword {
                key_id: a.key_id,
                password: &a.key,
            },
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => Auth::KeyedMd5 {
                meticulous: a.auth_type.meticulous(),
                key_id: a.key_id,
                seq: self.xmit_auth_seq,
                digest: [0; 16],
            },
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => Auth::KeyedSha1 {
                meticulous: a.auth_type.meticulous(),
                key_id: a.key_id,
                seq: self.xmit_auth_seq,
                hash: [0; 20],
            },
        });
        let repr = ControlRepr {
            diag: self.local_diag,
            state: self.state,
            poll,
            final_,
            cpi: false,
            demand: false,
            detect_mult: self.config.detect_mult,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx_us: self.desired_min_tx_us,
            required_min_rx_us: self.required_min_rx_us,
            // Echo is not supported (RFC 5880 §6.8.3 "MUST be zero").
            required_min_echo_rx_us: 0,
            auth,
        };
        let Ok(n) = repr.emit(&mut buf) else {
            // Only a password outside 1..=16 bytes fails, which BfdAuth::new refuses.
            return;
        };
        if let Some(a) = &self.auth {
            if a.auth_type != AuthType::SimplePassword {
                sign(&mut buf[..n], &a.key);
                // §6.7.3: meticulous increments for every packet; we do the same for the
                // non-meticulous types (allowed, and it keeps the peer's window moving).
                self.xmit_auth_seq = self.xmit_auth_seq.wrapping_add(1);
            }
        }
        ctx.out.push(Action::Send {
            session: SessionIdx(self.idx),
            local: self.config.source,
            peer: self.config.neighbor,
            src_port: self.src_port,
            dst_port: self.config.dst_port(),
            ttl: self.config.ttl,
            payload: buf[..n].to_vec(),
        });
        ctx.stats.tx_packets += 1;
        if final_ {
            ctx.stats.tx_final += 1;
        }
        self.counters.tx += 1;
    }

    /// The one place state changes (DESIGN.md §2): logs, counts, adjusts the advertised
    /// intervals (§6.8.3) and emits [`Action::StateChange`].
    pub(crate) fn change_state(&mut self, now: Instant, to: State, diag: Diag, ctx: &mut Ctx<'_>) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.local_diag = diag;
        if to == State::Up {
            self.counters.up += 1;
            // The daemon logs changes in keepalived's words; this is for debugging.
            log::debug!(target: "bfd", "BFD_Instance({}) Entering Up state", self.config.name);
        } else {
            if from == State::Up {
                self.counters.down += 1;
            }
            log::debug!(
                target: "bfd",
                "BFD_Instance({}) Entering {} state (Local diagnostic - {}, Remote diagnostic - {})",
                self.config.name, to, diag, self.remote_diag
            );
        }
        ctx.stats.state_changes += 1;
        ctx.out.push(Action::StateChange {
            session: SessionIdx(self.idx),
            name: self.config.name.clone(),
            from,
            to,
            diag,
        });
        // §6.8.3: DesiredMinTx is min_tx only while Up, at least one second otherwise.
        let desired = if to == State::Up {
            self.config.desired_min_tx_us
        } else {
            self.config.idle_tx_us
        };
        self.set_intervals(desired, self.required_min_rx_us);
        if to == State::AdminDown {
            self.tx_deadline = None;
            self.detect_deadline = None;
            self.poll = None;
        } else {
            self.reschedule_tx(now, ctx.rng);
        }
    }

    /// Changes the advertised intervals (§6.8.3): a change starts a Poll Sequence while the
    /// peer is engaged (Init or Up); an increase of TX or a decrease of RX waits for it to end
    /// while Up; anything else takes effect at once.
    pub(crate) fn set_intervals(&mut self, desired_tx: u32, required_rx: u32) {
        if desired_tx == self.desired_min_tx_us && required_rx == self.required_min_rx_us {
            return;
        }
        self.desired_min_tx_us = desired_tx;
        self.required_min_rx_us = required_rx;
        let up = self.state == State::Up;
        if !up || desired_tx < self.tx_desired_in_use_us {
            self.tx_desired_in_use_us = desired_tx;
        }
        if !up || required_rx > self.rx_required_in_use_us {
            self.rx_required_in_use_us = required_rx;
        }
        match self.state {
            State::Init | State::Up => {
                if self.poll.is_none() {
                    self.poll = Some((desired_tx, required_rx));
                }
            }
            State::Down | State::AdminDown => self.poll = None,
        }
    }

    /// A Final was received: the peer has seen the polled values (§6.5).
    fn poll_terminated(&mut self) {
        let Some((tx, rx)) = self.poll.take() else {
            return;
        };
        self.counters.polls_completed += 1;
        self.tx_desired_in_use_us = self.desired_min_tx_us.min(tx);
        self.rx_required_in_use_us = self.required_min_rx_us.max(rx);
        if (self.desired_min_tx_us, self.required_min_rx_us) != (tx, rx) {
            // Changed again while polling: poll for the newer values.
            self.poll = Some((self.desired_min_tx_us, self.required_min_rx_us));
        }
    }

    /// RFC 5880 §6.8.6 from "set bfd.RemoteDiscr" on, for a packet that passed the packet,
    /// lookup, TTL and authentication checks. The session is not AdminDown.
    pub(crate) fn receive(&mut self, now: Instant, pkt: &ControlPacket<'_>, ctx: &mut Ctx<'_>) {
        self.counters.rx += 1;
        self.last_rx = Some(now);
        self.remote_discr = pkt.my_discr;
        self.remote_state = pkt.state;
        self.remote_diag = pkt.diag;
        self.remote_demand = pkt.demand;
        self.remote_min_rx_us = pkt.required_min_rx_us;
        self.remote_desired_min_tx_us = pkt.desired_min_tx_us;
        self.remote_detect_mult = pkt.detect_mult;
        if pkt.final_ {
            self.poll_terminated();
        }
        // §6.8.4: the detection timer restarts with every valid packet (Demand mode is never
        // active locally: we do not send D).
        self.detect_deadline = self.detect_time_us().map(|d| now.saturating_add_micros(d));
        // §6.8.6 state machine (§6.2 diagram).
        if pkt.state == State::AdminDown {
            if self.state != State::Down {
                self.change_state(now, State::Down, Diag::NeighborSignaledSessionDown, ctx);
            }
        } else {
            match (self.state, pkt.state) {
                (State::Down, State::Down) => {
                    self.change_state(now, State::Init, Diag::NoDiagnostic, ctx)
                }
                (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                    self.change_state(now, State::Up, Diag::NoDiagnostic, ctx)
                }
                (State::Up, State::Down) => {
                    self.change_state(now, State::Down, Diag::NeighborSignaledSessionDown, ctx)
                }
                _ => {}
            }
        }
        // §6.5: answer a Poll with a Final at once, outside the periodic schedule.
        if pkt.poll {
            self.send(false, true, ctx);
        }
        self.reschedule_tx(now, ctx.rng);
    }

    /// Runs the timers that are due at `now`.
    pub(crate) fn on_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        if self.detect_deadline.is_some_and(|t| t <= now) {
            self.detect_deadline = None;
            // §6.8.1: bfd.RemoteDiscr is zeroed a Detection Time after the last packet.
            self.remote_discr = 0;
            if matches!(self.state, State::Init | State::Up) {
                self.counters.detect_expired += 1;
                if let Some(last) = self.last_rx {
                    log::debug!(
                        target: "bfd",
                        "BFD_Instance({}) Expired after {} ms",
                        self.config.name,
                        now.micros_since(last) / 1000
                    );
                }
                self.change_state(now, State::Down, Diag::ControlDetectionTimeExpired, ctx);
            }
            self.reschedule_tx(now, ctx.rng);
        }
        if self.tx_deadline.is_some_and(|t| t <= now) {
            self.tx_deadline = None;
            if self.periodic_allowed() {
                self.send(self.poll.is_some(), false, ctx);
                self.schedule_next_tx(now, ctx.rng);
            }
        }
    }

    /// Applies a reloaded configuration with the same name and addresses.
    pub(crate) fn reconfigure(&mut self, now: Instant, config: BfdInstance, ctx: &mut Ctx<'_>) {
        let desired = if self.state == State::Up {
            config.desired_min_tx_us
        } else {
            config.idle_tx_us
        };
        let required = config.required_min_rx_us;
        if config.auth != self.config.auth {
            self.auth = config.auth.as_ref().and_then(super::BfdAuth::from_config);
            self.rcv_auth_seq = None;
        }
        self.config = config;
        self.set_intervals(desired, required);
        if self.state != State::AdminDown {
            self.reschedule_tx(now, ctx.rng);
        }
    }

    /// Checks a keyed sequence number against bfd.RcvAuthSeq (§6.7.3, §6.7.4).
    pub(crate) fn auth_seq_ok(&self, now: Instant, seq: u32, meticulous: bool, mult: u8) -> bool {
        let Some(rcv) = self.rcv_auth_seq_known(now) else {
            return true;
        };
        let d = seq.wrapping_sub(rcv);
        let window = 3 * u32::from(mult);
        if meticulous {
            (1..=window).contains(&d)
        } else {
            d <= window
        }
    }

    /// bfd.RcvAuthSeq if bfd.AuthSeqKnown: it is forgotten when no packet came for twice the
    /// Detection Time (§6.7.1).
    fn rcv_auth_seq_known(&self, now: Instant) -> Option<u32> {
        let rcv = self.rcv_auth_seq?;
        match (self.last_rx, self.detect_time_us()) {
            (Some(last), Some(d)) if now.micros_since(last) > d.saturating_mul(2) => None,
            _ => Some(rcv),
        }
    }

    /// Whether `src` is this session's neighbour and `dst` its source address (if set).
    pub(crate) fn matches_addr(&self, src: IpAddr, dst: IpAddr, multihop: bool) -> bool {
        self.config.neighbor.to_canonical() == src
            && self.config.multihop == multihop
            && self.config.source.map_or(true, |s| s.to_canonical() == dst)
    }
}

/// The jittered transmit interval (§6.8.7): `interval` reduced by a random 0-25 %, or by
/// 10-25 % when `detect_mult` is 1, never below 75 % nor (mult 1) above 90 %.
pub fn jittered(interval_us: u64, detect_mult: u8, rng: &mut Rng) -> u64 {
    let max_red = interval_us / 4;
    let min_red = if detect_mult == 1 {
        interval_us.div_ceil(10).min(max_red)
    } else {
        0
    };
    (interval_us - min_red - rng.up_to(max_red - min_red)).max(1)
}
