//! The checker core (L1, sans-IO): every health checker of the configuration, its up/down
//! state, and the mapping of its results onto the real servers of the IPVS engine
//! ([`crate::lvs::Lvs`]). Reference §5.
//!
//! Each configured checker gets a [`CheckerId`], its index in configuration order
//! (virtual server, real server, checker). A checker produces up/down results; the core
//! applies keepalived's rules to them (`update_svr_checker_state`): a result equal to the
//! current state changes nothing (but an alpha checker's first failure notifies the real
//! server down), a different one flips the checker and the real server is told whether it
//! is now alive, i.e. whether all of its checkers are up. An alpha checker starts down,
//! any other up.
//!
//! Implemented kinds: BFD_CHECK ([`bfd`]), which has no probe and follows the Up/Down
//! state of its `bfd_instance` ([`Checkers::on_bfd_state`]); FILE_CHECK ([`file`]), which
//! has no probe and follows the values the daemon reads from its `track_file`
//! ([`Checkers::on_file_value`]); TCP_CHECK and MISC_CHECK ([`probe`])
//! and HTTP_GET and SSL_GET ([`http`]; not with `regex` urls), whose connects, script runs
//! and fetches the daemon runs and hands to [`Checkers::tcp_attempt`],
//! [`Checkers::misc_exit`] and [`Checkers::http_fetch`]; PING_CHECK ([`ping`]), UDP_CHECK
//! ([`udp`]) and DNS_CHECK ([`dns`]), whose datagrams the daemon sends
//! ([`Checkers::dgram_request`]) and whose replies, errors and timeouts it hands to
//! [`Checkers::dgram_event`]; SMTP_CHECK ([`smtp`]), whose conversation events the daemon
//! hands to [`Checkers::smtp_event`]. HTTP_GET or SSL_GET with a `regex` url is not
//! implemented yet: they are listed by
//! [`Checkers::unimplemented`] for the daemon to report once, and ignored, so a real server
//! whose checkers are all of those counts as having none, which keepalived treats as always
//! alive. A new kind adds a [`Machine`] variant holding its own sans-IO state and feeds its
//! results to [`Checkers::set_result`].

pub mod bfd;
pub mod dns;
pub mod file;
pub mod http;
pub mod ping;
pub mod probe;
pub mod smtp;
pub mod udp;
pub mod view;

use crate::config::model::lvs::{Checker, CheckerKind, LvsConfig};
use crate::lvs::{Lvs, LvsOptions, Output, RsKey, RsRef, VsKey};
use std::collections::BTreeMap;

/// keepalived's line when the checkers start (it has BFD support built in).
pub const ACTIVATING_BFD_LINE: &str = "Activating BFD healthchecker";

/// Names one checker: its index in configuration order. A reload renumbers; see
/// [`Checkers::reload`] for the correspondence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckerId(pub u32);

impl CheckerId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What drives one checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Machine {
    /// BFD_CHECK: follows the named session.
    Bfd(bfd::BfdCheck),
    /// TCP_CHECK: connect attempts run by the daemon.
    Tcp(probe::TcpCheck),
    /// MISC_CHECK: script runs started by the daemon.
    Misc(probe::MiscCheck),
    /// HTTP_GET: fetches run by the daemon.
    Http(http::HttpMachine),
    /// PING_CHECK: echo requests sent by the daemon.
    Ping(ping::PingCheck),
    /// UDP_CHECK: datagrams sent by the daemon.
    Udp(udp::UdpCheck),
    /// DNS_CHECK: queries sent by the daemon.
    Dns(dns::DnsCheck),
    /// SMTP_CHECK: conversations run by the daemon.
    Smtp(smtp::SmtpCheck),
    /// FILE_CHECK: follows a track file's values.
    File(file::FileCheck),
    /// A kind not implemented yet: ignored, never up or down.
    Ignored,
}

