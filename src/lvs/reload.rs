//! Reload (reference §4.2): the new configuration's virtual servers are matched to the old
//! ones (group name, else family and fwmark, else protocol, address and port), their real
//! servers by address and port. A matched virtual server keeps its quorum and sorry-server
//! state, a matched real server its health (the checkers carry it over, see
//! [`crate::check::Checkers::reload`]); new ones start as at start; the rest leaves. Then
//! the table is diffed as after any input: settings that changed give `EditService` and
//! `EditDest`.

use super::build::{vsg_entry_text, VsKey};
use super::engine::{
    build_states, clear_rs_events, clear_vs_events, owners_of, rs_notify_event, rs_state_event,
    sorry_event, Lvs, Phase, RsRef, VsState,
};
use super::event::{GroupEntryText, LvsEvent, Output};
use crate::config::model::lvs::{LvsConfig, VsgEntry};

impl Lvs {
    /// Moves to configuration `new`, each real server alive or not as `alive` says
    /// (indices into `new`). Appends the table operations and the events (keepalived's
    /// reload lines: "Removing Virtual Server ...", "service ... no longer exist",
    /// "Removing service ... from VS ...", group entries added and gone, weight changes,
    /// quorum and sorry server as at start).
    pub fn reload(&mut self, new: &LvsConfig, alive: impl Fn(RsRef) -> bool, out: &mut Output) {
        self.reload_weighted(new, alive, |_| None, out);
    }

    /// As [`Lvs::reload`], each real server at the weight `weight` gives (`None`: its
    /// configured weight), as FILE_CHECKs set it.
    pub fn reload_weighted(
        &mut self,
        new: &LvsConfig,
        alive: impl Fn(RsRef) -> bool,
        weight: impl Fn(RsRef) -> Option<u32>,
        out: &mut Output,
    ) {
        if self.phase == Phase::Stopped {
            return;
        }
        let mut new_vss = build_states(new, &alive);
        for (v, vs) in new_vss.iter_mut().enumerate() {
            for (r, rs) in vs.rss.iter_mut().enumerate() {
                if let Some(w) = weight(RsRef { vs: v, rs: r }) {
                    rs.weight = w;
                }
            }
        }
        let mut old_vss = std::mem::take(&mut self.vss);
        let matched = match_vss(&old_vss, &new_vss);
        if self.phase == Phase::Built {
            self.vss = new_vss;
            self.owners = owners_of(&self.vss);
            return;
        }
        let mut taken = vec![false; old_vss.len()];
        for o in matched.iter().flatten() {
            taken[*o] = true;
        }
        for (o, vs) in old_vss.iter_mut().enumerate() {
            if !taken[o] {
                out.event(LvsEvent::VsRemoved {
                    vs: vs.name.clone(),
                    group: vs.cfg.group_name().map(str::to_string),
                });
                clear_vs_events(vs, false, out);
            }
        }
        for (n, vs) in new_vss.iter_mut().enumerate() {
            if let Some(o) = matched[n] {
                carry_over(&mut old_vss[o], vs, self.opts.rs_init_notifies, out);
            }
        }
        self.vss = new_vss;
        self.owners = owners_of(&self.vss);
        for (n, m) in matched.iter().enumerate() {
            if m.is_none() {
                self.init_notifies(n, out);
            }
            self.update_quorum(n, true, out);
        }
        self.sync_all(out);
    }
}

/// For each new virtual server, the old one it continues (each old one used once).
fn match_vss(old: &[VsState], new: &[VsState]) -> Vec<Option<usize>> {
    let mut taken = vec![false; old.len()];
    new.iter()
        .map(|n| {
            let o = (0..old.len()).find(|&o| !taken[o] && old[o].key == n.key)?;
            taken[o] = true;
            Some(o)
        })
        .collect()
}

