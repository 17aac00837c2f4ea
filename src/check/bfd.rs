//! BFD_CHECK (reference §5, §6): no probe of its own; the checker follows the Up/Down
//! state of the named `bfd_instance`, as the BFD side reports it to the checkers (anything
//! but Up counts as Down). Every BFD_CHECK naming the session moves with it; each one that
//! changes (or hears its first event) logs keepalived's `BFD check of [NAME] RS(RS) is
//! UP|DOWN` and feeds the result to its real server.

use super::{CheckerId, Checkers, Machine};
use crate::config::model::lvs;
use crate::lvs::{Lvs, LvsEvent, Output};

/// A BFD_CHECK: the session it follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdCheck {
    pub name: String,
}

impl BfdCheck {
    pub fn new(cfg: &lvs::BfdCheck) -> BfdCheck {
        BfdCheck {
            name: cfg.name.clone(),
        }
    }
}

impl Checkers {
    /// Session `name` is now Up (`up`) or not: every BFD_CHECK following it takes that
    /// state, in configuration order.
    pub fn on_bfd_state(&mut self, name: &str, up: bool, lvs: &mut Lvs, out: &mut Output) {
        if lvs.is_stopped() {
            return;
        }
        let Some(ids) = self.by_bfd.get(name) else {
            return;
        };
        let ids: Vec<CheckerId> = ids.clone();
        for id in ids {
            let c = &self.checkers[id.index()];
            debug_assert!(matches!(&c.machine, Machine::Bfd(b) if b.name == name));
            // keepalived: a checker already in this state is left alone once it has run.
            if c.up == up && c.has_run {
                continue;
            }
            out.event(LvsEvent::BfdCheck {
                bfd: name.to_string(),
                rs: c.rs_name.clone(),
                up,
            });
            self.set_result(id, up, lvs, out);
        }
    }

    /// The sessions BFD_CHECK checkers follow, in name order.
    pub fn bfd_names(&self) -> impl Iterator<Item = &str> {
        self.by_bfd.keys().map(String::as_str)
    }
}