/// One checker and its state.
#[derive(Clone, Debug)]
struct CheckerState {
    rs: RsRef,
    /// keepalived's `FMT_RS` of its real server.
    rs_name: String,
    /// keepalived's `FMT_VS` of its virtual server.
    vs_name: String,
    /// keepalived's `FMT_CHK` of its target with the virtual server's protocol (the
    /// checkers other than TCP_CHECK, HTTP_GET and MISC_CHECK name it so).
    target: String,
    cfg: Checker,
    machine: Machine,
    up: bool,
    /// It has produced a result.
    has_run: bool,
    /// It continues a checker of the previous configuration (during a reload).
    migrated: bool,
}

impl CheckerState {
    fn active(&self) -> bool {
        self.machine != Machine::Ignored
    }
}

/// A checker of a kind not implemented yet, which is ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnimplementedChecker {
    pub id: CheckerId,
    /// TCP_CHECK, HTTP_GET, ...
    pub keyword: &'static str,
    /// keepalived's `FMT_VS` and `FMT_RS`.
    pub vs: String,
    pub rs: String,
}

impl UnimplementedChecker {
    /// Our line for it (keepalived has none: it implements them all).
    pub fn log_line(&self) -> String {
        format!(
            "{} of service {} for VS {} is not implemented yet - ignoring it",
            self.keyword, self.rs, self.vs
        )
    }
}

/// Every checker of a configuration.
#[derive(Clone, Debug, Default)]
pub struct Checkers {
    checkers: Vec<CheckerState>,
    /// The checkers of each real server, `[vs][rs]`: a range of ids.
    by_rs: Vec<Vec<std::ops::Range<u32>>>,
    /// The BFD_CHECK checkers following each session, in id order.
    by_bfd: BTreeMap<String, Vec<CheckerId>>,
    unimplemented: Vec<UnimplementedChecker>,
}

impl Checkers {
    /// The checkers of `cfg`, in their start state (alpha down, others up).
    pub fn new(cfg: &LvsConfig) -> Checkers {
        let mut c = Checkers::default();
        for (v, vs) in cfg.virtual_servers.iter().enumerate() {
            let vs_name = vs.display_name();
            let mut rss = Vec::with_capacity(vs.real_servers.len());
            for (r, rs) in vs.real_servers.iter().enumerate() {
                let start = c.checkers.len() as u32;
                let rs_name = rs.display_name(vs);
                for ck in &rs.checkers {
                    let id = CheckerId(c.checkers.len() as u32);
                    let machine = match &ck.kind {
                        CheckerKind::Bfd(b) => {
                            c.by_bfd.entry(b.name.clone()).or_default().push(id);
                            Machine::Bfd(bfd::BfdCheck::new(b))
                        }
                        CheckerKind::Tcp if ck.conn.is_some() => {
                            Machine::Tcp(probe::TcpCheck::new(ck))
                        }
                        CheckerKind::Misc(_) => Machine::Misc(probe::MiscCheck::new(ck)),
                        CheckerKind::File(_) => Machine::File(file::FileCheck::new()),
                        CheckerKind::Ping if ck.conn.is_some() => {
                            Machine::Ping(ping::PingCheck::new(ck))
                        }
                        CheckerKind::Udp(_) if ck.conn.is_some() => {
                            Machine::Udp(udp::UdpCheck::new(ck))
                        }
                        CheckerKind::Dns(_) if ck.conn.is_some() => {
                            Machine::Dns(dns::DnsCheck::new(ck))
                        }
                        CheckerKind::Smtp(_) if ck.conn.is_some() => {
                            Machine::Smtp(smtp::SmtpCheck::new())
                        }
                        CheckerKind::Http(h)
                            if ck.conn.is_some() && !http::HttpMachine::unsupported_regex(h) =>
                        {
                            Machine::Http(http::HttpMachine::new(h))
                        }
                        other => {
                            let keyword = match other {
                                // We have no PCRE2: such a checker is not run at all rather
                                // than run without its regex.
                                CheckerKind::Http(h) if h.tls => "SSL_GET with a regex url",
                                CheckerKind::Http(_) => "HTTP_GET with a regex url",
                                _ => other.keyword(),
                            };
                            c.unimplemented.push(UnimplementedChecker {
                                id,
                                keyword,
                                vs: vs_name.clone(),
                                rs: rs_name.clone(),
                            });
                            Machine::Ignored
                        }
                    };
                    c.checkers.push(CheckerState {
                        rs: RsRef { vs: v, rs: r },
                        rs_name: rs_name.clone(),
                        vs_name: vs_name.clone(),
                        target: probe::target_name_in(ck, vs.protocol),
                        up: !ck.alpha,
                        has_run: false,
                        migrated: false,
                        cfg: ck.clone(),
                        machine,
                    });
                }
                rss.push(start..c.checkers.len() as u32);
            }
            c.by_rs.push(rss);
        }
        c
    }

