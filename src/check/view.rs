//! Read-only views of the checkers for keepalived's SIGUSR1 checker dump
//! (`keepalived_check.data`, src/daemon/dump/check.rs).

use super::{Checkers, Healthcheckers, Machine};
use crate::config::model::lvs::Checker;
use crate::lvs::RsRef;

/// One checker as the dump shows it.
#[derive(Clone, Copy, Debug)]
pub struct CheckerView<'a> {
    /// Its real server.
    pub rs: RsRef,
    /// keepalived's `FMT_VS` of its virtual server.
    pub vs_name: &'a str,
    /// keepalived's `FMT_RS` of its real server.
    pub rs_name: &'a str,
    pub cfg: &'a Checker,
    pub machine: &'a Machine,
    pub up: bool,
    pub has_run: bool,
}

impl Checkers {
    /// Every checker, in configuration order.
    pub fn views(&self) -> impl Iterator<Item = CheckerView<'_>> {
        self.checkers.iter().map(|c| CheckerView {
            rs: c.rs,
            vs_name: &c.vs_name,
            rs_name: &c.rs_name,
            cfg: &c.cfg,
            machine: &c.machine,
            up: c.up,
            has_run: c.has_run,
        })
    }

    /// How many checkers of `rs` are down (keepalived's `num_failed_checkers`).
    pub fn failed_count(&self, rs: RsRef) -> usize {
        self.checkers
            .iter()
            .filter(|c| c.rs == rs && c.active() && !c.up)
            .count()
    }
}

impl Healthcheckers {
    /// Every checker, in configuration order.
    pub fn checker_views(&self) -> impl Iterator<Item = CheckerView<'_>> {
        self.checkers.views()
    }
}
