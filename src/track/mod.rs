//! L1 tracking: the objects a VRRP instance tracks and how they move its priority
//! (keepalived's `vrrp/vrrp_track.c`, `vrrp_scheduler.c:vrrp_script_child_thread`,
//! `core/track_process.c`, `trackers/track_file.c`; reference §3.6).
//!
//! Pure state, no clock and no I/O: the daemon runs the scripts, watches the files, counts the
//! processes and reads the BFD sessions, and hands the results to [`crate::vrrp::Router`],
//! which keeps one tracker of each kind here and evaluates every instance's list of
//! [`TrackRef`]s against them.
//!
//! Weight semantics, for a tracked object with weight `W` and multiplier `m` (−1 when
//! `reverse`):
//! * `W > 0` adds `W×m` while the object is up;
//! * `W < 0` adds `W×m` while it is down;
//! * `W = 0` puts the instance in FAULT while it is down (up, when reversed).
//!
//! `total = base + Σ contributions` and the effective priority is `clamp(total, 1, 254)`,
//! never changed for an address owner (base 255). Files contribute `value×W×m` clamped to
//! 253; −254 or below means FAULT (with `W = 0`, any non-zero value does).
#![forbid(unsafe_code)]

use scheduler::Instant;

/// RFC 5798 §5.2.4: the priority of the address owner.
pub const PRIORITY_OWNER: u8 = 255;

/// Index of a `vrrp_script` in [`crate::vrrp::RouterConfig::scripts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScriptId(pub u32);

/// Index of a `track_file` in [`crate::vrrp::RouterConfig::files`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// Index of a `vrrp_track_process` in [`crate::vrrp::RouterConfig::processes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcId(pub u32);

/// Index of a tracked `bfd_instance` in [`crate::vrrp::RouterConfig::bfds`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BfdId(pub u32);

/// What a [`TrackRef`] points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A network interface by name (up = administratively up and running).
    Interface(String),
    Script(ScriptId),
    File(FileId),
    Process(ProcId),
    Bfd(BfdId),
}

/// One tracked object of an instance, with the weight it carries there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackRef {
    pub target: Target,
    /// −254..=254; 0 means "FAULT while down".
    pub weight: i32,
    pub reverse: bool,
}

impl TrackRef {
    fn multiplier(&self) -> i64 {
        if self.reverse {
            -1
        } else {
            1
        }
    }
}

/// The health of a boolean tracked object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not known yet (a script that has not run, a process never counted): a weight-0
    /// tracker holds the instance in its initial wait, a weighted one adds nothing.
    Pending,
    Up,
    Down,
}

/// keepalived's `init_state` of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScriptInit {
    /// Never run: one success is enough, one failure is enough.
    Init,
    /// `init_fail`: starts failed, needs `rise` successes.
    Failed,
    Done,
}

/// A `vrrp_script` result filter: `rise` consecutive successes make it OK, `fall`
/// consecutive failures make it KO (keepalived's `result` counter, kept in
/// `0..=rise+fall-1`; OK means `result >= rise`).
#[derive(Clone, Debug)]
pub struct ScriptTracker {
    pub name: String,
    rise: u32,
    fall: u32,
    result: u32,
    init: ScriptInit,
    health: Health,
}

impl ScriptTracker {
    pub fn new(name: &str, rise: u32, fall: u32, init_fail: bool) -> ScriptTracker {
        let rise = rise.max(1);
        let fall = fall.max(1);
        let (result, init, health) = if init_fail {
            (0, ScriptInit::Failed, Health::Down)
        } else {
            // "one success is enough"
            (rise - 1, ScriptInit::Init, Health::Pending)
        };
        ScriptTracker {
            name: name.to_string(),
            rise,
            fall,
            result,
            init,
            health,
        }
    }

    pub fn health(&self) -> Health {
        self.health
    }

    /// keepalived's result counter (for dumps).
    pub fn result(&self) -> u32 {
        self.result
    }