    /// Number of checkers (implemented or not).
    pub fn len(&self) -> usize {
        self.checkers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.checkers.is_empty()
    }

    /// Whether every running checker of `rs` is up (true when it has none).
    pub fn rs_alive(&self, rs: RsRef) -> bool {
        self.rs_checkers(rs).iter().all(|c| !c.active() || c.up)
    }

    /// Whether checker `id` is up (`None`: no such checker, or ignored).
    pub fn is_up(&self, id: CheckerId) -> Option<bool> {
        let c = self.checkers.get(id.index())?;
        c.active().then_some(c.up)
    }

    /// The real server checker `id` checks.
    pub fn real_server(&self, id: CheckerId) -> Option<RsRef> {
        Some(self.checkers.get(id.index())?.rs)
    }

    /// What drives checker `id`.
    pub fn machine(&self, id: CheckerId) -> Option<&Machine> {
        Some(&self.checkers.get(id.index())?.machine)
    }

    /// The checkers whose probes the daemon runs (all but BFD_CHECK), in id order.
    pub fn probes(&self) -> Vec<CheckerId> {
        (0..self.checkers.len() as u32)
            .map(CheckerId)
            .filter(|&id| {
                matches!(
                    self.checkers[id.index()].machine,
                    Machine::Tcp(_)
                        | Machine::Misc(_)
                        | Machine::Http(_)
                        | Machine::Ping(_)
                        | Machine::Udp(_)
                        | Machine::Dns(_)
                        | Machine::Smtp(_)
                )
            })
            .collect()
    }

    /// The request HTTP_GET `id` sends for its current url, and the url's index.
    pub fn http_request(&self, id: CheckerId) -> Option<(usize, Vec<u8>)> {
        let c = self.checkers.get(id.index())?;
        let (Machine::Http(m), CheckerKind::Http(h), Some(conn)) =
            (&c.machine, &c.cfg.kind, &c.cfg.conn)
        else {
            return None;
        };
        let url = m.current_url();
        let dst = std::net::SocketAddr::new(conn.dst_addr, conn.dst_port);
        Some((url, http::HttpMachine::request(h, url, dst)))
    }

    /// The datagram the next attempt of PING_CHECK, UDP_CHECK or DNS_CHECK `id` sends
    /// (`random`: a draw of the caller's seeded generator, DNS_CHECK's query ID).
    pub fn dgram_request(&mut self, id: CheckerId, random: u64) -> Option<Vec<u8>> {
        let c = self.checkers.get_mut(id.index())?;
        let v6 = c.cfg.conn.as_ref()?.dst_addr.is_ipv6();
        match (&mut c.machine, &c.cfg.kind) {
            (Machine::Ping(p), _) => Some(p.request(v6)),
            (Machine::Udp(_), CheckerKind::Udp(u)) => Some(u.payload.clone()),
            (Machine::Dns(d), CheckerKind::Dns(cfg)) => Some(d.query(cfg, random as u16)),
            _ => None,
        }
    }

