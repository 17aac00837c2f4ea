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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::table::Service;

    /// A table that refuses as the kernel does, for the rules above.
    #[derive(Default)]
    struct Table(BTreeMap<ServiceKey, (Service, BTreeMap<DestKey, Dest>)>);

    impl IpvsKernel for Table {
        type Error = &'static str;
        fn apply(&mut self, op: &IpvsOp) -> Result<(), &'static str> {
            match op {
                IpvsOp::AddService(s) if self.0.contains_key(&s.key) => Err("EEXIST"),
                IpvsOp::AddService(s) => {
                    self.0.insert(s.key, (s.clone(), BTreeMap::new()));
                    Ok(())
                }
                IpvsOp::EditService(s) => {
                    let e = self.0.get_mut(&s.key).ok_or("ESRCH")?;
                    e.0 = s.clone();
                    Ok(())
                }
                IpvsOp::DelService(k) => self.0.remove(k).map(|_| ()).ok_or("ESRCH"),
                IpvsOp::AddDest(k, d) => {
                    let e = self.0.get_mut(k).ok_or("ESRCH")?;
                    if e.1.contains_key(&d.key) {
                        return Err("EEXIST");
                    }
                    e.1.insert(d.key, d.clone());
                    Ok(())
                }
                IpvsOp::EditDest(k, d) => {
                    let e = self.0.get_mut(k).ok_or("ESRCH")?;
                    let cur = e.1.get_mut(&d.key).ok_or("ENOENT")?;
                    *cur = d.clone();
                    Ok(())
                }
                IpvsOp::DelDest(k, d) => {
                    let e = self.0.get_mut(k).ok_or("ESRCH")?;
                    e.1.remove(d).map(|_| ()).ok_or("ENOENT")
                }
            }
        }
        fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, &'static str> {
            Ok(self
                .0
                .get(key)
                .map(|e| e.1.values().cloned().collect())
                .unwrap_or_default())
        }
        fn exists(e: &&'static str) -> bool {
            *e == "EEXIST"
        }
    }

    fn svc() -> Service {
        Service {
            key: ServiceKey::Addr {
                protocol: 6,
                addr: "192.0.2.100".parse().unwrap(),
                port: 80,
            },
            scheduler: "rr".into(),
            flags: 0,
            timeout_s: 0,
            netmask: 0,
            pe_name: None,
        }
    }

    fn dest(last: u8, weight: u32) -> Dest {
        Dest {
            key: DestKey {
                addr: format!("192.0.2.{last}").parse().unwrap(),
                port: 80,
            },
            fwd_method: 0,
            weight,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: 0,
            tun_port: 0,
            tun_flags: 0,
        }
    }

    #[test]
    fn a_killed_runs_table_is_taken_over() {
        // The killed run left the service (wlc) with .2 (weight 1) and .3.
        let mut old = svc();
        old.scheduler = "wlc".into();
        let mut k = Table::default();
        k.apply(&IpvsOp::AddService(old)).unwrap();
        k.apply(&IpvsOp::AddDest(svc().key, dest(2, 1))).unwrap();
        k.apply(&IpvsOp::AddDest(svc().key, dest(3, 1))).unwrap();
        // This run wants the service (rr) with .2 at weight 5 only.
        let ops = [
            IpvsOp::AddService(svc()),
            IpvsOp::AddDest(svc().key, dest(2, 5)),
        ];
        let installed = BTreeMap::from([(
            svc().key,
            InstalledService {
                service: svc(),
                dests: BTreeMap::from([(dest(2, 5).key, dest(2, 5))]),
            },
        )]);
        let mut seen = Vec::new();
        apply_ops(&mut k, &ops, &installed, |a| {
            seen.push(match a {
                Applied::Done { op, retry } => format!("done {retry} {op:?}"),
                Applied::Refused { op, retry, error } => format!("refused {retry} {error} {op:?}"),
                Applied::Stale { dest, .. } => format!("stale {}", dest.addr),
                Applied::ListFailed { error, .. } => format!("list {error}"),
            })
        });
        assert_eq!(seen.len(), 5, "{seen:#?}");
        assert!(seen[0].starts_with("refused false EEXIST AddService"));
        assert!(seen[1].starts_with("done true EditService"));
        assert!(seen[2].starts_with("refused false EEXIST AddDest"));
        assert!(seen[3].starts_with("done true EditDest"));
        assert_eq!(seen[4], "stale 192.0.2.3");
        let (s, d) = &k.0[&svc().key];
        assert_eq!(s.scheduler, "rr");
        assert_eq!(d.values().cloned().collect::<Vec<_>>(), vec![dest(2, 5)]);
    }

    #[test]
    fn other_refusals_are_reported_and_not_retried() {
        let mut k = Table::default();
        let ops = [IpvsOp::DelDest(svc().key, dest(2, 1).key)];
        let mut seen = Vec::new();
        apply_ops(&mut k, &ops, &BTreeMap::new(), |a| {
            if let Applied::Refused { retry, error, .. } = a {
                seen.push((retry, error));
            }
        });
        assert_eq!(seen, vec![(false, "ESRCH")]);
    }
}
