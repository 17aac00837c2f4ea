//! FILE_CHECK (reference §5): no probe. The checker follows a `track_file`: each value the
//! daemon reads from the file (at start and on every change) gives the checker a status,
//! `value × weight` (negated with `reverse`), which is added to its real server's configured
//! weight together with the statuses of the real server's other FILE_CHECKs; the sum is
//! clamped to 0..=2^31−1. A status of −2^31 or less, or with weight 0 a non-zero value (a
//! zero one with `reverse`), puts the checker in FAULT: it is down.
//!
//! Checked against keepalived 2.2.7 in a QEMU guest (/work/scratch/ka-file, runs s7 to
//! s10): a weight change logs the engine's
//! "Changing weight from A to B for active|inactive service ..."; entering FAULT logs
//! "(RS): tracked file NAME now FAULT state" and leaves the weight alone; leaving it logs
//! "(RS): tracked file NAME leaving FAULT state" and brings the real server back at its new
//! weight without a "Changing weight" line. At start the values only set the state (no
//! line), except that a weight-0 `reverse` checker is not taken down by a zero value at
//! start (keepalived 2.2.7 does not; it is in FAULT all the same, so the next non-zero
//! value logs "leaving FAULT state").

use super::{CheckerId, Checkers, Machine};
use crate::config::model::lvs::CheckerKind;
use crate::lvs::{Lvs, Output};

/// keepalived's FAULT threshold: a status at or below it.
const FAULT_AT: i64 = -(1 << 31);

/// The status of a FILE_CHECK for file value `value`: `None` is FAULT.
pub fn status(value: i64, weight: i32, reverse: bool) -> Option<i64> {
    if weight == 0 {
        return if (value != 0) != reverse {
            None
        } else {
            Some(0)
        };
    }
    let m: i64 = if reverse { -1 } else { 1 };
    let s = value.saturating_mul(i64::from(weight)).saturating_mul(m);
    (s > FAULT_AT).then_some(s)
}

/// A real server's weight: its configured weight plus its FILE_CHECKs' statuses, clamped
/// to what IPVS takes.
pub fn rs_weight(configured: u32, statuses: impl IntoIterator<Item = i64>) -> u32 {
    let sum = statuses
        .into_iter()
        .fold(i64::from(configured), |a, s| a.saturating_add(s));
    sum.clamp(0, i64::from(i32::MAX)) as u32
}

/// The state of one FILE_CHECK.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileCheck {
    /// The last value read (`None`: none yet).
    pub value: Option<i64>,
    /// Its last status outside FAULT (kept while in FAULT), keepalived's "Current weight".
    pub status: i64,
    /// In FAULT.
    pub fault: bool,
}

impl FileCheck {
    pub fn new() -> FileCheck {
        FileCheck::default()
    }
}