    /// Something happened to the attempt in flight of PING_CHECK, UDP_CHECK or DNS_CHECK
    /// `id`: applies the checker's rules, logs keepalived's lines, hands a final result to
    /// the real server. `None`: not such a checker.
    pub fn dgram_event(
        &mut self,
        id: CheckerId,
        ev: probe::Dgram<'_>,
        log_all: bool,
        lvs: &mut Lvs,
        out: &mut Output,
    ) -> Option<probe::DgramNext> {
        let c = self.checkers.get_mut(id.index())?;
        let log_all = log_all || c.cfg.log_all_failures;
        let (up, run, t) = (c.up, c.has_run, c.target.as_str());
        let step = match (&mut c.machine, &c.cfg.kind) {
            (Machine::Ping(p), _) => p.on_event(&c.cfg, ev, up, run, log_all, t, &c.vs_name),
            (Machine::Udp(k), CheckerKind::Udp(u)) => {
                Ok(k.on_event(&c.cfg, u, ev, up, run, log_all, t))
            }
            (Machine::Dns(d), _) => d.on_event(&c.cfg, ev, up, run, log_all, t),
            _ => return None,
        };
        let step = match step {
            Ok(s) => s,
            Err(wait) => return Some(wait),
        };
        self.apply_step(id, &step, lvs, out);
        Some(probe::DgramNext::Next(step.next_in_us))
    }

    /// An event of the conversation in flight of SMTP_CHECK `id` (see
    /// [`smtp::SmtpCheck::on_event`]); a final result goes to the real server. `None`: not
    /// an SMTP_CHECK.
    pub fn smtp_event(
        &mut self,
        id: CheckerId,
        ev: smtp::SmtpEvent<'_>,
        log_all: bool,
        lvs: &mut Lvs,
        out: &mut Output,
    ) -> Option<smtp::SmtpNext> {
        let c = self.checkers.get_mut(id.index())?;
        let log_all = log_all || c.cfg.log_all_failures;
        let (Machine::Smtp(m), CheckerKind::Smtp(cfg)) = (&mut c.machine, &c.cfg.kind) else {
            return None;
        };
        let (next, step) = m.on_event(
            &c.cfg,
            &cfg.helo_name,
            ev,
            c.up,
            c.has_run,
            log_all,
            &c.target,
            &c.rs_name,
        );
        if let Some(step) = step {
            self.apply_step(id, &step, lvs, out);
        }
        Some(next)
    }

    /// One fetch of HTTP_GET `id` ended: as [`Checkers::tcp_attempt`].
    pub fn http_fetch(
        &mut self,
        id: CheckerId,
        fetch: http::Fetch,
        log_all: bool,
        lvs: &mut Lvs,
        out: &mut Output,
    ) -> Option<u64> {
        let c = self.checkers.get_mut(id.index())?;
        let (Machine::Http(m), CheckerKind::Http(h)) = (&mut c.machine, &c.cfg.kind) else {
            return None;
        };
        let step = m.on_fetch(&c.cfg, h, fetch, c.up, c.has_run, log_all);
        self.apply_step(id, &step, lvs, out);
        Some(step.next_in_us)
    }

    /// One run of MISC_CHECK `id`'s script ended: as [`Checkers::tcp_attempt`].
    pub fn misc_exit(
        &mut self,
        id: CheckerId,
        exit: probe::MiscExit,
        log_all: bool,
        lvs: &mut Lvs,
        out: &mut Output,
    ) -> Option<u64> {
        let c = self.checkers.get_mut(id.index())?;
        let (Machine::Misc(m), CheckerKind::Misc(cfg)) = (&mut c.machine, &c.cfg.kind) else {
            return None;
        };
        let step = m.on_exit(
            &c.cfg,
            cfg,
            exit,
            c.up,
            c.has_run,
            log_all || c.cfg.log_all_failures,
            &c.rs_name,
            &c.vs_name,
        );
        // misc_dynamic: the weight changes first, so its line comes before "succeeded."
        // and the real server comes up at its new weight, as in keepalived 2.2.7.
        let configured = lvs.configured_weight(c.rs).unwrap_or(0);
        if let Some(w) = probe::MiscCheck::dynamic_weight(cfg, exit, configured) {
            lvs.set_rs_weight(c.rs, w, out);
        }
        self.apply_step(id, &step, lvs, out);
        Some(step.next_in_us)
    }

    /// What every probing checker does with a step of its machine: keepalived's lines to
    /// the log, and a final result to the real server.
    fn apply_step(&mut self, id: CheckerId, step: &probe::Step, lvs: &mut Lvs, out: &mut Output) {
        for line in &step.log {
            log::info!(target: "check", "{line}");
        }
        if let Some(up) = step.result {
            self.set_result(id, up, lvs, out);
        }
    }

