//! Process scheduling and memory settings from `global_defs`: `vrrp_priority` and
//! `bfd_priority` (nice value), `vrrp_rt_priority` and `bfd_rt_priority` (SCHED_RR real-time
//! priority), `vrrp_no_swap` and `bfd_no_swap` (all memory locked).
//!
//! keepalived applies each to its own child process. We are one process doing VRRP and BFD
//! in one loop, so the strongest of the settings of the parts that run applies: the lowest
//! nice value, the highest real-time priority, memory locked if either asks. As keepalived,
//! a setting is applied when configured (at start and at a reload) and never undone.
//! `cpu_dma_latency N` (our extension) holds a PM QoS request that keeps CPUs out of idle
//! states slower to leave than N µs, for as long as it is configured: unlike the settings
//! above, removing it at a reload releases it, since it costs power on every CPU.
//!
//! `*_rlimit_rttime` is accepted but not applied: under SCHED_RR, a reload of a large
//! configuration can run longer than keepalived's 10 ms default without blocking, and the
//! kernel would kill the daemon for it.

use crate::config::model::Config;
use crate::os::pm_qos::CpuLatencyRequest;
use log::{info, warn};
use std::sync::Mutex;

/// What the configuration asks of the process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tuning {
    pub nice: Option<i32>,
    pub rt_priority: Option<i32>,
    pub no_swap: bool,
    /// `cpu_dma_latency` in µs.
    pub cpu_latency_us: Option<u32>,
}

/// The PM QoS request in force, held open for as long as the configuration asks for it.
static CPU_LATENCY: Mutex<Option<CpuLatencyRequest>> = Mutex::new(None);

impl Tuning {
    /// From the `global_defs` keywords of the parts that run.
    pub fn from_config(cfg: &Config, vrrp: bool, bfd: bool) -> Tuning {
        let mut t = Tuning::default();
        let parts = [("vrrp", vrrp), ("bfd", bfd)];
        for (part, runs) in parts {
            if !runs {
                continue;
            }
            let num = |kw: &str| -> Option<i32> {
                let n = cfg.global.accepted_num(&format!("{part}_{kw}"))?;
                i32::try_from(n).ok()
            };
            if let Some(n) = num("priority") {
                t.nice = Some(t.nice.map_or(n, |m| m.min(n)));
            }
            if let Some(p) = num("rt_priority") {
                t.rt_priority = Some(t.rt_priority.map_or(p, |q| q.max(p)));
            }
            // A bare flag: present is on (an argument is a configuration error and is
            // ignored; the dump reads it the same way).
            t.no_swap |= cfg.global.accepted.contains_key(&format!("{part}_no_swap"));
        }
        t.cpu_latency_us = cfg
            .global
            .accepted_num("cpu_dma_latency")
            .and_then(|n| u32::try_from(n).ok());
        t
    }

    /// Applies what is set. Failures (no privilege, a container without CAP_SYS_NICE) are
    /// logged; the daemon runs on without them.
    pub fn apply(&self) {
        if let Some(n) = self.nice {
            match crate::os::set_nice(n) {
                Ok(()) => info!(target: "sched", "process priority set to {n}"),
                Err(e) => warn!(target: "sched", "cannot set process priority {n}: {e}"),
            }
        }
        if let Some(p) = self.rt_priority {
            match crate::os::set_realtime(p) {
                Ok(()) => info!(target: "sched", "realtime priority set to {p} (SCHED_RR)"),
                Err(e) => warn!(target: "sched", "cannot set realtime priority {p}: {e}"),
            }
        }
        if self.no_swap {
            if let Err(e) = crate::os::lock_memory() {
                warn!(target: "sched", "cannot lock memory (no_swap): {e}");
            }
        }
        self.apply_cpu_latency();
    }

    /// Opens, changes or releases the PM QoS request.
    fn apply_cpu_latency(&self) {
        let mut held = CPU_LATENCY.lock().unwrap_or_else(|p| p.into_inner());
        match (self.cpu_latency_us, held.as_mut()) {
            (None, None) => {}
            (None, Some(_)) => {
                *held = None;
                info!(target: "sched", "cpu_dma_latency request released");
            }
            (Some(us), Some(r)) if r.us() == us => {}
            (Some(us), Some(r)) => match r.set(us) {
                Ok(()) => info!(target: "sched", "cpu_dma_latency set to {us} us"),
                Err(e) => warn!(target: "sched", "cannot set cpu_dma_latency {us}: {e}"),
            },
            (Some(us), None) => match CpuLatencyRequest::new(us) {
                Ok(r) => {
                    *held = Some(r);
                    info!(target: "sched", "cpu_dma_latency set to {us} us");
                }
                Err(e) => warn!(target: "sched", "cannot set cpu_dma_latency {us}: {e}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::semantic::{self, PermissiveHost, SemanticOptions};
    use crate::config::{diag::Diagnostics, parse_str, LoadOptions};

    fn cfg(text: &str) -> Config {
        let mut d = Diagnostics::new();
        let tree = parse_str(text, "t.conf", &LoadOptions::default(), &mut d);
        semantic::build(&tree, &PermissiveHost, &SemanticOptions::default(), &mut d)
    }

    #[test]
    fn strongest_of_the_running_parts() {
        let c = cfg("global_defs {\n vrrp_priority -5\n bfd_priority -10\n \
             vrrp_rt_priority 20\n bfd_rt_priority 10\n bfd_no_swap\n checker_priority -20\n}\n");
        assert_eq!(
            Tuning::from_config(&c, true, true),
            Tuning {
                nice: Some(-10),
                rt_priority: Some(20),
                no_swap: true,
                cpu_latency_us: None,
            }
        );
        assert_eq!(
            Tuning::from_config(&c, true, false),
            Tuning {
                nice: Some(-5),
                rt_priority: Some(20),
                no_swap: false,
                cpu_latency_us: None,
            }
        );
        assert_eq!(Tuning::from_config(&c, false, false), Tuning::default());
        assert!(!c.unimplemented.iter().any(|k| k == "vrrp_priority"));
        assert!(c.unimplemented.iter().any(|k| k == "checker_priority"));
    }

    #[test]
    fn cpu_dma_latency_is_read_and_implemented() {
        let c = cfg("global_defs {\n cpu_dma_latency 0\n}\n");
        assert_eq!(Tuning::from_config(&c, true, false).cpu_latency_us, Some(0));
        assert!(!c.unimplemented.iter().any(|k| k == "cpu_dma_latency"));
        let c = cfg("global_defs {\n cpu_dma_latency 20\n}\n");
        assert_eq!(
            Tuning::from_config(&c, false, false).cpu_latency_us,
            Some(20)
        );
        assert_eq!(
            Tuning::from_config(&cfg(""), true, true).cpu_latency_us,
            None
        );
    }
}