    /// Records one run. Returns the new health when it changed.
    pub fn record(&mut self, ok: bool) -> Option<Health> {
        let top = self.rise + self.fall - 1;
        let mut changed = None;
        if ok {
            if self.result < self.rise - 1 {
                self.result += 1;
            } else if self.result != top {
                if self.result < self.rise {
                    changed = Some(Health::Up);
                }
                self.result = top;
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            if self.result == self.rise || self.init == ScriptInit::Init {
                changed = Some(Health::Down);
            }
            self.result = 0;
        }
        self.init = ScriptInit::Done;
        if let Some(h) = changed {
            self.health = h;
            log::info!(
                target: "vrrp",
                "VRRP_Script({}) {}",
                self.name,
                if h == Health::Up { "succeeded" } else { "failed" }
            );
        }
        changed
    }
}

/// A `track_file`: the integer last read from the file (0 until one is read, as keepalived
/// treats an unreadable file).
#[derive(Clone, Debug)]
pub struct FileTracker {
    pub name: String,
    pub value: i64,
}

/// Contribution of a file with value `value` under weight `w` and multiplier `m`:
/// `None` means FAULT.
pub fn file_status(value: i64, weight: i32, reverse: bool) -> Option<i64> {
    let m: i64 = if reverse { -1 } else { 1 };
    if weight == 0 {
        // FAULT when the value is non-zero (zero, when reversed).
        return if (value != 0) == (m == 1) {
            None
        } else {
            Some(0)
        };
    }
    let status = value.saturating_mul(i64::from(weight)).saturating_mul(m);
    if status <= -254 {
        None
    } else {
        Some(status.min(253))
    }
}

/// A `vrrp_track_process`: OK while `quorum <= count <= quorum_max`, with the change
/// debounced by `fork_delay` (gaining) and `terminate_delay` (losing).
#[derive(Clone, Debug)]
pub struct ProcessTracker {
    pub name: String,
    pub quorum: u32,
    pub quorum_max: u32,
    pub fork_delay_us: u64,
    pub terminate_delay_us: u64,
    count: Option<u32>,
    health: Health,
    pending: Option<(bool, Instant)>,
}

impl ProcessTracker {
    pub fn new(
        name: &str,
        quorum: u32,
        quorum_max: Option<u32>,
        fork_delay_us: u64,
        terminate_delay_us: u64,
    ) -> ProcessTracker {
        ProcessTracker {
            name: name.to_string(),
            quorum,
            quorum_max: quorum_max.unwrap_or(u32::MAX),
            fork_delay_us,
            terminate_delay_us,
            count: None,
            health: Health::Pending,
            pending: None,
        }
    }

    pub fn health(&self) -> Health {
        self.health
    }

    /// The last process count received.
    pub fn count(&self) -> Option<u32> {
        self.count
    }

    /// When a debounced change is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.map(|(_, t)| t)
    }

    /// Records a new count. Returns the new health when it changed now; a debounced change
    /// is applied by [`ProcessTracker::expire`].
    pub fn update(&mut self, count: u32, now: Instant) -> Option<Health> {
        self.count = Some(count);
        let have = self.quorum <= count && count <= self.quorum_max;
        let cur = match self.health {
            // The first count is the initial scan: no debounce (keepalived scans /proc once
            // at start).
            Health::Pending => return Some(self.apply(have)),
            h => h == Health::Up,
        };
        if cur == have {
            self.pending = None;
            return None;
        }
        let delay = if have {
            self.fork_delay_us
        } else {
            self.terminate_delay_us
        };
        if delay == 0 {
            self.pending = None;
            return Some(self.apply(have));
        }
        if self.pending.map(|(p, _)| p) != Some(have) {
            self.pending = Some((have, now.saturating_add_micros(delay)));
        }
        None
    }

    /// Applies a debounced change that is due at `now`.
    pub fn expire(&mut self, now: Instant) -> Option<Health> {
        match self.pending {
            Some((have, at)) if at <= now => {
                self.pending = None;
                Some(self.apply(have))
            }
            _ => None,
        }
    }

    fn apply(&mut self, have: bool) -> Health {
        self.health = if have { Health::Up } else { Health::Down };
        log::info!(
            target: "vrrp",
            "Quorum {} for tracked process {}",
            if have { "gained" } else { "lost" },
            self.name
        );
        self.health
    }
}

/// A tracked BFD session; keepalived starts it down.
#[derive(Clone, Debug)]
pub struct BfdTracker {
    pub name: String,
    pub up: bool,
}

/// Every tracker of a router, indexed by the ids in the configuration.
#[derive(Clone, Debug, Default)]
pub struct Trackers {
    pub scripts: Vec<ScriptTracker>,
    pub files: Vec<FileTracker>,
    pub processes: Vec<ProcessTracker>,
    pub bfds: Vec<BfdTracker>,
}