    /// The configuration of checker `id`.
    pub fn config(&self, id: CheckerId) -> Option<&Checker> {
        Some(&self.checkers.get(id.index())?.cfg)
    }

    /// One connect attempt of TCP_CHECK `id` ended: applies the retry rule, logs
    /// keepalived's lines, and hands a final result to the real server. Returns the
    /// microseconds until the next attempt (`None`: not a TCP_CHECK).
    pub fn tcp_attempt(
        &mut self,
        id: CheckerId,
        attempt: probe::Attempt,
        log_all: bool,
        lvs: &mut Lvs,
        out: &mut Output,
    ) -> Option<u64> {
        let c = self.checkers.get_mut(id.index())?;
        let Machine::Tcp(t) = &mut c.machine else {
            return None;
        };
        let step = t.on_attempt(
            &c.cfg,
            attempt,
            c.up,
            c.has_run,
            log_all || c.cfg.log_all_failures,
        );
        self.apply_step(id, &step, lvs, out);
        Some(step.next_in_us)
    }

    /// The checkers of kinds not implemented yet, which are ignored: for the daemon to
    /// report once at load.
    pub fn unimplemented(&self) -> &[UnimplementedChecker] {
        &self.unimplemented
    }

    /// One line per kind not implemented yet, with how many checkers of it are ignored.
    pub fn unimplemented_summary(&self) -> Vec<String> {
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        for u in &self.unimplemented {
            *counts.entry(u.keyword).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(k, n)| {
                format!(
                    "{k} is not implemented yet - ignoring {n} checker{}",
                    if n == 1 { "" } else { "s" }
                )
            })
            .collect()
    }

    /// The checkers of real server `rs`.
    fn rs_checkers(&self, rs: RsRef) -> &[CheckerState] {
        match self.by_rs.get(rs.vs).and_then(|v| v.get(rs.rs)) {
            Some(r) => &self.checkers[r.start as usize..r.end as usize],
            None => &[],
        }
    }

    /// A result of checker `id`: up or down. Applies keepalived's rules (see the module
    /// documentation) and tells `lvs` when the real server's health changes.
    pub fn set_result(&mut self, id: CheckerId, up: bool, lvs: &mut Lvs, out: &mut Output) {
        let Some(c) = self.checkers.get_mut(id.index()) else {
            return;
        };
        if !c.active() || lvs.is_stopped() {
            return;
        }
        let rs = c.rs;
        if c.up == up {
            if !c.has_run {
                c.has_run = true;
                if c.cfg.alpha || !up {
                    lvs.notify_rs(rs, out);
                }
            }
            return;
        }
        c.has_run = true;
        c.up = up;
        let alive = self.rs_alive(rs);
        lvs.set_rs_alive(rs, alive, out);
    }

    /// Moves to configuration `new`, before `lvs` does (it reads the real servers' old
    /// health from `lvs`). A checker of a real server that stays (same virtual server,
    /// same address and port) keeps its state when the old real server had a checker of
    /// the same kind and settings, so the real server keeps its health. A checker new to a
    /// real server that stays starts up, unless it is alpha and the real server is not
    /// alive or has a failed checker (keepalived: a new alpha checker does not take an
    /// alive real server down before it has run). Checkers of new real servers start as at
    /// start. Returns, for each old checker, the new checker that continues it.
    pub fn reload(&mut self, new: &LvsConfig, lvs: &Lvs) -> Vec<Option<CheckerId>> {
        let mut next = Checkers::new(new);
        let mut map = vec![None; self.checkers.len()];
        for (v, vs) in new.virtual_servers.iter().enumerate() {
            let vs_key = VsKey::of(vs);
            for (r, rs) in vs.real_servers.iter().enumerate() {
                let Some(old_rs) = lvs.find_rs(&vs_key, &RsKey::of(rs)) else {
                    continue;
                };
                let old_alive = lvs.rs_alive(old_rs).unwrap_or(true);
                let range = next.by_rs[v][r].clone();
                self.migrate(old_rs, old_alive, &mut next, range, &mut map);
            }
        }
        for c in &mut next.checkers {
            c.migrated = false;
        }
        *self = next;
        map
    }

