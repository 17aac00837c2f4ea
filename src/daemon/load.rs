//! Loading the configuration for start, `-t` and reload: lexer and parser, then the semantic
//! pass against the running system. One function so the three paths cannot drift apart.

use super::cli::{Options, DEFAULT_CONFIG};
use crate::config::ast::SourceMap;
use crate::config::diag::Diagnostics;
use crate::config::model::Config;
use crate::config::semantic::{self, Host, SemanticOptions};
use crate::config::LoadOptions;
use std::path::PathBuf;

/// The outcome of one load: the model (always built, possibly partial), the files read and
/// every diagnostic.
pub struct Loaded {
    pub config: Config,
    pub sources: SourceMap,
    pub diags: Diagnostics,
    pub path: PathBuf,
}

impl Loaded {
    /// Problems that make a reload unsafe to apply: errors (not keepalived-style warnings)
    /// or anything fatal. Warnings are applied, as keepalived applies them.
    pub fn rejects_reload(&self) -> bool {
        self.diags.has_errors()
    }
}

/// The configuration file the options name.
pub fn config_path(o: &Options) -> PathBuf {
    o.config_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
}

/// keepalived's default config id: the node name up to the first '.'.
pub fn default_config_id() -> String {
    nix::sys::utsname::uname()
        .ok()
        .and_then(|u| {
            u.nodename()
                .to_str()
                .map(|s| s.split('.').next().unwrap_or("").to_string())
        })
        .unwrap_or_default()
}

/// Reads and checks the configuration.
pub fn load(o: &Options, host: &dyn Host, check_interfaces: bool) -> Loaded {
    let path = config_path(o);
    let mut diags = Diagnostics::new();
    let lopts = LoadOptions {
        config_id: Some(o.config_id.clone().unwrap_or_else(default_config_id)),
        all_config_checks: o.all_config,
        ..LoadOptions::default()
    };
    let tree = crate::config::load_file(&path, &lopts, &mut diags);
    let sopts = SemanticOptions { check_interfaces };
    let config = semantic::build(&tree, host, &sopts, &mut diags);
    Loaded {
        config,
        sources: tree.sources,
        diags,
        path,
    }
}