impl Checkers {
    /// The track files FILE_CHECKs follow, in name order, without repeats.
    pub fn file_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .checkers
            .iter()
            .filter_map(|c| match (&c.machine, &c.cfg.kind) {
                (Machine::File(_), CheckerKind::File(f)) => Some(f.track_file.as_str()),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Track file `name` holds `value` (read at start, before [`Lvs::start`], and on every
    /// change): each FILE_CHECK following it, in id order, moves its real server's weight
    /// and goes in or out of FAULT, with keepalived's lines (see the module documentation).
    pub fn on_file_value(&mut self, name: &str, value: i64, lvs: &mut Lvs, out: &mut Output) {
        if lvs.is_stopped() {
            return;
        }
        let ids: Vec<CheckerId> = (0..self.checkers.len() as u32)
            .map(CheckerId)
            .filter(|id| {
                let c = &self.checkers[id.index()];
                matches!((&c.machine, &c.cfg.kind),
                    (Machine::File(_), CheckerKind::File(f)) if f.track_file == name)
            })
            .collect();
        for id in ids {
            self.file_value(id, name, value, lvs, out);
        }
    }

    fn file_value(
        &mut self,
        id: CheckerId,
        name: &str,
        value: i64,
        lvs: &mut Lvs,
        out: &mut Output,
    ) {
        let c = &mut self.checkers[id.index()];
        let (Machine::File(m), CheckerKind::File(cfg)) = (&mut c.machine, &c.cfg.kind) else {
            return;
        };
        if m.value == Some(value) {
            return;
        }
        let first = m.value.is_none();
        m.value = Some(value);
        let (weight, reverse) = (cfg.weight.unwrap_or(1), cfg.reverse);
        let new = status(value, weight, reverse);
        let was_fault = m.fault;
        m.fault = new.is_none();
        if let Some(s) = new {
            m.status = s;
        }
        let rs = c.rs;
        let rs_name = c.rs_name.clone();
        let w = self.file_weight(rs, lvs);
        match (was_fault, new.is_none()) {
            (false, true) => {
                if !first {
                    log::info!(target: "check", "({rs_name}): tracked file {name} now FAULT state");
                }
                // keepalived 2.2.7 does not take a weight-0 reverse checker down at start.
                let start_quirk = first && weight == 0 && reverse;
                if !start_quirk {
                    self.set_result(id, false, lvs, out);
                }
            }
            (true, false) => {
                log::info!(target: "check", "({rs_name}): tracked file {name} leaving FAULT state");
                lvs.preset_rs_weight(rs, w, out);
                self.set_result(id, true, lvs, out);
            }
            (false, false) => {
                if first {
                    lvs.preset_rs_weight(rs, w, out);
                    self.set_result(id, true, lvs, out);
                } else {
                    lvs.set_rs_weight(rs, w, out);
                }
            }
            (true, true) => {}
        }
    }

    /// After a reload: each FILE_CHECK that has no value yet (new to its real server) takes
    /// its state from `files` (name, value) without a line: FAULT takes it down.
    pub(super) fn preset_files(&mut self, files: &[(String, i64)]) {
        for c in &mut self.checkers {
            let (Machine::File(m), CheckerKind::File(cfg)) = (&mut c.machine, &c.cfg.kind) else {
                continue;
            };
            if m.value.is_some() {
                continue;
            }
            let Some((_, value)) = files.iter().find(|(n, _)| *n == cfg.track_file) else {
                continue;
            };
            let new = status(*value, cfg.weight.unwrap_or(1), cfg.reverse);
            m.value = Some(*value);
            m.fault = new.is_none();
            m.status = new.unwrap_or(0);
            if m.fault {
                c.up = false;
            }
        }
    }

    /// The weight `rs` gets from its FILE_CHECKs (`configured` plus their statuses), `None`
    /// when it has none.
    pub fn file_weight_of(&self, rs: crate::lvs::RsRef, configured: u32) -> Option<u32> {
        let cks = self.rs_checkers(rs);
        cks.iter()
            .any(|c| matches!(c.machine, Machine::File(_)))
            .then(|| {
                rs_weight(
                    configured,
                    cks.iter().filter_map(|c| match &c.machine {
                        Machine::File(m) => Some(m.status),
                        _ => None,
                    }),
                )
            })
    }

    /// `configured` plus the statuses of the FILE_CHECKs of `rs`, unclamped (keepalived's
    /// effective weight in its dump); `None` when it has none.
    pub fn file_sum(&self, rs: crate::lvs::RsRef, configured: u32) -> Option<i64> {
        let cks = self.rs_checkers(rs);
        cks.iter()
            .any(|c| matches!(c.machine, Machine::File(_)))
            .then(|| {
                cks.iter()
                    .filter_map(|c| match &c.machine {
                        Machine::File(m) => Some(m.status),
                        _ => None,
                    })
                    .fold(i64::from(configured), |a, s| a.saturating_add(s))
            })
    }

    /// The weight of `rs` from its FILE_CHECKs' statuses.
    fn file_weight(&self, rs: crate::lvs::RsRef, lvs: &Lvs) -> u32 {
        let configured = lvs.configured_weight(rs).unwrap_or(0);
        rs_weight(
            configured,
            self.rs_checkers(rs)
                .iter()
                .filter_map(|c| match &c.machine {
                    Machine::File(m) => Some(m.status),
                    _ => None,
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rule() {
        assert_eq!(status(3, 1, false), Some(3));
        assert_eq!(status(3, 2, true), Some(-6));
        assert_eq!(status(-20, -1, false), Some(20));
        assert_eq!(status(0, 5, true), Some(0));
        // The FAULT threshold: -2^31 or less.
        assert_eq!(status(-(1 << 31), 1, false), None);
        assert_eq!(status(-(1 << 30), 2, false), None);
        assert_eq!(status(-(1 << 31) + 1, 1, false), Some(-(1 << 31) + 1));
        assert_eq!(status(1 << 30, 2, true), None);
        assert_eq!(status(i64::from(i32::MIN), i32::MAX, false), None);
        // Weight 0: any non-zero value is FAULT; reversed, zero is.
        assert_eq!(status(0, 0, false), Some(0));
        assert_eq!(status(7, 0, false), None);
        assert_eq!(status(-1, 0, false), None);
        assert_eq!(status(0, 0, true), None);
        assert_eq!(status(4, 0, true), Some(0));
    }

    #[test]
    fn weights_add_up_and_clamp() {
        assert_eq!(rs_weight(1, [2, 6]), 9);
        assert_eq!(rs_weight(10, [-4]), 6);
        assert_eq!(rs_weight(1, [-20]), 0);
        assert_eq!(rs_weight(10, [1 << 31]), i32::MAX as u32);
        assert_eq!(rs_weight(1, []), 1);
    }

    use crate::check::{CheckerId, Healthcheckers};
    use crate::lvs::engine::tests::lvs_cfg;
    use crate::lvs::{LvsOptions, Output, RsRef};

    const CONF: &str = "track_file TF {\n file /nonexistent/tf\n weight 1\n}\n\
        virtual_server 10.0.0.1 80 {\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n\
         real_server 10.0.0.2 80 {\n  FILE_CHECK {\n   track_file TF\n  }\n }\n\
         real_server 10.0.0.3 80 {\n  weight 10\n  FILE_CHECK {\n   track_file TF\n   weight 2 reverse\n  }\n }\n\
         real_server 10.0.0.4 80 {\n  FILE_CHECK {\n   track_file TF\n   weight 0\n  }\n }\n\
         real_server 10.0.0.5 80 {\n  FILE_CHECK {\n   track_file TF\n   weight 0 reverse\n  }\n }\n}\n";

    const VS: &str = "VS [10.0.0.1]:tcp:80";

    fn rs(n: usize) -> RsRef {
        RsRef { vs: 0, rs: n }
    }

    fn change(n: u8, from: u32, to: u32) -> String {
        format!(
            "Changing weight from {from} to {to} for active service [10.0.0.{n}]:tcp:80 of {VS}"
        )
    }

    #[test]
    fn follows_the_values() {
        let mut h = Healthcheckers::new(&lvs_cfg(CONF), LvsOptions::default());
        assert_eq!(h.checkers().file_names(), vec!["TF"]);
        assert_eq!(h.checkers().probes(), vec![]);
        let mut out = Output::new();
        // At start: the states only, no lines; the weight-0 reverse checker stays up.
        h.on_file_value("TF", 2, &mut out);
        assert!(out.is_empty(), "{:?}", out.log_lines());
        h.start(&mut out);
        assert_eq!(
            out.log_lines(),
            vec![format!("Gained quorum 1+0=1 <= 10 for {VS}")]
        );
        let w = |h: &Healthcheckers, n| h.lvs().rs_weight(rs(n)).unwrap();
        let alive = |h: &Healthcheckers, n| h.lvs().rs_alive(rs(n)).unwrap();
        assert_eq!((w(&h, 0), w(&h, 1)), (3, 6));
        assert!(!alive(&h, 2));
        assert!(alive(&h, 3));
        assert_eq!(h.checkers().is_up(CheckerId(3)), Some(true));
        // 0: weights back, the weight-0 checker up, the reversed one in FAULT.
        out.clear();
        h.on_file_value("TF", 0, &mut out);
        assert_eq!(
            out.log_lines(),
            vec![
                change(2, 3, 1),
                change(3, 6, 10),
                format!("Adding service [10.0.0.4]:tcp:80 to {VS}"),
                format!("Removing service [10.0.0.5]:tcp:80 from {VS}"),
            ]
        );
        // The same value again: nothing.
        out.clear();
        h.on_file_value("TF", 0, &mut out);
        assert!(out.is_empty());
        // -2^31: FAULT for the first (weight left alone), the second clamped.
        h.on_file_value("TF", -(1 << 31), &mut out);
        assert_eq!(
            out.log_lines(),
            vec![
                format!("Removing service [10.0.0.2]:tcp:80 from {VS}"),
                change(3, 10, i32::MAX as u32),
                format!("Removing service [10.0.0.4]:tcp:80 from {VS}"),
                format!("Adding service [10.0.0.5]:tcp:80 to {VS}"),
            ]
        );
        assert_eq!(w(&h, 0), 1);
        // The dump's effective weight is the unclamped sum.
        assert_eq!(h.checkers().file_sum(rs(1), 10), Some(10 + (1 << 32)));
        assert_eq!(h.checkers().file_sum(rs(2), 1), Some(1));
        // Leaving FAULT: back at the new weight without a weight line.
        out.clear();
        h.on_file_value("TF", 5, &mut out);
        assert_eq!(
            out.log_lines(),
            vec![
                format!("Adding service [10.0.0.2]:tcp:80 to {VS}"),
                change(3, i32::MAX as u32, 0),
            ]
        );
        assert_eq!(w(&h, 0), 6);
        // Another track file: nothing.
        out.clear();
        h.on_file_value("TG", 1, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn reload_keeps_the_weights() {
        let mut h = Healthcheckers::new(&lvs_cfg(CONF), LvsOptions::default());
        let mut out = Output::new();
        h.on_file_value("TF", 5, &mut out);
        h.start(&mut out);
        let w = |h: &Healthcheckers, n| h.lvs().rs_weight(rs(n)).unwrap();
        assert_eq!((w(&h, 0), w(&h, 1)), (6, 0));
        // The same configuration: no line, no operation.
        out.clear();
        let files = [("TF".to_string(), 5)];
        h.reload_with_files(&lvs_cfg(CONF), &files, &mut out);
        assert!(out.is_empty(), "{:?} {:?}", out.log_lines(), out.ops);
        assert_eq!((w(&h, 0), w(&h, 1)), (6, 0));
        // The second checker's weight changed: one line, from the old weight to the new.
        let conf = CONF.replace("weight 2 reverse", "weight 1");
        h.reload_with_files(&lvs_cfg(&conf), &files, &mut out);
        assert_eq!(out.log_lines(), vec![change(3, 0, 15)]);
        // A new FILE_CHECK in FAULT takes its real server down.
        out.clear();
        let conf = conf.replace(
            "   track_file TF\n  }\n }\nreal_server 10.0.0.3",
            "   track_file TF\n  }\n  FILE_CHECK {\n   track_file TF\n   weight 0\n  }\n }\nreal_server 10.0.0.3",
        );
        h.reload_with_files(&lvs_cfg(&conf), &files, &mut out);
        assert_eq!(
            out.log_lines(),
            vec![format!("Removing service [10.0.0.2]:tcp:80 from {VS}")]
        );
        // Afterwards the values are followed as before (a weight change while the real
        // server is down for another checker's FAULT is "inactive", as in keepalived).
        out.clear();
        h.on_file_value("TF", 0, &mut out);
        assert_eq!(
            out.log_lines(),
            vec![
                format!(
                    "Changing weight from 6 to 1 for inactive service [10.0.0.2]:tcp:80 of {VS}"
                ),
                format!("Adding service [10.0.0.2]:tcp:80 to {VS}"),
                change(3, 15, 10),
                format!("Adding service [10.0.0.4]:tcp:80 to {VS}"),
                format!("Removing service [10.0.0.5]:tcp:80 from {VS}"),
            ]
        );
        assert_eq!(w(&h, 0), 1);
    }
}