/// The result of evaluating an instance's tracked objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Σ contributions of weighted objects.
    pub weight: i64,
    /// Weight-0 objects that are down (files at −254): each one holds the instance in FAULT.
    pub faults: u32,
    /// Weight-0 objects whose state is not known yet (scripts that have not run).
    pub pending: u32,
}

/// Why a tracked object holds an instance in FAULT, for keepalived's startup messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultReason {
    Interface(String),
    Script(String),
    File(String, i64),
    Process(String),
    Bfd(String),
}

impl Trackers {
    fn health(&self, target: &Target, iface_up: &dyn Fn(&str) -> bool) -> Health {
        let up = |b: bool| if b { Health::Up } else { Health::Down };
        match target {
            Target::Interface(name) => up(iface_up(name)),
            Target::Script(ScriptId(i)) => self
                .scripts
                .get(*i as usize)
                .map_or(Health::Pending, |s| s.health),
            Target::Process(ProcId(i)) => self
                .processes
                .get(*i as usize)
                .map_or(Health::Pending, |p| p.health),
            Target::Bfd(BfdId(i)) => up(self.bfds.get(*i as usize).is_some_and(|b| b.up)),
            Target::File(_) => Health::Up,
        }
    }

    /// Contribution of one reference: `Ok(weight)` or `Err(())` for FAULT, `None` when
    /// pending.
    fn contribution(&self, r: &TrackRef, iface_up: &dyn Fn(&str) -> bool) -> Contribution {
        if let Target::File(FileId(i)) = r.target {
            let value = self.files.get(i as usize).map_or(0, |f| f.value);
            return match file_status(value, r.weight, r.reverse) {
                Some(w) => Contribution::Weight(w),
                None => Contribution::Fault,
            };
        }
        let m = r.multiplier();
        let w = i64::from(r.weight);
        match self.health(&r.target, iface_up) {
            Health::Pending if r.weight == 0 => Contribution::Pending,
            Health::Pending => Contribution::Weight(0),
            h => {
                let ok = h == Health::Up;
                if r.weight == 0 {
                    if ok != (m == 1) {
                        Contribution::Fault
                    } else {
                        Contribution::Weight(0)
                    }
                } else if ok == (w > 0) {
                    Contribution::Weight(w * m)
                } else {
                    Contribution::Weight(0)
                }
            }
        }
    }

    /// Evaluates an instance's list of tracked objects.
    pub fn evaluate(&self, refs: &[TrackRef], iface_up: &dyn Fn(&str) -> bool) -> Evaluation {
        let mut e = Evaluation::default();
        for r in refs {
            match self.contribution(r, iface_up) {
                Contribution::Weight(w) => e.weight += w,
                Contribution::Fault => e.faults += 1,
                Contribution::Pending => e.pending += 1,
            }
        }
        e
    }

    /// The objects that hold an instance in FAULT, in list order.
    pub fn fault_reasons(
        &self,
        refs: &[TrackRef],
        iface_up: &dyn Fn(&str) -> bool,
    ) -> Vec<FaultReason> {
        let mut out = Vec::new();
        for r in refs {
            if self.contribution(r, iface_up) != Contribution::Fault {
                continue;
            }
            out.push(match &r.target {
                Target::Interface(n) => FaultReason::Interface(n.clone()),
                Target::Script(ScriptId(i)) => {
                    FaultReason::Script(self.scripts[*i as usize].name.clone())
                }
                Target::File(FileId(i)) => {
                    let f = &self.files[*i as usize];
                    let status = if r.weight == 0 {
                        -254
                    } else {
                        f.value
                            .saturating_mul(i64::from(r.weight))
                            .saturating_mul(r.multiplier())
                    };
                    FaultReason::File(f.name.clone(), status)
                }
                Target::Process(ProcId(i)) => {
                    FaultReason::Process(self.processes[*i as usize].name.clone())
                }
                Target::Bfd(BfdId(i)) => FaultReason::Bfd(self.bfds[*i as usize].name.clone()),
            });
        }
        out
    }

    /// The earliest debounced process change.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.processes.iter().filter_map(|p| p.deadline()).min()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Contribution {
    Weight(i64),
    Fault,
    Pending,
}

