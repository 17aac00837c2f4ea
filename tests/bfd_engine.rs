//! The L1 BFD engine in virtual time: two `BfdSet`s wired back to back (every `Send` becomes
//! the other side's `Input::Packet` after a fixed latency), driven event by event from their
//! `poll_timeout`s. Every `handle_timeout(now)` is followed by the DESIGN.md §2 postcondition
//! (`poll_timeout()` is None or later than now) and every state change is checked against the
//! RFC 5880 §6.2 diagram.

mod common;

use common::rng::{Rng, TestRng};
use std::net::IpAddr;

use keepalived_rs::bfd::{
    transition_allowed, Action, AuthType, BfdAuth, BfdInstance, BfdSet, Diag, DropReason, Input,
    State,
};
use keepalived_rs::config::ast::Span;
use keepalived_rs::config::model::bfd::BfdConsumers;
use keepalived_rs::wire::bfd::{ControlPacket, ControlRepr};
use scheduler::Instant;

const A4: &str = "192.0.2.1";
const B4: &str = "192.0.2.2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn inst(name: &str, local: &str, peer: &str, ms: u32, mult: u8) -> BfdInstance {
    let v6 = peer.contains(':');
    BfdInstance {
        name: name.to_string(),
        span: Span::default(),
        neighbor: ip(peer),
        source: Some(ip(local)),
        required_min_rx_us: ms * 1000,
        desired_min_tx_us: ms * 1000,
        idle_tx_us: 1_000_000,
        detect_mult: mult,
        passive: false,
        ttl: if v6 { 64 } else { 255 },
        max_hops: 0,
        multihop: false,
        weight: 0,
        weight_reverse: false,
        consumers: BfdConsumers::Both,
        auth: None,
    }
}

/// One recorded event.
#[derive(Debug, Clone)]
struct Change {
    at: u64,
    side: usize,
    name: String,
    from: State,
    to: State,
    diag: Diag,
}

#[derive(Debug, Clone)]
struct Sent {
    at: u64,
    side: usize,
    payload: Vec<u8>,
}

struct World {
    now: u64,
    sets: [BfdSet; 2],
    /// (deliver at, sequence, to side, input)
    flight: Vec<(u64, u64, usize, Input)>,
    seq: u64,
    latency: u64,
    /// Drop everything sent by side i.
    mute: [bool; 2],
    changes: Vec<Change>,
    sent: Vec<Sent>,
    out: Vec<Action>,
    /// Time of the last packet delivered to side i.
    last_rx: [u64; 2],
}

impl World {
    fn new(a: &[BfdInstance], b: &[BfdInstance], seed: u64) -> World {
        World {
            now: 0,
            sets: [
                BfdSet::new(a, seed, Instant::ZERO),
                BfdSet::new(b, seed.wrapping_add(1), Instant::ZERO),
            ],
            flight: Vec::new(),
            seq: 0,
            latency: 100,
            mute: [false; 2],
            changes: Vec::new(),
            sent: Vec::new(),
            out: Vec::new(),
            last_rx: [0; 2],
        }
    }

    fn pair(ms: u32, mult: u8) -> World {
        World::new(
            &[inst("s", A4, B4, ms, mult)],
            &[inst("s", B4, A4, ms, mult)],
            7,
        )
    }

    fn collect(&mut self, side: usize) {
        for a in std::mem::take(&mut self.out) {
            match a {
                Action::Send {
                    local,
                    peer,
                    src_port,
                    dst_port,
                    ttl,
                    payload,
                    ..
                } => {
                    self.sent.push(Sent {
                        at: self.now,
                        side,
                        payload: payload.clone(),
                    });
                    if self.mute[side] {
                        continue;
                    }
                    self.seq += 1;
                    let input = Input::Packet {
                        src: local.unwrap(),
                        dst: peer,
                        src_port,
                        local_port: dst_port,
                        ttl,
                        payload,
                    };
                    self.flight
                        .push((self.now + self.latency, self.seq, 1 - side, input));
                }
                Action::StateChange {
                    name,
                    from,
                    to,
                    diag,
                    ..
                } => {
                    assert!(transition_allowed(from, to), "{from} -> {to}");
                    assert_ne!(from, to);
                    self.changes.push(Change {
                        at: self.now,
                        side,
                        name,
                        from,
                        to,
                        diag,
                    });
                }
            }
        }
    }

    fn next_event(&self) -> Option<u64> {
        let t = self
            .sets
            .iter()
            .filter_map(|s| s.poll_timeout())
            .map(|i| i.as_micros());
        t.chain(self.flight.iter().map(|f| f.0)).min()
    }

    /// Runs every event up to and including `until`.
    fn run_until(&mut self, until: u64) {
        while let Some(t) = self.next_event() {
            if t > until {
                break;
            }
            self.step();
        }
        self.now = self.now.max(until);
    }

