//! The `sim` command: runs the built-in scenario, a scenario file, randomized swarms, or
//! replays a `--record` file. See the `sim` crate documentation for the formats.

use sim::{replay, run_scenario, scenario, swarm, SimOptions};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: sim [--scenario FILE|default] [--seed N] [--seeds N] [--trace] [--dump-scenario]
       sim --replay FILE [--trace]

  (no argument)      run the built-in scenario (three routers; the master fails and returns)
  --scenario FILE    run a scenario file (conf/sim/*.sim); `default` is the built-in one
  --seed N           the run's seed; without --scenario: one randomized (swarm) run
  --seeds N          N runs with seeds S..S+N-1 (S: --seed, else 1); without --scenario
                     each seed draws its own topology, configuration and faults
  --replay FILE      replay a recording made with `keepalived-rs --record FILE`
  --trace            more detail: engine debug lines, network events, addresses, notifies
  --dump-scenario    print the scenario a swarm seed draws (a scenario file) and exit
  --max-steps N      bound on events per run
  --broken-timer US  TEST ONLY: fire every timer US microseconds early (the invariants must
                     catch it)
exit status: 0 pass, 1 fail, 2 usage or input error";

struct Args {
    scenario: Option<String>,
    seed: Option<u64>,
    seeds: Option<u64>,
    replay: Option<PathBuf>,
    trace: bool,
    dump: bool,
    broken_timer_us: u64,
    max_steps: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        scenario: None,
        seed: None,
        seeds: None,
        replay: None,
        trace: false,
        dump: false,
        broken_timer_us: 0,
        max_steps: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let num = |s: String, name: &str| {
            s.parse::<u64>()
                .map_err(|_| format!("{name}: not a number: {s}"))
        };
        match arg.as_str() {
            "--scenario" => a.scenario = Some(val("--scenario")?),
            "--seed" => a.seed = Some(num(val("--seed")?, "--seed")?),
            "--seeds" => a.seeds = Some(num(val("--seeds")?, "--seeds")?),
            "--replay" => a.replay = Some(PathBuf::from(val("--replay")?)),
            "--broken-timer" => a.broken_timer_us = num(val("--broken-timer")?, "--broken-timer")?,
            "--max-steps" => a.max_steps = Some(num(val("--max-steps")?, "--max-steps")?),
            "--trace" => a.trace = true,
            "--dump-scenario" => a.dump = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("sim: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &a.replay {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("sim: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        return match replay::replay(&text, path.parent(), a.trace) {
            Ok(r) => {
                print!("{}", r.output);
                if r.matches {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("sim: {}: {e}", path.display());
                ExitCode::from(2)
            }
        };
    }
    let mut opts = SimOptions {
        trace: a.trace,
        broken_timer_us: a.broken_timer_us,
        ..SimOptions::default()
    };
    if let Some(m) = a.max_steps {
        opts.max_steps = m;
    }
    let extra = if a.broken_timer_us > 0 {
        format!(" --broken-timer {}", a.broken_timer_us)
    } else {
        String::new()
    };
    let swarm_mode = a.scenario.is_none() && (a.seed.is_some() || a.seeds.is_some());
    if swarm_mode {
        let first = a.seed.unwrap_or(1);
        if a.dump {
            print!("{}", swarm::draw(first).text);
            return ExitCode::SUCCESS;
        }
        let count = a.seeds.unwrap_or(1);
        let verbose = a.seeds.is_none() || a.trace;
        let r = swarm::sweep(first, count, &opts, &extra, verbose, &mut |s| print!("{s}"));
        return if r.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    // A scenario: the built-in one or a file.
    let (text, path) = match a.scenario.as_deref() {
        None | Some("default") => (sim::DEFAULT_SCENARIO.to_string(), None),
        Some(f) => match std::fs::read_to_string(f) {
            Ok(t) => (t, Some(PathBuf::from(f))),
            Err(e) => {
                eprintln!("sim: cannot read {f}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let sc = match scenario::parse(&text, path.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "sim: {}: {e}",
                path.as_ref()
                    .map_or("built-in scenario".into(), |p| p.display().to_string())
            );
            return ExitCode::from(2);
        }
    };
    if a.dump {
        print!("{text}");
        return ExitCode::SUCCESS;
    }
    let scen_arg = match &path {
        Some(p) => format!("--scenario {}", p.display()),
        None => "--scenario default".into(),
    };
    let first = a.seed.or(sc.default_seed).unwrap_or(1);
    let count = a.seeds.unwrap_or(1);
    let mut failed = Vec::new();
    for seed in first..first.saturating_add(count) {
        opts.seed = seed;
        opts.reproduce = format!("cargo run -p sim -- {scen_arg} --seed {seed}{extra}");
        let out = run_scenario(&sc, &opts);
        if count == 1 || !out.passed || a.trace {
            print!("{}", out.output);
        } else {
            println!(
                "seed {seed}: PASS  {} transitions, {} steps",
                out.transitions, out.steps
            );
        }
        if !out.passed {
            failed.push(seed);
        }
    }
    if count > 1 {
        println!(
            "{}: {}/{} seeds passed{}",
            sc.name,
            count - failed.len() as u64,
            count,
            if failed.is_empty() {
                String::new()
            } else {
                format!("; failing seeds: {failed:?}")
            }
        );
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
