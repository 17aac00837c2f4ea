//! Replay of a recording made with `keepalived-rs --record FILE` (format:
//! `keepalived_rs::daemon::record`): the recorded configuration, interface table and inputs
//! go through the same [`VrrpService`] in virtual time, and the state transitions it makes
//! are compared with the `STATE` records the daemon wrote.
//!
//! Timers: when the recording has `TIMEOUT` records the engine's timers run exactly when the
//! daemon ran them; otherwise they run at their deadlines (what an ideal driver would do).
//! Tracking scripts are not run: their results are recorded inputs.

use crate::env::SimEnv;
use crate::scenario::ConfigDef;
use crate::units::secs;
use crate::world::load_config;
use keepalived_rs::daemon::record::{parse_recording, RecordedInput};
use keepalived_rs::daemon::vrrp::VrrpService;
use keepalived_rs::vrrp::{Input, State};
use scheduler::Instant;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One state transition: time, instance, new state.
pub type Transition = (Instant, String, State);

/// What a replay did.
#[derive(Clone, Debug)]
pub struct Replay {
    pub output: String,
    /// The replayed transitions equal the recorded ones (same order, instances and states;
    /// same times when timer calls were recorded).
    pub matches: bool,
    pub replayed: Vec<Transition>,
    pub recorded: Vec<Transition>,
}

struct Replayer {
    svc: Option<VrrpService>,
    env: SimEnv,
    states: BTreeMap<String, State>,
    replayed: Vec<Transition>,
    out: String,
    t0: u64,
}

impl Replayer {
    fn observe(&mut self, t: Instant) {
        let Some(svc) = &self.svc else { return };
        for inst in svc.router().instances() {
            let st = inst.state();
            if self.states.get(inst.name()) == Some(&st) {
                continue;
            }
            self.states.insert(inst.name().to_string(), st);
            self.replayed.push((t, inst.name().to_string(), st));
            let _ = writeln!(
                self.out,
                "{:>15}  ({}) Entering {} STATE",
                format!("+{}", secs(t.as_micros().saturating_sub(self.t0))),
                inst.name(),
                st
            );
        }
        self.env.clear_step();
    }

    /// Ideal timers: everything due up to `t`, at its deadline.
    fn timers_until(&mut self, t: Instant) {
        for _ in 0..1_000_000 {
            let Some(svc) = self.svc.as_mut() else { return };
            let Some(d) = svc.poll_timeout() else { return };
            if d > t {
                return;
            }
            svc.handle_timeout(d, &mut self.env);
            self.observe(d);
        }
    }
}