    /// Carries the state of the checkers of `old_rs` over to the new checkers `range`.
    fn migrate(
        &self,
        old_rs: RsRef,
        old_alive: bool,
        next: &mut Checkers,
        range: std::ops::Range<u32>,
        map: &mut [Option<CheckerId>],
    ) {
        let old_range = match self.by_rs.get(old_rs.vs).and_then(|v| v.get(old_rs.rs)) {
            Some(r) => r.clone(),
            None => 0..0,
        };
        let mut used = vec![false; old_range.len()];
        for n in range.clone() {
            let nc = &next.checkers[n as usize];
            let found = old_range.clone().position(|o| {
                let oc = &self.checkers[o as usize];
                !used[(o - old_range.start) as usize]
                    && same_kind(&oc.cfg.kind, &nc.cfg.kind)
                    && oc.cfg.conn == nc.cfg.conn
            });
            if let Some(i) = found {
                used[i] = true;
                let o = old_range.start as usize + i;
                map[o] = Some(CheckerId(n));
                let (up, has_run) = (self.checkers[o].up, self.checkers[o].has_run);
                let nc = &mut next.checkers[n as usize];
                nc.up = up;
                nc.has_run = has_run;
                nc.migrated = true;
                // A FILE_CHECK keeps the value it follows.
                if let Machine::File(m) = &self.checkers[o].machine {
                    nc.machine = Machine::File(m.clone());
                }
            }
        }
        let news = &mut next.checkers[range.start as usize..range.end as usize];
        let failed = news.iter().any(|c| c.active() && c.migrated && !c.up);
        for c in news.iter_mut().filter(|c| c.active() && !c.migrated) {
            c.up = !(c.cfg.alpha && (failed || !old_alive));
        }
    }
}

/// Whether a checker continues another on reload: same kind and settings. A MISC_CHECK's
/// script is compared without where it was written (a line added above it must not reset
/// the checker's state).
fn same_kind(a: &CheckerKind, b: &CheckerKind) -> bool {
    match (a, b) {
        (CheckerKind::Misc(x), CheckerKind::Misc(y)) => {
            let mut y = y.clone();
            y.script.span = x.script.span;
            *x == y
        }
        _ => a == b,
    }
}

/// The checker side of the daemon in one piece: the IPVS engine and the checkers that
/// feed it, kept in step (built, reloaded and stopped together).
#[derive(Clone, Debug)]
pub struct Healthcheckers {
    lvs: Lvs,
    checkers: Checkers,
}

impl Healthcheckers {
    pub fn new(cfg: &LvsConfig, opts: LvsOptions) -> Healthcheckers {
        let checkers = Checkers::new(cfg);
        let lvs = Lvs::new(cfg, opts, |r| checkers.rs_alive(r));
        Healthcheckers { lvs, checkers }
    }

    /// Installs the table (see [`Lvs::start`]) and logs keepalived's start lines in its
    /// order: the quorum lines (from the engine), "Activating healthchecker for service RS
    /// for VS VS" for each checker that probes, then "Activating BFD healthchecker".
    pub fn start(&mut self, out: &mut Output) {
        self.lvs.start(out);
        for id in self.checkers.probes() {
            if let Some(c) = self.checkers.checkers.get(id.index()) {
                log::info!(
                    target: "check",
                    "Activating healthchecker for service {} for VS {}",
                    c.rs_name,
                    c.vs_name
                );
            }
        }
        log::info!(target: "check", "{ACTIVATING_BFD_LINE}");
    }

    /// A `bfd_instance` reported to the checkers went Up (`up`) or anything else.
    pub fn on_bfd_state(&mut self, name: &str, up: bool, out: &mut Output) {
        self.checkers.on_bfd_state(name, up, &mut self.lvs, out);
    }

    /// A result of checker `id` (for checker kinds driven from outside the core).
    pub fn set_result(&mut self, id: CheckerId, up: bool, out: &mut Output) {
        self.checkers.set_result(id, up, &mut self.lvs, out);
    }

