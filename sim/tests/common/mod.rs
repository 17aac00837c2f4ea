//! Helpers the simulator's integration tests share: the shipped scenarios of `conf/sim/`.
#![allow(dead_code)]

use sim::{scenario, SimOptions};
use std::path::PathBuf;

/// `conf/sim/NAME`.
pub fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conf/sim")
        .join(name)
}

/// The text of `conf/sim/NAME`.
pub fn scenario_text(name: &str) -> String {
    let path = scenario_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `conf/sim/NAME`, parsed.
pub fn load(name: &str) -> scenario::Scenario {
    let path = scenario_path(name);
    scenario::parse(&scenario_text(name), Some(&path)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Default options with this reproduce line.
pub fn opts(reproduce: &str) -> SimOptions {
    SimOptions {
        reproduce: reproduce.into(),
        ..SimOptions::default()
    }
}