    fn step(&mut self) {
        let t = self.next_event().unwrap();
        assert!(t >= self.now, "time went back: {t} < {}", self.now);
        self.now = t;
        let now = Instant::from_micros(t);
        // Packets due now first (in send order), then timers.
        self.flight.sort_by_key(|f| (f.0, f.1));
        while self.flight.first().is_some_and(|f| f.0 == t) {
            let (_, _, to, input) = self.flight.remove(0);
            self.last_rx[to] = t;
            self.sets[to].handle(now, input, &mut self.out);
            self.collect(to);
        }
        for side in 0..2 {
            if self.sets[side].poll_timeout().is_some_and(|d| d <= now) {
                self.sets[side].handle_timeout(now, &mut self.out);
                self.collect(side);
                let next = self.sets[side].poll_timeout();
                assert!(
                    next.map_or(true, |n| n > now),
                    "poll_timeout {next:?} <= {now}"
                );
            }
        }
    }

    fn state(&self, side: usize, name: &str) -> State {
        self.sets[side].session_by_name(name).unwrap().state
    }

    fn run_until_up(&mut self, name: &str, limit: u64) -> u64 {
        while !(self.state(0, name) == State::Up && self.state(1, name) == State::Up) {
            assert!(self.now < limit, "not Up by {limit} µs: {:?}", self.changes);
            self.step();
        }
        self.now
    }
}

fn parse(p: &[u8]) -> ControlPacket<'_> {
    ControlPacket::parse(p).unwrap()
}

#[test]
fn comes_up_three_way_and_negotiates() {
    let mut w = World::pair(10, 3);
    let up_at = w.run_until_up("s", 3_000_000);
    // Each side: Down -> Init -> Up or Down -> Up, nothing else.
    for side in 0..2 {
        let seq: Vec<_> = w
            .changes
            .iter()
            .filter(|c| c.side == side)
            .map(|c| c.to)
            .collect();
        assert!(
            seq == [State::Init, State::Up] || seq == [State::Up],
            "side {side}: {seq:?}"
        );
    }
    // Both start by sending at once (Down, Your Discriminator 0, 1 s idle interval).
    let first = parse(&w.sent[0].payload);
    assert_eq!(first.state, State::Down);
    assert_eq!(first.your_discr, 0);
    assert_eq!(first.desired_min_tx_us, 1_000_000);
    assert!(up_at < 2_100_000, "Up at {up_at}");
    // After the Poll Sequence both run at 10 ms with a 30 ms detection time.
    w.run_until(up_at + 200_000);
    for side in 0..2 {
        let s = w.sets[side].session_by_name("s").unwrap();
        assert!(s.poll.is_none());
        assert_eq!(s.tx_interval_us(), 10_000);
        assert_eq!(s.detect_time_us(), Some(30_000));
        assert_eq!(s.desired_min_tx_us, 10_000);
        assert!(s.counters.polls_completed >= 1);
        let peer = w.sets[1 - side].session_by_name("s").unwrap();
        assert_eq!(s.remote_discr, peer.local_discr);
        assert!((49152..=65535).contains(&s.src_port));
    }
    assert!(w.sets[0].stats().tx_final + w.sets[1].stats().tx_final >= 2);
    assert_eq!(w.sets[0].stats().dropped_total(), 0);
    // Up packets carry P until the Final, never P and F together.
    assert!(w.sent.iter().any(|s| parse(&s.payload).poll));
    assert!(w.sent.iter().all(|s| {
        let p = parse(&s.payload);
        !(p.poll && p.final_)
    }));
}

#[test]
fn detection_on_silence_exactly_at_detect_time() {
    for (ms, mult) in [(10, 3), (20, 5), (7, 1)] {
        let mut w = World::pair(ms, mult);
        let up = w.run_until_up("s", 3_000_000);
        w.run_until(up + 500_000);
        // B goes silent; A must declare Down exactly mult * ms after the last packet.
        w.mute[1] = true;
        // Drain what B already sent.
        w.run_until(w.now + w.latency);
        let last = w.last_rx[0];
        let detect = u64::from(mult) * u64::from(ms) * 1000;
        assert_eq!(
            w.sets[0].session_by_name("s").unwrap().detect_time_us(),
            Some(detect)
        );
        let expected = last + detect;
        w.run_until(expected - 1);
        // Not a tick before: even an explicit timeout call at expected - 1 keeps it Up.
        let mut out = Vec::new();
        w.sets[0].handle_timeout(Instant::from_micros(expected - 1), &mut out);
        assert!(out.iter().all(|a| !matches!(a, Action::StateChange { .. })));
        assert_eq!(w.state(0, "s"), State::Up);
        w.run_until(expected);
        let c = w
            .changes
            .iter()
            .find(|c| c.side == 0 && c.to == State::Down)
            .expect("A went Down");
        assert_eq!(c.at, expected, "ms {ms} mult {mult}");
        assert_eq!(c.from, State::Up);
        assert_eq!(c.diag, Diag::ControlDetectionTimeExpired);
        let s = w.sets[0].session_by_name("s").unwrap();
        assert_eq!(s.remote_discr, 0, "RemoteDiscr zeroed on expiry");
        assert_eq!(s.counters.detect_expired, 1);
        // Back to 1 s idle transmission with Your Discriminator 0.
        w.run_until(expected + 2_100_000);
        let later: Vec<_> = w
            .sent
            .iter()
            .filter(|s| s.side == 0 && s.at > expected)
            .collect();
        assert!(later.len() >= 2 && later.len() <= 3, "{}", later.len());
        for s in later {
            let p = parse(&s.payload);
            assert_eq!(p.state, State::Down);
            assert_eq!(p.your_discr, 0);
            assert_eq!(p.desired_min_tx_us, 1_000_000);
        }
        // A signals Down to B (its packets still flow): B falls with diag 3.
        let b_down = w
            .changes
            .iter()
            .find(|c| c.side == 1 && c.to == State::Down);
        assert_eq!(b_down.unwrap().diag, Diag::NeighborSignaledSessionDown);
    }
}