    /// Track file `name` holds `value` (see [`Checkers::on_file_value`]): at start before
    /// [`Healthcheckers::start`], then on every change.
    pub fn on_file_value(&mut self, name: &str, value: i64, out: &mut Output) {
        self.checkers.on_file_value(name, value, &mut self.lvs, out);
    }

    /// See [`Checkers::http_fetch`].
    pub fn http_fetch(
        &mut self,
        id: CheckerId,
        fetch: http::Fetch,
        log_all: bool,
        out: &mut Output,
    ) -> Option<u64> {
        self.checkers
            .http_fetch(id, fetch, log_all, &mut self.lvs, out)
    }

    /// See [`Checkers::dgram_request`].
    pub fn dgram_request(&mut self, id: CheckerId, random: u64) -> Option<Vec<u8>> {
        self.checkers.dgram_request(id, random)
    }

    /// See [`Checkers::dgram_event`].
    pub fn dgram_event(
        &mut self,
        id: CheckerId,
        ev: probe::Dgram<'_>,
        log_all: bool,
        out: &mut Output,
    ) -> Option<probe::DgramNext> {
        self.checkers
            .dgram_event(id, ev, log_all, &mut self.lvs, out)
    }

    /// See [`Checkers::smtp_event`].
    pub fn smtp_event(
        &mut self,
        id: CheckerId,
        ev: smtp::SmtpEvent<'_>,
        log_all: bool,
        out: &mut Output,
    ) -> Option<smtp::SmtpNext> {
        self.checkers
            .smtp_event(id, ev, log_all, &mut self.lvs, out)
    }

    /// See [`Checkers::misc_exit`].
    pub fn misc_exit(
        &mut self,
        id: CheckerId,
        exit: probe::MiscExit,
        log_all: bool,
        out: &mut Output,
    ) -> Option<u64> {
        self.checkers
            .misc_exit(id, exit, log_all, &mut self.lvs, out)
    }

    /// See [`Checkers::tcp_attempt`].
    pub fn tcp_attempt(
        &mut self,
        id: CheckerId,
        attempt: probe::Attempt,
        log_all: bool,
        out: &mut Output,
    ) -> Option<u64> {
        self.checkers
            .tcp_attempt(id, attempt, log_all, &mut self.lvs, out)
    }

    /// Moves both to `new` (see [`Checkers::reload`] and [`Lvs::reload`]); returns the
    /// new id of each old checker.
    pub fn reload(&mut self, new: &LvsConfig, out: &mut Output) -> Vec<Option<CheckerId>> {
        self.reload_with_files(new, &[], out)
    }

    /// As [`Healthcheckers::reload`], with the track files' current values (name, value):
    /// a FILE_CHECK new to a real server takes its state from them, and the real servers
    /// keep the weights their FILE_CHECKs give (keepalived 2.2.7 logs no weight line on a
    /// reload that changes nothing, and one line from the old weight to the new when a
    /// FILE_CHECK's weight changes).
    pub fn reload_with_files(
        &mut self,
        new: &LvsConfig,
        files: &[(String, i64)],
        out: &mut Output,
    ) -> Vec<Option<CheckerId>> {
        let map = self.checkers.reload(new, &self.lvs);
        self.checkers.preset_files(files);
        let checkers = &self.checkers;
        let configured = |r: RsRef| {
            Some(
                new.virtual_servers
                    .get(r.vs)?
                    .real_servers
                    .get(r.rs)?
                    .weight,
            )
        };
        self.lvs.reload_weighted(
            new,
            |r| checkers.rs_alive(r),
            |r| checkers.file_weight_of(r, configured(r)?),
            out,
        );
        map
    }

    /// See [`Lvs::shutdown`].
    pub fn shutdown(&mut self, out: &mut Output) {
        self.lvs.shutdown(out);
    }

    pub fn lvs(&self) -> &Lvs {
        &self.lvs
    }

