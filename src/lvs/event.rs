//! What the IPVS engine and the checkers tell the daemon besides table operations: real
//! server and quorum transitions (with the notify script to run), sorry-server and pool
//! changes, reload and shutdown steps. Each event knows keepalived 2.2.7's log line for it
//! ([`LvsEvent::log_line`], which the engine logs at info level as it emits the event) and
//! its notify-FIFO line ([`LvsEvent::fifo_line`]).

use super::table::IpvsOp;
use crate::config::model::Script;

/// Why a virtual server's quorum is reported down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuorumDownReason {
    /// Alive weight fell below quorum - hysteresis ("Lost quorum ...").
    Lost,
    /// First evaluation (start, or the virtual server after a reload) with a sorry server
    /// and too little weight ("Starting with quorum down ...").
    Init,
    /// The virtual server is going away (shutdown with `omega`, or removed by a reload):
    /// notifies only, no log line.
    Stopping,
}

/// One event, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LvsEvent {
    /// A real server became alive (`up`) or failed: it is added to or removed from the
    /// pool, or with `inhibit` enabled or disabled (weight 0). Run `script`
    /// (`notify_up`/`notify_down`).
    RsState {
        vs: String,
        rs: String,
        up: bool,
        inhibit: bool,
        script: Option<Script>,
    },
    /// Notify only, the real server's state did not change: an alpha checker's first
    /// failure, `rs_init_notifies` at start, an alive real server leaving (reload, or
    /// shutdown with `omega`). Run `script`.
    RsNotify {
        vs: String,
        rs: String,
        up: bool,
        script: Option<Script>,
    },
    /// A real server leaves the table at shutdown (`stopping`) or by a reload.
    RsCleared {
        vs: String,
        rs: String,
        stopping: bool,
        /// It was held at weight 0 (inhibit_on_failure and not alive).
        inhibited: bool,
    },
    /// A reload dropped this real server.
    RsGone { vs: String, rs: String },
    /// Quorum gained (`init`: at start or after a reload). Run `script` (`quorum_up`).
    QuorumUp {
        vs: String,
        quorum: u32,
        hysteresis: u32,
        threshold: i64,
        weight_sum: i64,
        init: bool,
        script: Option<Script>,
    },
    /// Quorum lost. Run `script` (`quorum_down`).
    QuorumDown {
        vs: String,
        quorum: u32,
        hysteresis: u32,
        threshold: i64,
        weight_sum: i64,
        reason: QuorumDownReason,
        script: Option<Script>,
    },
    /// The sorry server goes in (`active`, full weight) or out (removed, or weight 0 with
    /// `inhibit`).
    SorryServer {
        vs: String,
        sorry: String,
        active: bool,
        inhibit: bool,
    },
    /// The alive real servers go back into (`add`) or out of the pool as the sorry server
    /// leaves or comes in.
    Pool { vs: String, add: bool },
    /// A reload dropped a whole virtual server (`group`: it was `virtual_server group G`).
    VsRemoved { vs: String, group: Option<String> },
    /// A reload added or removed one entry of a virtual server group (`entry`: keepalived's
    /// text, `[ADDR]:proto:port[-LAST]` or a fwmark).
    GroupEntry {
        group: String,
        entry: GroupEntryText,
        added: bool,
    },
    /// A real server's weight changed (by a reload, or by a `misc_dynamic` checker).
    WeightChanged {
        vs: String,
        rs: String,
        from: u32,
        to: u32,
        alive: bool,
    },
    /// A BFD_CHECK heard its session go Up or Down.
    BfdCheck { bfd: String, rs: String, up: bool },
}

/// A group entry as keepalived names it in its reload lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEntryText {
    /// `[ADDR]:proto:port` or `[ADDR]:proto:port-LAST`.
    Addr(String),
    Fwmark(u32),
}