#[test]
fn poll_final_on_reconfigure_with_timer_change() {
    let mut w = World::pair(10, 3);
    let up = w.run_until_up("s", 3_000_000);
    w.run_until(up + 300_000);
    let n_changes = w.changes.len();
    let discr = w.sets[0].session_by_name("s").unwrap().local_discr;
    let port = w.sets[0].session_by_name("s").unwrap().src_port;
    // A slows down to 40 ms (an increase of TX and RX).
    let mut out = Vec::new();
    let now = Instant::from_micros(w.now);
    w.sets[0].reconfigure(now, &[inst("s", A4, B4, 40, 3)], &mut out);
    assert!(out.is_empty(), "{out:?}");
    {
        let s = w.sets[0].session_by_name("s").unwrap();
        assert_eq!(s.poll, Some((40_000, 40_000)));
        // The TX increase waits for the Final; the RX increase applies at once.
        assert_eq!(s.tx_desired_in_use_us, 10_000);
        assert_eq!(s.rx_required_in_use_us, 40_000);
        assert_eq!(s.local_discr, discr);
        assert_eq!(s.src_port, port);
    }
    let t0 = w.now;
    let sent_before = w.sent.len();
    let finals_before = w.sets[1].stats().tx_final;
    w.run_until(t0 + 15_000);
    // A's next periodic packet had P; B answered at once with F (a non-periodic packet).
    let a_poll = w.sent[sent_before..]
        .iter()
        .find(|s| s.side == 0 && parse(&s.payload).poll)
        .expect("A sent a Poll");
    let b_final = w.sent[sent_before..]
        .iter()
        .find(|s| s.side == 1 && parse(&s.payload).final_)
        .expect("B sent a Final");
    assert_eq!(b_final.at, a_poll.at + w.latency, "Final sent on receipt");
    assert_eq!(w.sets[1].stats().tx_final, finals_before + 1);
    let s = w.sets[0].session_by_name("s").unwrap();
    assert!(s.poll.is_none());
    assert_eq!(s.tx_desired_in_use_us, 40_000);
    assert_eq!(s.tx_interval_us(), 40_000);
    // B's view: A's new desired TX stretches B's detection time; B sends no faster than
    // A's 40 ms Required Min RX.
    w.run_until(t0 + 500_000);
    let b = w.sets[1].session_by_name("s").unwrap();
    assert_eq!(b.detect_time_us(), Some(120_000));
    assert_eq!(b.tx_interval_us(), 40_000);
    assert_eq!(w.changes.len(), n_changes, "no state change on reload");
    assert_eq!(w.state(0, "s"), State::Up);
    // Back to 10 ms: a decrease of TX applies at once, the RX decrease after the Final.
    let now = Instant::from_micros(w.now);
    w.sets[0].reconfigure(now, &[inst("s", A4, B4, 10, 3)], &mut out);
    let s = w.sets[0].session_by_name("s").unwrap();
    assert_eq!(s.tx_desired_in_use_us, 10_000);
    assert_eq!(s.rx_required_in_use_us, 40_000);
    w.run_until(w.now + 100_000);
    let s = w.sets[0].session_by_name("s").unwrap();
    assert_eq!(s.rx_required_in_use_us, 10_000);
    assert!(s.poll.is_none());
    assert_eq!(w.changes.len(), n_changes);
}

#[test]
fn reconfigure_keeps_up_removes_and_adds() {
    let mut w = World::new(
        &[
            inst("s", A4, B4, 10, 3),
            inst("gone", A4, "192.0.2.9", 10, 3),
        ],
        &[inst("s", B4, A4, 10, 3)],
        3,
    );
    let up = w.run_until_up("s", 3_000_000);
    w.run_until(up + 100_000);
    let before = w.sets[0].session_by_name("s").unwrap().clone();
    let mut out = Vec::new();
    let now = Instant::from_micros(w.now);
    w.sets[0].reconfigure(
        now,
        &[
            inst("s", A4, B4, 10, 3),
            inst("new", A4, "192.0.2.8", 10, 3),
        ],
        &mut out,
    );
    // "gone": AdminDown once, then removed; "new": Down, sending at once.
    let mut sends = 0;
    for a in &out {
        match a {
            Action::StateChange {
                name,
                from,
                to,
                diag,
                ..
            } => {
                assert_eq!(name, "gone");
                assert_eq!(
                    (*from, *to, *diag),
                    (State::Down, State::AdminDown, Diag::AdministrativelyDown)
                );
            }
            Action::Send { peer, payload, .. } => {
                assert_eq!(*peer, ip("192.0.2.9"));
                assert_eq!(parse(payload).state, State::AdminDown);
                sends += 1;
            }
        }
    }
    assert_eq!(sends, 1);
    assert!(w.sets[0].session_by_name("gone").is_none());
    let s = w.sets[0].session_by_name("s").unwrap();
    assert_eq!(s.state, State::Up);
    assert_eq!(s.local_discr, before.local_discr);
    assert_eq!(s.src_port, before.src_port);
    assert_eq!(w.sets[0].session_by_name("new").unwrap().state, State::Down);
    assert_eq!(w.sets[0].len(), 2);
    assert_eq!(
        w.sets[0].poll_timeout(),
        Some(now),
        "the new session sends at once"
    );
    w.run_until(w.now + 1_000_000);
    assert_eq!(w.state(0, "s"), State::Up);
    // Changing the neighbour replaces the session (new discriminator).
    let now = Instant::from_micros(w.now);
    w.sets[0].reconfigure(now, &[inst("s", A4, "192.0.2.7", 10, 3)], &mut out);
    let s = w.sets[0].session_by_name("s").unwrap();
    assert_eq!(s.state, State::Down);
    assert_ne!(s.local_discr, before.local_discr);
}