    pub fn checkers(&self) -> &Checkers {
        &self.checkers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::engine::tests::lvs_cfg;

    const BFD: &str = "bfd_instance B1 {\n neighbor_ip 10.0.0.2\n}\n\
        bfd_instance B2 {\n neighbor_ip 10.0.0.3\n}\n";

    fn vs(rs: &str) -> String {
        format!(
            "{BFD}virtual_server 10.0.0.1 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{rs}}}\n"
        )
    }

    #[test]
    fn ids_start_states_and_ignored() {
        let cfg = lvs_cfg(&vs(
            " real_server 10.0.0.2 80 {\n  BFD_CHECK {\n   name B1\n   alpha\n  }\n  SSL_GET {\n   url {\n    path /\n    regex x\n   }\n  }\n }\n\
             real_server 10.0.0.3 80 {\n  BFD_CHECK {\n   name B2\n  }\n }\n",
        ));
        let c = Checkers::new(&cfg);
        assert_eq!(c.len(), 3);
        assert_eq!(c.is_up(CheckerId(0)), Some(false));
        assert_eq!(c.is_up(CheckerId(1)), None);
        assert_eq!(c.is_up(CheckerId(2)), Some(true));
        assert_eq!(c.is_up(CheckerId(3)), None);
        assert_eq!(c.real_server(CheckerId(2)), Some(RsRef { vs: 0, rs: 1 }));
        assert!(!c.rs_alive(RsRef { vs: 0, rs: 0 }));
        assert!(c.rs_alive(RsRef { vs: 0, rs: 1 }));
        assert!(c.rs_alive(RsRef { vs: 5, rs: 5 }));
        assert_eq!(
            c.machine(CheckerId(0)),
            Some(&Machine::Bfd(bfd::BfdCheck { name: "B1".into() }))
        );
        assert_eq!(c.machine(CheckerId(1)), Some(&Machine::Ignored));
        // A result for an ignored checker changes nothing.
        let mut lvs = Lvs::new(&cfg, LvsOptions::default(), |r| c.rs_alive(r));
        let mut c = c;
        let mut out = Output::new();
        lvs.start(&mut out);
        out.clear();
        c.set_result(CheckerId(1), false, &mut lvs, &mut out);
        c.set_result(CheckerId(99), false, &mut lvs, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn reload_new_alpha_checker() {
        let one = " real_server 10.0.0.2 80 {\n  BFD_CHECK {\n   name B1\n  }\n }\n";
        let two = " real_server 10.0.0.2 80 {\n  BFD_CHECK {\n   name B1\n  }\n  \
                   BFD_CHECK {\n   name B2\n   alpha\n  }\n }\n";
        let mut h = Healthcheckers::new(&lvs_cfg(&vs(one)), LvsOptions::default());
        let mut out = Output::new();
        h.start(&mut out);
        // Alive: a new alpha checker does not take it down.
        out.clear();
        let map = h.reload(&lvs_cfg(&vs(two)), &mut out);
        assert_eq!(map, vec![Some(CheckerId(0))]);
        assert!(out.ops.is_empty(), "{:?}", out.ops);
        assert_eq!(h.checkers().is_up(CheckerId(1)), Some(true));
        // Failing: a new alpha checker starts down, and stays down after B1 recovers.
        h.reload(&lvs_cfg(&vs(one)), &mut out);
        h.on_bfd_state("B1", false, &mut out);
        h.reload(&lvs_cfg(&vs(two)), &mut out);
        assert_eq!(h.checkers().is_up(CheckerId(1)), Some(false));
        out.clear();
        h.on_bfd_state("B1", true, &mut out);
        assert!(out.ops.is_empty(), "{:?}", out.ops);
        h.on_bfd_state("B2", true, &mut out);
        assert_eq!(out.ops.len(), 1);
        // The checker removed: the real server is alive again without it.
        h.on_bfd_state("B2", false, &mut out);
        out.clear();
        h.reload(&lvs_cfg(&vs(one)), &mut out);
        assert_eq!(out.ops.len(), 1, "{:?}", out.ops);
        assert_eq!(
            out.log_lines(),
            vec![
                "Adding service [10.0.0.2]:tcp:80 to VS [10.0.0.1]:tcp:80".to_string(),
                "Gained quorum 1+0=1 <= 1 for VS [10.0.0.1]:tcp:80".to_string()
            ]
        );
    }
}