/// Carries the state of `old` over to its continuation `new`, with the events of the
/// differences.
fn carry_over(old: &mut VsState, new: &mut VsState, init_notifies: bool, out: &mut Output) {
    new.quorum_up = old.quorum_up;
    if let VsKey::Group { name, .. } = &new.key {
        group_entry_events(old, new, name, out);
    }
    // Real servers gone.
    for r in 0..old.rss.len() {
        if !new.rss.iter().any(|n| n.key == old.rss[r].key) {
            out.event(LvsEvent::RsGone {
                vs: old.name.clone(),
                rs: old.rss[r].name.clone(),
            });
            clear_rs_events(old, r, false, out);
        }
    }
    // Real servers kept (health from the checkers) and new.
    for r in 0..new.rss.len() {
        let Some(o) = old.rss.iter().find(|o| o.key == new.rss[r].key) else {
            // New: as at start.
            if init_notifies && new.rss[r].alive {
                out.event(rs_notify_event(new, &new.rss[r], true));
            }
            continue;
        };
        let n = &new.rss[r];
        // The real server starts over at its configured weight: a weight a `misc_dynamic`
        // checker set is dropped (not checked against keepalived; its next run sets it
        // again), and the line names the weight it had.
        if o.weight != n.weight {
            out.event(LvsEvent::WeightChanged {
                vs: new.name.clone(),
                rs: n.name.clone(),
                from: o.weight,
                to: n.weight,
                alive: n.alive,
            });
        }
        if o.alive != n.alive {
            out.event(rs_state_event(new, r));
        }
    }
    // The sorry server stays in if it is the same one.
    let same_sorry = match (&old.cfg.sorry_server, &new.cfg.sorry_server) {
        (Some(a), Some(b)) => a.addr == b.addr && a.port == b.port,
        _ => false,
    };
    if old.sorry_active && same_sorry {
        new.sorry_active = true;
    } else if old.sorry_active {
        let mut ev = sorry_event(old, false);
        if let LvsEvent::SorryServer { inhibit, .. } = &mut ev {
            // keepalived removes the old one outright.
            *inhibit = false;
        }
        out.event(ev);
        if new.cfg.sorry_server.is_none() {
            out.event(LvsEvent::Pool {
                vs: new.name.clone(),
                add: true,
            });
        }
    }
}

/// "VS [...] in group G no longer exists" and "VS [...] added into group G".
fn group_entry_events(old: &VsState, new: &VsState, name: &str, out: &mut Output) {
    let (Some(og), Some(ng)) = (&old.group, &new.group) else {
        return;
    };
    let text = |e: &VsgEntry, vs: &VsState| match e {
        VsgEntry::Fwmark { mark, .. } => GroupEntryText::Fwmark(*mark),
        _ => GroupEntryText::Addr(vsg_entry_text(e, vs.cfg.protocol).unwrap_or_default()),
    };
    for e in &og.entries {
        if !ng.entries.iter().any(|n| same_entry(e, n)) {
            out.event(LvsEvent::GroupEntry {
                group: name.to_string(),
                entry: text(e, old),
                added: false,
            });
        }
    }
    for e in &ng.entries {
        if !og.entries.iter().any(|o| same_entry(o, e)) {
            out.event(LvsEvent::GroupEntry {
                group: name.to_string(),
                entry: text(e, new),
                added: true,
            });
        }
    }
}

/// Group entries are the same when they name the same addresses and port, or mark.
fn same_entry(a: &VsgEntry, b: &VsgEntry) -> bool {
    match (a, b) {
        (
            VsgEntry::Range {
                first: f1,
                last: l1,
                port: p1,
                ..
            },
            VsgEntry::Range {
                first: f2,
                last: l2,
                port: p2,
                ..
            },
        ) => f1 == f2 && l1 == l2 && p1 == p2,
        (VsgEntry::Fwmark { mark: m1, .. }, VsgEntry::Fwmark { mark: m2, .. }) => m1 == m2,
        _ => false,
    }
}