impl LvsEvent {
    /// keepalived 2.2.7's log line, if it logs one.
    pub fn log_line(&self) -> Option<String> {
        Some(match self {
            LvsEvent::RsState {
                vs,
                rs,
                up,
                inhibit,
                ..
            } => {
                let (verb, prep) = match (*up, *inhibit) {
                    (true, true) => ("Enabl", "of"),
                    (true, false) => ("Add", "to"),
                    (false, true) => ("Disabl", "of"),
                    (false, false) => ("Remov", "from"),
                };
                format!("{verb}ing service {rs} {prep} VS {vs}")
            }
            LvsEvent::RsNotify { .. } => return None,
            LvsEvent::RsCleared {
                vs,
                rs,
                stopping,
                inhibited,
            } => format!(
                "{} {}service {rs} from VS {vs}",
                if *stopping {
                    "Shutting down"
                } else {
                    "Removing"
                },
                if *inhibited { "(inhibited) " } else { "" }
            ),
            LvsEvent::RsGone { rs, .. } => format!("service {rs} no longer exist"),
            LvsEvent::QuorumUp {
                vs,
                quorum,
                hysteresis,
                threshold,
                weight_sum,
                ..
            } => format!(
                "Gained quorum {quorum}+{hysteresis}={threshold} <= {weight_sum} for VS {vs}"
            ),
            LvsEvent::QuorumDown {
                vs,
                quorum,
                hysteresis,
                threshold,
                weight_sum,
                reason,
                ..
            } => {
                let what = match reason {
                    QuorumDownReason::Lost => "Lost quorum",
                    QuorumDownReason::Init => "Starting with quorum down",
                    QuorumDownReason::Stopping => return None,
                };
                format!("{what} {quorum}-{hysteresis}={threshold} > {weight_sum} for VS {vs}")
            }
            LvsEvent::SorryServer {
                vs,
                sorry,
                active,
                inhibit,
            } => match (*active, *inhibit) {
                (true, true) => format!("Enabling sorry server {sorry} to VS {vs}"),
                (true, false) => format!("Adding sorry server {sorry} to VS {vs}"),
                (false, true) => format!("Disabling sorry server {sorry} from VS {vs}"),
                (false, false) => format!("Removing sorry server {sorry} from VS {vs}"),
            },
            LvsEvent::Pool { vs, add } => format!(
                "{} the pool for VS {vs}",
                if *add {
                    "Adding alive servers to"
                } else {
                    "Removing alive servers from"
                }
            ),
            LvsEvent::VsRemoved { vs, group } => match group {
                Some(g) => format!("Removing Virtual Server Group [{g}]"),
                None => format!("Removing Virtual Server {vs}"),
            },
            LvsEvent::GroupEntry {
                group,
                entry,
                added,
            } => match (entry, *added) {
                (GroupEntryText::Addr(a), true) => format!("VS [{a}] added into group {group}"),
                (GroupEntryText::Addr(a), false) => {
                    format!("VS [{a}] in group {group} no longer exists")
                }
                (GroupEntryText::Fwmark(m), true) => {
                    format!("VS [FWM {m}] added into group {group}")
                }
                (GroupEntryText::Fwmark(m), false) => {
                    format!("VS [{m}] in group {group} no longer exists")
                }
            },
            LvsEvent::WeightChanged {
                vs,
                rs,
                from,
                to,
                alive,
            } => format!(
                "Changing weight from {from} to {to} for {}active service {rs} of VS {vs}",
                if *alive { "" } else { "in" }
            ),
            LvsEvent::BfdCheck { bfd, rs, up } => {
                format!("BFD check of [{bfd}] RS({rs}) is {}", up_down(*up))
            }
        })
    }

    /// The line keepalived writes to `notify_fifo` / `lvs_notify_fifo` for it, if any
    /// (with its newline): `RS <rs> <vs> UP|DOWN` or `VS <vs> UP|DOWN`.
    pub fn fifo_line(&self) -> Option<String> {
        match self {
            LvsEvent::RsState { vs, rs, up, .. } | LvsEvent::RsNotify { vs, rs, up, .. } => {
                Some(format!("RS {rs} {vs} {}\n", up_down(*up)))
            }
            LvsEvent::QuorumUp { vs, .. } => Some(format!("VS {vs} UP\n")),
            LvsEvent::QuorumDown { vs, .. } => Some(format!("VS {vs} DOWN\n")),
            _ => None,
        }
    }

    /// The notify script to run for it, if one is configured.
    pub fn script(&self) -> Option<&Script> {
        match self {
            LvsEvent::RsState { script, .. }
            | LvsEvent::RsNotify { script, .. }
            | LvsEvent::QuorumUp { script, .. }
            | LvsEvent::QuorumDown { script, .. } => script.as_ref(),
            _ => None,
        }
    }
}

