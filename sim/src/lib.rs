//! keepalived-rs deterministic simulator (L5, DESIGN.md §5).
//!
//! N keepalived-rs daemons — each the production
//! [`VrrpService`](keepalived_rs::daemon::vrrp::VrrpService) (the very L4 wiring the
//! Linux driver runs) over a simulated [`Env`](keepalived_rs::daemon::env::Env) — on
//! virtual L2 segments, in virtual time that jumps from event to event, with seeded faults,
//! invariants checked after every step, and replay of `keepalived-rs --record` files.
//!
//! ```text
//! cargo run -p sim                                  built-in scenario: the master fails and returns
//! cargo run -p sim -- --scenario conf/sim/nopreempt.sim [--seed 7] [--trace]
//! cargo run -p sim -- --seeds 200                   200 randomized runs (swarm)
//! cargo run -p sim -- --seed 17                     one randomized run, its whole timeline
//! cargo run -p sim -- --seed 17 --dump-scenario     the scenario seed 17 draws, as a file
//! cargo run -p sim -- --replay run.rec              replay a daemon's recording
//! cargo run --release -p sim --bin sim-bench        simulated seconds per wall second
//! ```
//!
//! Every run prints its seed and drawn options; a failure prints the violated invariant and
//! a `reproduce:` command line. The same seed gives byte-identical output (the last line is
//! a hash of it). Exit status: 0 pass, 1 fail, 2 bad input.
//!
//! # Determinism
//!
//! One `u64` seed; independent xoshiro256** streams (SplitMix64-seeded, [`rng`]) for the
//! swarm's draw, the network, the faults and each node (clock offset, script latency, the
//! order a resumed node handles its backlog). Nothing reads real time or OS randomness;
//! every map is a `BTreeMap`; ties in the event queue break by insertion order.
//!
//! # World
//!
//! * Nodes run real keepalived.conf text through the real parser and semantic pass (a
//!   simulated host where the node's interfaces exist). Each node's name is its config id,
//!   so one text can serve all nodes with keepalived's `@r1 priority 150` lines.
//! * Interface `j` of a node is ifindex `2 + j`, with the node's host number in the
//!   segment's prefixes (first segment 192.0.2.0/24 and fd00::/64, then 198.51.100.0/24,
//!   203.0.113.0/24, 10.k.0.0/24; fd00:k::/64) and link-local fe80::host.
//! * Segments deliver multicast adverts to every other member and unicast adverts to the
//!   member holding the destination address, after `latency` plus up to `jitter`.
//! * Each node has its own clock offset (drawn unless `clock=` is given); times in the
//!   timeline are global.
//! * [`SimEnv`](env::SimEnv) keeps fake address, route and rule tables; tracking scripts
//!   answer after a drawn latency with what the scenario dictates (default: success, or
//!   failure for a script named `false`).
//! * BFD ([`bfd`]): a node's `bfd_instance`s run in the production
//!   [`BfdService`](keepalived_rs::daemon::bfd::BfdService) over its `SimEnv`
//!   (`send_bfd`); datagrams go to the node owning the neighbour address on a shared segment
//!   through the same links and faults as adverts, and every state change reaches the
//!   node's VRRP engine as `Input::Bfd` in the same step, as in the production event loop.
//!   The set's seed comes from the node's stream.
//! * The checker side ([`ipvs`]): a node whose configuration has virtual servers runs the
//!   production [`Healthcheckers`](keepalived_rs::check::Healthcheckers) (the IPVS engine
//!   and its BFD_CHECK checkers), told of every BFD change with `to_checker` in the same
//!   step; its operations go to a fake kernel IPVS table that refuses what IPVS refuses
//!   (EEXIST, ESRCH, ENOENT). A killed daemon leaves its table in the kernel and the next
//!   start is applied on top of it; a power loss empties it.
//!
//! # Scenario format
//!
//! Line oriented; `#` starts a comment (not inside config text).
//!
//! ```text
//! name basic-failover          # shown in the output
//! seed 1                       # default seed (--seed overrides)
//! latency 200us                # one-way delay (default 100us)
//! jitter 100us                 # plus uniform 0..jitter (default 0)
//! duration 40s                 # fault phase; the heal phase starts here
//!                              #   (default: last timeline instant + 5s)
//! settle 20s                   # heal phase length (default: convergence bound + 3 adverts)
//!
//! segment lan [v4=192.0.2.0/24] [v6=fd00::/64]
//!
//! config routers <<END         # keepalived.conf text up to a line "END"
//! vrrp_instance VI_1 {
//!     interface eth0
//!     virtual_router_id 51
//! @r1 priority 150             # keepalived's config-id lines: r1 only
//! @r2 priority 100
//!     virtual_ipaddress { 192.0.2.100/24 }
//! }
//! END
//! config other file keepalived-r3.conf     # or a file, relative to the scenario
//!
//! node r1 config=routers eth0=lan [eth1=wan] [clock=1.5s] [host=11]
//!
//! at 10s crash r1              # absolute time, or "at +2s" after the previous "at"
//! at 10s expect r2 MASTER within 4s
//! ```
//!
//! Faults and actions (`NODES`: names separated by spaces or commas, `*` for all; a link
//! selector `SEL` is `A -> B` (one way), `A <-> B` (both ways) or nothing (every link)):
//!
//! | action | effect |
//! |---|---|
//! | `crash N` | power loss: the daemon and the addresses it installed vanish |
//! | `kill N` | SIGKILL: the daemon vanishes, its addresses stay until it starts again |
//! | `stop N` | SIGTERM: priority-0 adverts, VIPs removed, STOP notifications |
//! | `start N`, `restart N` | a new daemon with the node's current config |
//! | `freeze N` / `pause N`, `resume N` / `thaw N` | SIGSTOP and SIGCONT: packets queue (256 at most), timers fire late |
//! | `link N IF down`/`up` | carrier lost or back (`Input::Interface`); no traffic while down |
//! | `partition A B \| C D` | symmetric partition between groups (unlisted nodes stay connected) |
//! | `partition A -> B` | asymmetric: A's packets do not reach B |
//! | `loss P [SEL]`, `duplicate P [SEL]`, `corrupt P [SEL]` | per packet, P as `0.2` or `20%` (`0` ends it) |
//! | `reorder P [max=D] [SEL]` | with probability P, up to D (default 50ms) more delay |
//! | `delay D [SEL]` | extra one-way delay |
//! | `clog SEL`, `unclog SEL` | hold packets, then deliver them all at once |
//! | `heal` | ends partitions, clogs and impairments |
//! | `script N NAME ok\|fail\|hang` | what `vrrp_script NAME` answers from now on (hang: the timeout) |
//! | `remove-address N ADDR` | the address is deleted behind the daemon's back (`Input::AddressDeleted`) |
//! | `reload N CONFIG` | SIGHUP with another configuration |
//! | `note TEXT` | a line in the timeline |
//!
//! Expectations: `expect N[/INSTANCE] STATE [within D | for D]` (STATE: MASTER, BACKUP,
//! FAULT, INIT, STOP, or DOWN for a node without a daemon; without an instance every
//! instance of the node), `expect N holds ADDR ...`, `expect N lacks ADDR ...`,
//! `expect N bfd NAME up|down ...` (the node's BFD session; `down`: anything but Up),
//! `expect N rs VSADDR:PORT RSADDR:PORT in|out|weight W ...` (the node's kernel IPVS
//! table, every service at that address and port: `in` at a weight above 0, `out` absent
//! or at weight 0, `weight W` exactly; IPv6 as `[fd00::1]:80`).
//! Plain: at that instant; `within D`: at some instant before D has passed; `for D`: all
//! the time.
//!
//! # Two phases and the invariants
//!
//! The fault phase runs the timeline. At `duration` the heal phase begins: the network is
//! healed, paused nodes resume, links come up, stopped daemons start, scripts answer their
//! defaults; then the run must converge within the bound and stay converged until the end.
//! The invariants, checked after every step, are listed in [`check`] (VRRP), [`bfd`]
//! (BFD: RFC 5880 transitions only, no Detection Time expiry before the Detection Time
//! after the last accepted packet, sessions Up once quiet; the quiet window includes the
//! time sessions need to come Up) and [`ipvs`] (no operation the kernel refuses, leftovers
//! of a killed run aside; the table is what an independent model of the checker side
//! wants; once quiet, every real server's health is what its BFD sessions say). Test-only
//! switches show that they bite:
//! [`SimOptions::broken_timer_us`] (`--broken-timer US`) makes the simulated driver fire
//! timers early, BFD's too (the master-down and detection-time bounds catch it), and
//! [`Sabotage`] drops GARPs, keeps deleted VIPs or makes a node deaf (the GARP, VIP and
//! one-MASTER invariants catch those), makes the fake kernel keep deleted IPVS
//! destinations or leaves the checkers untold of BFD changes (the IPVS model and
//! convergence invariants catch those). They break the simulated driver or kernel, never the
//! daemon's code.
//!
//! # Replay
//!
//! `keepalived-rs --record FILE` writes every engine input with its time
//! ([`keepalived_rs::daemon::record`]); [`replay::replay`] (`sim --replay FILE`) feeds them
//! to a `VrrpService` and compares the state transitions with the recorded ones.
#![forbid(unsafe_code)]