/// Replays recording `text`. `base`: the directory the recording came from (unused unless
/// the recorded configuration path is relative).
pub fn replay(text: &str, base: Option<&Path>, trace: bool) -> Result<Replay, String> {
    crate::capture::init(if trace {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    });
    let recs = parse_recording(text)?;
    let recorded_timers = recs
        .iter()
        .any(|(_, r)| matches!(r, RecordedInput::Timeout));
    let recorded: Vec<Transition> = recs
        .iter()
        .filter_map(|(t, r)| match r {
            RecordedInput::State { instance, state } => Some((*t, instance.clone(), *state)),
            _ => None,
        })
        .collect();
    let t0 = recs
        .iter()
        .find(|(_, r)| matches!(r, RecordedInput::Start { .. }))
        .map(|(t, _)| t.as_micros())
        .ok_or("the recording has no START record")?;
    let mut rp = Replayer {
        svc: None,
        env: SimEnv::default(),
        states: BTreeMap::new(),
        replayed: Vec::new(),
        out: String::new(),
        t0,
    };
    let inputs = recs
        .iter()
        .filter(|(_, r)| !matches!(r, RecordedInput::State { .. }))
        .count();
    let _ = writeln!(
        rp.out,
        "replay: {} records, {} inputs, {} recorded transitions, {}",
        recs.len(),
        inputs,
        recorded.len(),
        if recorded_timers {
            "timers run when the daemon ran them (TIMEOUT records)"
        } else {
            "timers run at their deadlines (no TIMEOUT records)"
        }
    );
    let mut last = Instant::from_micros(t0);
    for (t, rec) in &recs {
        let t = *t;
        if !recorded_timers && !matches!(rec, RecordedInput::Start { .. }) {
            rp.timers_until(t);
        }
        last = t;
        match rec {
            RecordedInput::Start {
                config_path,
                config_id,
                config_text,
                interfaces,
            } => {
                let names: Vec<String> = interfaces.iter().map(|i| i.name.clone()).collect();
                let def = config_def(config_path, config_text, base);
                let (model, diags) = load_config(&def, config_id.as_deref(), &names, 0)
                    .map_err(|e| format!("recorded configuration rejected: {e}"))?;
                if trace {
                    for d in diags {
                        let _ = writeln!(rp.out, "config: {d}");
                    }
                }
                rp.svc = None;
                rp.states.clear();
                let _ = writeln!(
                    rp.out,
                    "{:>15}  start: {} with {} interface(s)",
                    format!("+{}", secs(t.as_micros().saturating_sub(t0))),
                    config_path,
                    interfaces.len()
                );
                match VrrpService::new(&model, interfaces, t, &mut rp.env) {
                    Ok(s) => rp.svc = Some(s),
                    Err(e) => return Err(format!("VRRP not started: {e}")),
                }
                rp.observe(t);
            }
            RecordedInput::Input(input) => {
                let Some(svc) = rp.svc.as_mut() else {
                    return Err("an input before the START record".into());
                };
                match input {
                    Input::Shutdown => svc.shutdown(t, &mut rp.env),
                    other => svc.handle(t, other.clone(), &mut rp.env),
                }
                rp.observe(t);
            }
            RecordedInput::Timeout => {
                if let Some(svc) = rp.svc.as_mut() {
                    svc.handle_timeout(t, &mut rp.env);
                    rp.observe(t);
                }
            }
            RecordedInput::Reload {
                config_path,
                config_text,
            } => {
                let Some(svc) = rp.svc.as_mut() else {
                    return Err("a RELOAD before the START record".into());
                };
                let ifaces: Vec<String> =
                    svc.router().interfaces().map(|i| i.name.clone()).collect();
                let def = config_def(config_path, config_text, base);
                let (model, _) = load_config(&def, None, &ifaces, 0)
                    .map_err(|e| format!("recorded reload configuration rejected: {e}"))?;
                if let Err(e) = svc.reload(&model, t, &mut rp.env) {
                    let _ = writeln!(rp.out, "reload failed: {e}");
                }
                rp.observe(t);
            }
            RecordedInput::State { .. } => {}
        }
    }
    if !recorded_timers {
        rp.timers_until(last);
    }
    let (matches, verdict) = compare(&recorded, &rp.replayed, recorded_timers, t0);
    rp.out.push_str(&verdict);
    Ok(Replay {
        output: rp.out,
        matches,
        replayed: rp.replayed,
        recorded,
    })
}

fn config_def(path: &str, text: &str, base: Option<&Path>) -> ConfigDef {
    let origin = match base {
        Some(b) if Path::new(path).is_relative() => b.join(path).display().to_string(),
        _ => path.to_string(),
    };
    ConfigDef {
        name: path.to_string(),
        text: text.to_string(),
        origin,
    }
}

fn compare(rec: &[Transition], rep: &[Transition], exact_times: bool, t0: u64) -> (bool, String) {
    let rel = |t: Instant| format!("+{}", secs(t.as_micros().saturating_sub(t0)));
    if rec.is_empty() {
        return (
            true,
            format!(
                "replay: {} transitions; the recording has no STATE records to compare with\n",
                rep.len()
            ),
        );
    }
    for (k, (a, b)) in rec.iter().zip(rep.iter()).enumerate() {
        if a.1 != b.1 || a.2 != b.2 || (exact_times && a.0 != b.0) {
            return (
                false,
                format!(
                    "replay: MISMATCH at transition {}: recorded {} ({}) {}, replayed {} ({}) {}\n",
                    k + 1,
                    rel(a.0),
                    a.1,
                    a.2,
                    rel(b.0),
                    b.1,
                    b.2
                ),
            );
        }
    }
    if rec.len() != rep.len() {
        return (
            false,
            format!(
                "replay: MISMATCH: {} transitions recorded, {} replayed\n",
                rec.len(),
                rep.len()
            ),
        );
    }
    let skew = rec
        .iter()
        .zip(rep.iter())
        .map(|(a, b)| a.0.as_micros().abs_diff(b.0.as_micros()))
        .max()
        .unwrap_or(0);
    (
        true,
        format!(
            "replay: {} transitions, the same as recorded{}\n",
            rep.len(),
            if exact_times {
                " (same instants)".to_string()
            } else {
                format!(" (timers at their deadlines: largest time difference {skew} us)")
            }
        ),
    )
}