#[test]
fn passive_waits_for_the_peer() {
    let mut a = inst("s", A4, B4, 10, 3);
    a.passive = true;
    // Both passive: silence for ever.
    let mut b = inst("s", B4, A4, 10, 3);
    b.passive = true;
    let mut w = World::new(&[a.clone()], &[b], 1);
    assert_eq!(w.sets[0].poll_timeout(), None);
    assert_eq!(w.sets[1].poll_timeout(), None);
    w.run_until(10_000_000);
    assert!(w.sent.is_empty());
    // Passive A, active B: A first speaks after hearing B, then the session comes Up.
    let mut w = World::new(&[a], &[inst("s", B4, A4, 10, 3)], 1);
    w.mute[1] = true;
    w.run_until(3_000_000);
    assert!(w.sent.iter().all(|s| s.side == 1));
    w.mute[1] = false;
    let up = w.run_until_up("s", 6_000_000);
    let first_a = w.sent.iter().find(|s| s.side == 0).unwrap();
    assert!(first_a.at > 3_000_000 && first_a.at <= up);
}

/// Intervals between A's periodic packets once Up at 10 ms, over `n` packets.
fn periodic_intervals(mult: u8, n: usize) -> Vec<u64> {
    let mut w = World::pair(10, mult);
    let up = w.run_until_up("s", 3_000_000);
    w.run_until(up + 200_000);
    let start = w.sent.len();
    w.run_until(w.now + (n as u64 + 2) * 10_000);
    let times: Vec<u64> = w.sent[start..]
        .iter()
        .filter(|s| s.side == 0 && !parse(&s.payload).final_)
        .map(|s| s.at)
        .collect();
    times.windows(2).map(|p| p[1] - p[0]).take(n).collect()
}

#[test]
fn jitter_range_statistics() {
    for (mult, lo, hi) in [(3u8, 7_500u64, 10_000u64), (1, 7_500, 9_000)] {
        let iv = periodic_intervals(mult, 10_000);
        assert!(iv.len() >= 10_000, "{}", iv.len());
        let min = *iv.iter().min().unwrap();
        let max = *iv.iter().max().unwrap();
        assert!(min >= lo && max <= hi, "mult {mult}: {min}..{max}");
        // Uniform over the range: mean in the middle, both ends reached.
        let mean = iv.iter().sum::<u64>() as f64 / iv.len() as f64;
        let mid = (lo + hi) as f64 / 2.0;
        assert!(
            (mean - mid).abs() < 50.0,
            "mult {mult}: mean {mean}, want {mid}"
        );
        assert!(
            min < lo + 100 && max > hi - 100,
            "mult {mult}: {min}..{max}"
        );
        // Every quarter of the range gets roughly a quarter of the samples.
        let width = hi - lo;
        for q in 0..4 {
            let n = iv
                .iter()
                .filter(|&&x| (x - lo) * 4 / (width + 1) == q)
                .count();
            assert!((2_000..3_000).contains(&n), "mult {mult} quarter {q}: {n}");
        }
    }
}

#[test]
fn idle_one_second_while_not_up() {
    // A alone (B never answers): Down packets every 0.75-1 s advertising 1 s.
    let mut w = World::pair(10, 3);
    w.mute[1] = true;
    w.run_until(60_000_000);
    let a: Vec<_> = w.sent.iter().filter(|s| s.side == 0).collect();
    assert!((60..=81).contains(&a.len()), "{}", a.len());
    for p in &a {
        let c = parse(&p.payload);
        assert_eq!(c.state, State::Down);
        assert_eq!(c.desired_min_tx_us, 1_000_000);
        assert_eq!(c.required_min_rx_us, 10_000);
    }
    for pair in a.windows(2) {
        let d = pair[1].at - pair[0].at;
        assert!((750_000..=1_000_000).contains(&d), "{d}");
    }
    assert_eq!(w.state(0, "s"), State::Down);
}

