//! Semantic pass for the bfd section (placeholder: being written).

use super::{Ctx, Kw};
use crate::config::model::Config;

/// Root-level keywords this section owns.
pub fn root_keywords() -> Vec<Kw<Config>> {
    Vec::new()
}

/// Cross-checks after every block was read.
pub fn validate(_ctx: &mut Ctx<'_>, _cfg: &mut Config) {}