fn up_down(up: bool) -> &'static str {
    if up {
        "UP"
    } else {
        "DOWN"
    }
}

/// The outbox of the IPVS engine and the checkers: table operations to apply in order, and
/// events. A reused buffer: the daemon drains it after each call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub ops: Vec<IpvsOp>,
    pub events: Vec<LvsEvent>,
}

impl Output {
    pub fn new() -> Output {
        Output::default()
    }

    pub fn clear(&mut self) {
        self.ops.clear();
        self.events.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.events.is_empty()
    }

    /// Records `ev` and logs its keepalived line (info; target `lvs`, or `check` for a
    /// checker's own line).
    pub(crate) fn event(&mut self, ev: LvsEvent) {
        if let Some(line) = ev.log_line() {
            match ev {
                LvsEvent::BfdCheck { .. } => log::info!(target: "check", "{line}"),
                _ => log::info!(target: "lvs", "{line}"),
            }
        }
        self.events.push(ev);
    }

    /// The log lines of the events, in order (tests, the simulator's timeline).
    pub fn log_lines(&self) -> Vec<String> {
        self.events.iter().filter_map(LvsEvent::log_line).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VS: &str = "[10.0.0.1]:tcp:80";
    const RS: &str = "[10.0.0.2]:tcp:80";

    fn rs_state(up: bool, inhibit: bool) -> LvsEvent {
        LvsEvent::RsState {
            vs: VS.into(),
            rs: RS.into(),
            up,
            inhibit,
            script: None,
        }
    }

    fn line(e: LvsEvent) -> String {
        e.log_line().unwrap()
    }

    #[test]
    fn keepalived_lines() {
        assert_eq!(
            line(rs_state(true, false)),
            format!("Adding service {RS} to VS {VS}")
        );
        assert_eq!(
            line(rs_state(false, false)),
            format!("Removing service {RS} from VS {VS}")
        );
        assert_eq!(
            line(rs_state(true, true)),
            format!("Enabling service {RS} of VS {VS}")
        );
        assert_eq!(
            line(rs_state(false, true)),
            format!("Disabling service {RS} of VS {VS}")
        );
        let q = |reason| LvsEvent::QuorumDown {
            vs: VS.into(),
            quorum: 3,
            hysteresis: 1,
            threshold: 2,
            weight_sum: 1,
            reason,
            script: None,
        };
        assert_eq!(
            line(q(QuorumDownReason::Lost)),
            format!("Lost quorum 3-1=2 > 1 for VS {VS}")
        );
        assert_eq!(
            line(q(QuorumDownReason::Init)),
            format!("Starting with quorum down 3-1=2 > 1 for VS {VS}")
        );
        assert_eq!(q(QuorumDownReason::Stopping).log_line(), None);
        assert_eq!(
            q(QuorumDownReason::Stopping).fifo_line().unwrap(),
            format!("VS {VS} DOWN\n")
        );
        assert_eq!(
            line(LvsEvent::RsCleared {
                vs: VS.into(),
                rs: RS.into(),
                stopping: false,
                inhibited: true
            }),
            format!("Removing (inhibited) service {RS} from VS {VS}")
        );
        assert_eq!(
            line(LvsEvent::VsRemoved {
                vs: "[G]:0".into(),
                group: Some("G".into())
            }),
            "Removing Virtual Server Group [G]"
        );
        assert_eq!(
            line(LvsEvent::WeightChanged {
                vs: VS.into(),
                rs: RS.into(),
                from: 1,
                to: 3,
                alive: false
            }),
            format!("Changing weight from 1 to 3 for inactive service {RS} of VS {VS}")
        );
        assert_eq!(
            line(LvsEvent::BfdCheck {
                bfd: "B1".into(),
                rs: RS.into(),
                up: true
            }),
            format!("BFD check of [B1] RS({RS}) is UP")
        );
        let n = LvsEvent::RsNotify {
            vs: VS.into(),
            rs: RS.into(),
            up: true,
            script: None,
        };
        assert_eq!(n.log_line(), None);
        assert_eq!(n.fifo_line().unwrap(), format!("RS {RS} {VS} UP\n"));
    }
}