#[test]
fn discriminators_unique_ports_in_range_deterministic() {
    let many: Vec<_> = (0..2000)
        .map(|i| {
            let peer = format!("fd00::{:x}", i + 2);
            inst(&format!("s{i}"), "fd00::1", &peer, 10, 3)
        })
        .collect();
    let a = BfdSet::new(&many, 99, Instant::ZERO);
    let b = BfdSet::new(&many, 99, Instant::ZERO);
    let c = BfdSet::new(&many, 100, Instant::ZERO);
    let mut discrs: Vec<u32> = a.sessions().map(|(_, s)| s.local_discr).collect();
    assert!(discrs.iter().all(|&d| d != 0));
    discrs.sort_unstable();
    discrs.dedup();
    assert_eq!(discrs.len(), 2000);
    let mut ports: Vec<u16> = a.sessions().map(|(_, s)| s.src_port).collect();
    assert!(ports.iter().all(|&p| p >= 49152));
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 2000, "ports unique while there is room");
    let da: Vec<_> = a
        .sessions()
        .map(|(i, s)| (i, s.local_discr, s.src_port))
        .collect();
    let db: Vec<_> = b
        .sessions()
        .map(|(i, s)| (i, s.local_discr, s.src_port))
        .collect();
    let dc: Vec<_> = c
        .sessions()
        .map(|(i, s)| (i, s.local_discr, s.src_port))
        .collect();
    assert_eq!(da, db);
    assert_ne!(da, dc);
    assert_eq!(a.session_by_name("s1999").unwrap().index().0, 1999);
}