/// keepalived's `vrrp_set_effective_priority`: clamp to 1..=254, owner untouched.
pub fn effective_priority(base: u8, total: i64) -> u8 {
    if base == PRIORITY_OWNER {
        PRIORITY_OWNER
    } else {
        total.clamp(1, i64::from(PRIORITY_OWNER) - 1) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &mut ScriptTracker, results: &[bool]) -> Vec<Option<Health>> {
        results.iter().map(|&ok| t.record(ok)).collect()
    }

    #[test]
    fn script_first_result_decides() {
        let mut t = ScriptTracker::new("s", 3, 2, false);
        assert_eq!(t.health(), Health::Pending);
        assert_eq!(t.record(true), Some(Health::Up));
        let mut t = ScriptTracker::new("s", 3, 2, false);
        assert_eq!(t.record(false), Some(Health::Down));
    }

    #[test]
    fn script_rise_and_fall() {
        let mut t = ScriptTracker::new("s", 2, 3, false);
        assert_eq!(t.record(true), Some(Health::Up));
        // fall = 3: the third consecutive failure flips it.
        assert_eq!(run(&mut t, &[false, false]), vec![None, None]);
        assert_eq!(t.record(true), None); // back to the top
        assert_eq!(
            run(&mut t, &[false, false, false]),
            vec![None, None, Some(Health::Down)]
        );
        // rise = 2
        assert_eq!(run(&mut t, &[true, true]), vec![None, Some(Health::Up)]);
    }

    #[test]
    fn script_init_fail_needs_rise() {
        let mut t = ScriptTracker::new("s", 2, 1, true);
        assert_eq!(t.health(), Health::Down);
        assert_eq!(t.record(false), None);
        assert_eq!(run(&mut t, &[true, true]), vec![None, Some(Health::Up)]);
        assert_eq!(t.record(false), Some(Health::Down));
    }

    #[test]
    fn weights_and_reverse() {
        let tr = Trackers {
            scripts: vec![ScriptTracker::new("a", 1, 1, false)],
            files: vec![FileTracker {
                name: "f".into(),
                value: 3,
            }],
            ..Default::default()
        };
        let iface = |n: &str| n == "up";
        let r = |target, weight, reverse| TrackRef {
            target,
            weight,
            reverse,
        };
        let refs = [
            r(Target::Interface("up".into()), 10, false),
            r(Target::Interface("down".into()), -20, false),
            r(Target::Interface("up".into()), 5, true),
            r(Target::Interface("down".into()), 0, true),
            r(Target::File(FileId(0)), 7, false),
        ];
        let e = tr.evaluate(&refs, &iface);
        assert_eq!(
            e,
            Evaluation {
                weight: 10 - 20 - 5 + 21,
                faults: 0,
                pending: 0
            }
        );
        let e = tr.evaluate(&[r(Target::Interface("down".into()), 0, false)], &iface);
        assert_eq!(e.faults, 1);
        let e = tr.evaluate(&[r(Target::Script(ScriptId(0)), 0, false)], &iface);
        assert_eq!(e.pending, 1);
        let e = tr.evaluate(&[r(Target::Script(ScriptId(0)), 4, false)], &iface);
        assert_eq!(e, Evaluation::default());
    }

    #[test]
    fn file_status_rules() {
        assert_eq!(file_status(0, 0, false), Some(0));
        assert_eq!(file_status(1, 0, false), None);
        assert_eq!(file_status(0, 0, true), None);
        assert_eq!(file_status(100, 10, false), Some(253));
        assert_eq!(file_status(-127, 2, false), None);
        assert_eq!(file_status(-1, 253, false), Some(-253));
        assert_eq!(file_status(2, -3, true), Some(6));
    }

    #[test]
    fn effective_priority_clamps() {
        assert_eq!(effective_priority(100, 300), 254);
        assert_eq!(effective_priority(100, -5), 1);
        assert_eq!(effective_priority(255, 10), 255);
        assert_eq!(effective_priority(100, 80), 80);
    }

    #[test]
    fn process_debounce() {
        let t0 = Instant::from_secs(10);
        let mut p = ProcessTracker::new("p", 2, Some(3), 1_000, 2_000);
        assert_eq!(p.update(1, t0), Some(Health::Down));
        assert_eq!(p.update(2, t0), None);
        assert_eq!(p.deadline(), Some(t0.saturating_add_micros(1_000)));
        assert_eq!(p.expire(t0.saturating_add_micros(999)), None);
        assert_eq!(p.expire(t0.saturating_add_micros(1_000)), Some(Health::Up));
        // A loss cancelled before its delay does nothing.
        assert_eq!(p.update(4, t0), None);
        assert!(p.deadline().is_some());
        assert_eq!(p.update(3, t0), None);
        assert_eq!(p.deadline(), None);
        assert_eq!(p.health(), Health::Up);
    }
}
