//! Handing the engine's operations to a kernel table: the one piece of the checker side's
//! driving that the daemon (the real kernel, `os::ipvs`) and the simulator (a fake table)
//! share, so both run the same rules.
//!
//! The rules: an operation the kernel refuses is reported; an `AddService` or `AddDest`
//! refused because it is already there (EEXIST: a table a killed run left) is retried as an
//! edit, so the entry takes this run's settings; and a service taken over that way keeps
//! only the destinations this run wants (one the killed run had, since removed from the
//! configuration or failed meanwhile, would otherwise stay until this run touched it).

use super::engine::InstalledService;
use super::table::{Dest, DestKey, IpvsOp, ServiceKey};
use std::collections::BTreeMap;

/// What the driving needs of a kernel's IPVS table.
pub trait IpvsKernel {
    type Error: std::fmt::Display;
    fn apply(&mut self, op: &IpvsOp) -> Result<(), Self::Error>;
    /// The destinations of a service as the kernel holds them.
    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Self::Error>;
    /// Whether the refusal says the entry is already there (EEXIST).
    fn exists(e: &Self::Error) -> bool;
}

/// One thing that happened while applying, for the caller's log, trace and counters.
pub enum Applied<'a, E> {
    /// The kernel carried out `op` (`retry`: the edit that followed an EEXIST).
    Done { op: &'a IpvsOp, retry: bool },
    /// The kernel refused `op`.
    Refused {
        op: &'a IpvsOp,
        retry: bool,
        error: E,
    },
    /// A destination of a taken-over service that this run does not want, deleted.
    Stale { service: ServiceKey, dest: DestKey },
    /// Reading a taken-over service's destinations failed.
    ListFailed { service: ServiceKey, error: E },
}

/// Applies `ops` in order by the rules above. `installed` is the engine's table after these
/// operations (`Lvs::installed`).
pub fn apply_ops<K: IpvsKernel>(
    kernel: &mut K,
    ops: &[IpvsOp],
    installed: &BTreeMap<ServiceKey, InstalledService>,
    mut report: impl FnMut(Applied<'_, K::Error>),
) {
    let mut taken_over = Vec::new();
    for op in ops {
        let error = match kernel.apply(op) {
            Ok(()) => {
                report(Applied::Done { op, retry: false });
                continue;
            }
            Err(e) => e,
        };
        let exists = K::exists(&error);
        report(Applied::Refused {
            op,
            retry: false,
            error,
        });
        if !exists {
            continue;
        }
        let edit = match op {
            IpvsOp::AddService(s) => {
                taken_over.push(s.key);
                IpvsOp::EditService(s.clone())
            }
            IpvsOp::AddDest(k, d) => IpvsOp::EditDest(*k, d.clone()),
            _ => continue,
        };
        match kernel.apply(&edit) {
            Ok(()) => report(Applied::Done {
                op: &edit,
                retry: true,
            }),
            Err(error) => report(Applied::Refused {
                op: &edit,
                retry: true,
                error,
            }),
        }
    }
    for service in taken_over {
        let wanted = installed.get(&service).map(|s| &s.dests);
        let held = match kernel.dests(&service) {
            Ok(d) => d,
            Err(error) => {
                report(Applied::ListFailed { service, error });
                continue;
            }
        };
        for d in held {
            if wanted.is_some_and(|w| w.contains_key(&d.key)) {
                continue;
            }
            let del = IpvsOp::DelDest(service, d.key);
            match kernel.apply(&del) {
                Ok(()) => report(Applied::Stale {
                    service,
                    dest: d.key,
                }),
                Err(error) => report(Applied::Refused {
                    op: &del,
                    retry: true,
                    error,
                }),
            }
        }
    }
}