#[test]
fn same_seed_same_trace() {
    let run = || {
        let mut w = World::pair(10, 2);
        w.run_until(3_000_000);
        w.mute[0] = true;
        w.run_until(3_500_000);
        (
            w.sent
                .iter()
                .map(|s| (s.at, s.side, s.payload.clone()))
                .collect::<Vec<_>>(),
            w.changes
                .iter()
                .map(|c| (c.at, c.side, c.to))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn shutdown_sends_admin_down_and_peer_goes_down_diag3() {
    let mut w = World::pair(10, 3);
    let up = w.run_until_up("s", 3_000_000);
    w.run_until(up + 100_000);
    let now = Instant::from_micros(w.now);
    let sent_before = w.sent.len();
    w.sets[0].handle(now, Input::Shutdown, &mut w.out);
    w.collect(0);
    assert_eq!(
        w.sets[0].poll_timeout(),
        None,
        "nothing scheduled after Shutdown"
    );
    let mine: Vec<_> = w.sent[sent_before..].to_vec();
    assert_eq!(mine.len(), 1);
    let p = parse(&mine[0].payload);
    assert_eq!(p.state, State::AdminDown);
    assert_eq!(p.diag, Diag::AdministrativelyDown);
    let c = w.changes.last().unwrap();
    assert_eq!(
        (c.side, c.from, c.to, c.diag),
        (0, State::Up, State::AdminDown, Diag::AdministrativelyDown)
    );
    assert_eq!(c.name, "s");
    w.run_until(w.now + 5_000_000);
    let b = w
        .changes
        .iter()
        .find(|c| c.side == 1 && c.to == State::Down)
        .unwrap();
    assert_eq!(b.diag, Diag::NeighborSignaledSessionDown);
    assert_eq!(b.at, mine[0].at + w.latency, "on receipt, not on expiry");
    // A stays silent and AdminDown; B's packets to it are dropped as AdminDown.
    assert_eq!(
        w.sent.iter().filter(|s| s.side == 0).count(),
        sent_before_a(&w, sent_before) + 1
    );
    assert_eq!(w.state(0, "s"), State::AdminDown);
    assert!(w.sets[0].stats().dropped(DropReason::AdminDown) > 0);
    // B keeps idling Down without flapping.
    assert_eq!(w.state(1, "s"), State::Down);
}

fn sent_before_a(w: &World, n: usize) -> usize {
    w.sent[..n].iter().filter(|s| s.side == 0).count()
}

/// A packet from a hand-driven peer.
#[allow(clippy::too_many_arguments)]
fn peer_pkt(state: State, my: u32, your: u32, poll: bool, final_: bool, demand: bool) -> Vec<u8> {
    let r = ControlRepr {
        diag: Diag::NoDiagnostic,
        state,
        poll,
        final_,
        cpi: false,
        demand,
        detect_mult: 3,
        my_discr: my,
        your_discr: your,
        desired_min_tx_us: 10_000,
        required_min_rx_us: 10_000,
        required_min_echo_rx_us: 0,
        auth: None,
    };
    let mut b = vec![0u8; 24];
    r.emit(&mut b).unwrap();
    b
}

fn pkt_in(src: &str, dst: &str, port: u16, ttl: u8, payload: Vec<u8>) -> Input {
    Input::Packet {
        src: ip(src),
        dst: ip(dst),
        src_port: 50000,
        local_port: port,
        ttl,
        payload,
    }
}

#[test]
fn drops_counted_per_reason() {
    let mut set = BfdSet::new(&[inst("s", A4, B4, 10, 3)], 5, Instant::ZERO);
    let my = set.session_by_name("s").unwrap().local_discr;
    let mut out = Vec::new();
    let now = Instant::from_millis(1);
    let good = peer_pkt(State::Down, 77, 0, false, false, false);
    let mut feed = |set: &mut BfdSet, input: Input| set.handle(now, input, &mut out);
    // One per wire reason.
    let mut b = good.clone();
    b[2] = 0;
    feed(&mut set, pkt_in(B4, A4, 3784, 255, b));
    feed(&mut set, pkt_in(B4, A4, 3784, 255, good[..20].to_vec()));
    let mut b = good.clone();
    b[1] |= 0x30;
    feed(&mut set, pkt_in(B4, A4, 3784, 255, b));
    // Engine reasons.
    feed(&mut set, pkt_in(B4, A4, 3785, 255, good.clone()));
    feed(&mut set, pkt_in("192.0.2.99", A4, 3784, 255, good.clone()));
    feed(&mut set, pkt_in(B4, "192.0.2.50", 3784, 255, good.clone()));
    feed(&mut set, pkt_in(B4, A4, 3784, 254, good.clone()));
    feed(&mut set, pkt_in(B4, A4, 4784, 255, good.clone()));
    let by_discr = peer_pkt(State::Down, 77, my, false, false, false);
    feed(&mut set, pkt_in(B4, A4, 4784, 255, by_discr.clone()));
    feed(
        &mut set,
        pkt_in("192.0.2.99", A4, 3784, 255, by_discr.clone()),
    );
    feed(
        &mut set,
        pkt_in(
            B4,
            A4,
            3784,
            255,
            peer_pkt(State::Down, 77, my ^ 1, false, false, false),
        ),
    );
    let mut with_a = good.clone();
    with_a[1] |= 0x04;
    with_a[3] = 30;
    with_a.extend([1, 6, 1, b'a', b'b', b'c']);
    feed(&mut set, pkt_in(B4, A4, 3784, 255, with_a));
    let st = set.stats();
    for (reason, n) in [
        (DropReason::ZeroDetectMult, 1),
        (DropReason::Truncated, 1),
        (DropReason::PollAndFinal, 1),
        (DropReason::BadPort, 1),
        (DropReason::NoSession, 4),
        (DropReason::Ttl, 1),
        (DropReason::PortMismatch, 1),
        (DropReason::AddrMismatch, 1),
        (DropReason::AuthMismatch, 1),
    ] {
        assert_eq!(st.dropped(reason), n, "{}", reason.name());
    }
    assert_eq!(st.rx_packets, 12);
    assert_eq!(st.rx_accepted, 0);
    assert_eq!(st.dropped_total(), 12);
    assert_eq!(st.drops().count(), DropReason::COUNT);
    assert_eq!(set.session_by_name("s").unwrap().state, State::Down);
    // And the good one is accepted: Down -> Init.
    set.handle(now, pkt_in(B4, A4, 3784, 255, good), &mut out);
    assert_eq!(set.stats().rx_accepted, 1);
    assert_eq!(set.session_by_name("s").unwrap().state, State::Init);
}

#[test]
fn ttl_check_as_keepalived() {
    /// (local, peer, ttl, max_hops, [(received ttl, accepted)])
    type Case<'a> = (&'a str, &'a str, u8, i16, &'a [(u8, bool)]);
    let cases: [Case; 6] = [
        (A4, B4, 255, 0, &[(255, true), (254, false), (0, true)]),
        (A4, B4, 255, 2, &[(253, true), (252, false)]),
        (A4, B4, 255, 255, &[(1, true)]),
        (A4, B4, 255, -1, &[(1, true)]),
        (
            "fd00::1",
            "fd00::2",
            64,
            0,
            &[(64, true), (255, true), (63, false)],
        ),
        (A4, B4, 64, 10, &[(54, true), (53, false)]),
    ];
    for (local, peer, ttl, max_hops, rx) in cases {
        for &(rx_ttl, ok) in rx {
            let mut i = inst("s", local, peer, 10, 3);
            i.ttl = ttl;
            i.max_hops = max_hops;
            let mut set = BfdSet::new(&[i], 5, Instant::ZERO);
            let mut out = Vec::new();
            let pkt = peer_pkt(State::Down, 77, 0, false, false, false);
            set.handle(
                Instant::ZERO,
                pkt_in(peer, local, 3784, rx_ttl, pkt),
                &mut out,
            );
            assert_eq!(
                set.stats().rx_accepted == 1,
                ok,
                "ttl {ttl} max_hops {max_hops} rx {rx_ttl}"
            );
            assert_eq!(set.stats().dropped(DropReason::Ttl), u64::from(!ok));
        }
    }
}

#[test]
fn multihop_uses_4784() {
    let mut a = inst("m", A4, B4, 10, 3);
    a.multihop = true;
    a.ttl = 64;
    a.max_hops = 10;
    let mut b = inst("m", B4, A4, 10, 3);
    b.multihop = true;
    b.ttl = 64;
    b.max_hops = 10;
    let mut w = World::new(&[a], &[b], 11);
    w.run_until_up("m", 3_000_000);
    let mut out = Vec::new();
    w.sets[0].handle_timeout(Instant::from_micros(w.now + 20_000), &mut out);
    let Some(Action::Send { dst_port, ttl, .. }) = out.first() else {
        panic!("{out:?}")
    };
    assert_eq!((*dst_port, *ttl), (4784, 64));
}

#[test]
fn remote_demand_mode_stops_periodic_tx() {
    let mut set = BfdSet::new(&[inst("s", A4, B4, 10, 3)], 5, Instant::ZERO);
    let my = set.session_by_name("s").unwrap().local_discr;
    let mut out = Vec::new();
    let mut t = 0u64;
    // Peer: Init (we go Up), then Up with D.
    set.handle(
        Instant::ZERO,
        pkt_in(
            B4,
            A4,
            3784,
            255,
            peer_pkt(State::Init, 9, my, false, false, false),
        ),
        &mut out,
    );
    assert_eq!(set.session_by_name("s").unwrap().state, State::Up);
    // Complete our Poll (going Up changed DesiredMinTx) with a Final.
    t += 1000;
    set.handle(
        Instant::from_micros(t),
        pkt_in(
            B4,
            A4,
            3784,
            255,
            peer_pkt(State::Up, 9, my, false, true, true),
        ),
        &mut out,
    );
    assert!(set.session_by_name("s").unwrap().poll.is_none());
    out.clear();
    // Demand active: no periodic packets, while the peer keeps sending Up+D.
    for _ in 0..50 {
        t += 10_000;
        let now = Instant::from_micros(t);
        set.handle_timeout(now, &mut out);
        set.handle(
            now,
            pkt_in(
                B4,
                A4,
                3784,
                255,
                peer_pkt(State::Up, 9, my, false, false, true),
            ),
            &mut out,
        );
    }
    assert!(
        out.iter().all(|a| !matches!(a, Action::Send { .. })),
        "{out:?}"
    );
    // A Poll from the peer is still answered with a Final.
    set.handle(
        Instant::from_micros(t),
        pkt_in(
            B4,
            A4,
            3784,
            255,
            peer_pkt(State::Up, 9, my, true, false, true),
        ),
        &mut out,
    );
    let Some(Action::Send { payload, .. }) = out.last() else {
        panic!()
    };
    assert!(parse(payload).final_);
}

#[test]
fn remote_min_rx_zero_stops_periodic_tx() {
    let mut set = BfdSet::new(&[inst("s", A4, B4, 10, 3)], 5, Instant::ZERO);
    let mut out = Vec::new();
    let mut p = peer_pkt(State::Down, 9, 0, false, false, false);
    p[16..20].fill(0);
    set.handle(Instant::ZERO, pkt_in(B4, A4, 3784, 255, p), &mut out);
    assert_eq!(set.session_by_name("s").unwrap().remote_min_rx_us, 0);
    out.clear();
    for i in 1..300 {
        set.handle_timeout(Instant::from_millis(i * 10), &mut out);
    }
    assert!(out.iter().all(|a| !matches!(a, Action::Send { .. })));
}

#[test]
fn authentication_from_configuration_and_reload() {
    use keepalived_rs::config::model::bfd::{BfdAuthConfig, BfdAuthKind};
    let auth = |key: &[u8]| {
        Some(BfdAuthConfig {
            kind: BfdAuthKind::MeticulousKeyedSha1,
            key_id: 2,
            key: key.to_vec(),
        })
    };
    let mut a = inst("s", A4, B4, 10, 3);
    let mut b = inst("s", B4, A4, 10, 3);
    a.auth = auth(b"k1");
    b.auth = auth(b"k1");
    let mut w = World::new(&[a.clone()], &[b], 11);
    let up = w.run_until_up("s", 3_000_000);
    assert!(w
        .sent
        .iter()
        .all(|s| parse(&s.payload).auth.map(|x| x.auth_type())
            == Some(AuthType::MeticulousKeyedSha1)));
    // A reload on one side with another key: its packets fail the peer's check, and the
    // peer declares the session Down at its detection time.
    a.auth = auth(b"k2");
    let mut out = Vec::new();
    w.sets[0].reconfigure(Instant::from_micros(w.now), &[a], &mut out);
    w.run_until(up + 1_000_000);
    assert_eq!(w.state(1, "s"), State::Down);
    assert!(w.sets[1].stats().dropped(DropReason::AuthFailed) > 0);
}

fn auth_pair(a: Option<BfdAuth>, b: Option<BfdAuth>) -> World {
    let mut w = World::pair(10, 3);
    assert!(w.sets[0].set_auth("s", a));
    assert!(w.sets[1].set_auth("s", b));
    w
}

#[test]
fn authentication_each_type() {
    let types = [
        AuthType::SimplePassword,
        AuthType::KeyedMd5,
        AuthType::MeticulousKeyedMd5,
        AuthType::KeyedSha1,
        AuthType::MeticulousKeyedSha1,
    ];
    for ty in types {
        let key = BfdAuth::new(ty, 3, b"s3cret-key").unwrap();
        // Both configured alike: Up, and it stays Up for a while (sequence numbers move).
        let mut w = auth_pair(Some(key.clone()), Some(key.clone()));
        let up = w.run_until_up("s", 3_000_000);
        w.run_until(up + 2_000_000);
        assert_eq!(w.state(0, "s"), State::Up, "{ty}");
        assert_eq!(w.state(1, "s"), State::Up, "{ty}");
        assert_eq!(w.sets[0].stats().dropped_total(), 0, "{ty}");
        assert!(w
            .sent
            .iter()
            .all(|s| parse(&s.payload).auth.map(|a| a.auth_type()) == Some(ty)));
        // Another key: everything dropped as an authentication failure, never Up.
        let other = BfdAuth::new(ty, 3, b"other-key").unwrap();
        let mut w = auth_pair(Some(key.clone()), Some(other));
        w.run_until(5_000_000);
        assert_eq!(w.state(0, "s"), State::Down, "{ty}");
        assert!(
            w.sets[0].stats().dropped(DropReason::AuthFailed) >= 4,
            "{ty}"
        );
        // Another key id: also a failure.
        let other_id = BfdAuth::new(ty, 4, b"s3cret-key").unwrap();
        let mut w = auth_pair(Some(key.clone()), Some(other_id));
        w.run_until(3_000_000);
        assert!(
            w.sets[0].stats().dropped(DropReason::AuthFailed) >= 2,
            "{ty}"
        );
        // Only one side configured: A-bit mismatch both ways.
        let mut w = auth_pair(Some(key.clone()), None);
        w.run_until(3_000_000);
        assert!(
            w.sets[0].stats().dropped(DropReason::AuthMismatch) >= 2,
            "{ty}"
        );
        assert!(
            w.sets[1].stats().dropped(DropReason::AuthMismatch) >= 2,
            "{ty}"
        );
        assert_eq!(w.state(1, "s"), State::Down);
    }
    // Different types with the same key: a type mismatch.
    let mut w = auth_pair(
        BfdAuth::new(AuthType::KeyedMd5, 1, b"k"),
        BfdAuth::new(AuthType::KeyedSha1, 1, b"k"),
    );
    w.run_until(3_000_000);
    assert!(w.sets[0].stats().dropped(DropReason::AuthMismatch) >= 2);
}

#[test]
fn meticulous_replay_is_dropped() {
    let key = BfdAuth::new(AuthType::MeticulousKeyedSha1, 1, b"key").unwrap();
    let mut w = auth_pair(Some(key.clone()), Some(key));
    let up = w.run_until_up("s", 3_000_000);
    w.run_until(up + 100_000);
    // Replay B's last packet to A: same sequence number, so outside (rcv, rcv + 3M].
    let last_b = w
        .sent
        .iter()
        .rev()
        .find(|s| s.side == 1)
        .unwrap()
        .payload
        .clone();
    let before = w.sets[0].stats().dropped(DropReason::AuthSeq);
    let now = Instant::from_micros(w.now + 1);
    w.sets[0].handle(now, pkt_in(B4, A4, 3784, 255, last_b), &mut w.out);
    w.collect(0);
    assert_eq!(w.sets[0].stats().dropped(DropReason::AuthSeq), before + 1);
}

#[test]
fn ipv6_session_comes_up() {
    let mut w = World::new(
        &[inst("v6", "fd00::1", "fd00::2", 20, 5)],
        &[inst("v6", "fd00::2", "fd00::1", 20, 5)],
        17,
    );
    w.run_until_up("v6", 3_000_000);
    let s = w.sets[0].session_by_name("v6").unwrap();
    assert_eq!(s.config.ttl, 64);
    w.run_until(w.now + 200_000);
    assert_eq!(
        w.sets[0].session_by_name("v6").unwrap().detect_time_us(),
        Some(100_000)
    );
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = Rng::new(0x05ee_dbfd);
    let mut ka = inst("s", A4, B4, 10, 3);
    ka.max_hops = 255;
    let mut set = BfdSet::new(
        &[ka, inst("t", "fd00::1", "fd00::2", 10, 1)],
        3,
        Instant::ZERO,
    );
    let my = set.session_by_name("s").unwrap().local_discr;
    let md5 = BfdAuth::new(AuthType::KeyedMd5, 1, b"k").unwrap();
    set.set_auth("t", Some(md5));
    let mut out = Vec::new();
    let mut t = 0u64;
    let srcs = [B4, A4, "fd00::2", "fd00::1", "192.0.2.77"];
    for i in 0..200_000u32 {
        t += rng.below(3000) as u64;
        let now = Instant::from_micros(t);
        let mut p = match rng.below(4) {
            0 => {
                let mut b = vec![0u8; rng.below(60)];
                for x in b.iter_mut() {
                    *x = rng.next_u64() as u8;
                }
                b
            }
            _ => {
                let st = State::from_bits(rng.next_u64() as u8);
                let your = [0, my, rng.next_u64() as u32][rng.below(3)];
                let n = rng.next_u64();
                peer_pkt(st, 9, your, n & 1 != 0, n & 2 != 0, n & 4 != 0)
            }
        };
        for _ in 0..rng.below(3) {
            if !p.is_empty() {
                let j = rng.below(p.len());
                p[j] ^= 1 << rng.below(8);
            }
        }
        let src = srcs[rng.below(srcs.len())];
        let dst = if src.contains(':') { "fd00::1" } else { A4 };
        let port = [3784, 4784, 3785][rng.below(3)];
        set.handle(
            now,
            pkt_in(src, dst, port, rng.next_u64() as u8, p),
            &mut out,
        );
        if i % 7 == 0 {
            set.handle_timeout(now, &mut out);
            assert!(set.poll_timeout().map_or(true, |d| d > now));
        }
        if i % 50_000 == 49_999 {
            let mut changed = inst("s", A4, B4, 10 + i / 50_000, 3);
            changed.max_hops = 255;
            set.reconfigure(now, &[changed], &mut out);
        }
        for a in out.drain(..) {
            if let Action::StateChange { from, to, .. } = a {
                assert!(transition_allowed(from, to));
            }
        }
    }
    assert!(set.stats().rx_accepted > 1000);
    assert!(set.stats().dropped_total() > 1000);
}