pub mod bfd;
pub mod capture;
pub mod check;
pub mod env;
pub mod ipvs;
pub mod replay;
pub mod rng;
pub mod scenario;
pub mod swarm;
pub mod units;
pub mod world;

pub use world::{Outcome, Sabotage, SimOptions, World};

/// The built-in scenario (`conf/sim/failover-and-return.sim`): three routers, the master
/// fails and returns.
pub const DEFAULT_SCENARIO: &str = include_str!("../../conf/sim/failover-and-return.sim");

/// Runs a scenario. A panic anywhere in the daemons is caught and reported as a failure
/// with the run's `reproduce:` line.
pub fn run_scenario(sc: &scenario::Scenario, opts: &SimOptions) -> Outcome {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        World::new(sc, opts.clone()).run()
    }));
    match r {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            let mut output = format!("verdict: FAIL  panic: {msg}\n");
            if !opts.reproduce.is_empty() {
                output.push_str(&format!("reproduce: {}\n", opts.reproduce));
            }
            Outcome {
                passed: false,
                hash: world::fnv1a(output.as_bytes()),
                output,
                violations: vec![format!("panic: {msg}")],
                transitions: 0,
                steps: 0,
                deliveries: 0,
                simulated_us: 0,
                recording: None,
            }
        }
    }
}
