//! The typed configuration model: what the semantic pass understood, with keepalived's
//! defaults applied. Durations are in microseconds (`_us`) unless the name says otherwise.

pub mod bfd;
pub mod global;
pub mod lvs;
pub mod vrrp;

/// A whole configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub global: global::GlobalDefs,
    pub vrrp: vrrp::VrrpConfig,
    pub lvs: lvs::LvsConfig,
    pub bfd: bfd::BfdConfig,
    /// Keywords accepted but not implemented, in name order (reported once each).
    pub unimplemented: Vec<String>,
}

use crate::config::ast::Span;

/// A script reference (`script`, `notify_*`, `misc_path`, `quorum_up`, ...): the command
/// string as written (word 1, re-tokenised into an argv by keepalived's quoting rules when
/// run) and the optional `username [[:]groupname]` that follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub command: String,
    pub user: Option<String>,
    pub group: Option<String>,
    pub span: Span,
}

impl Config {
    /// Is there anything for the VRRP side to run (instances or static addresses, routes,
    /// rules), as keepalived decides whether to start its VRRP child?
    pub fn has_vrrp(&self) -> bool {
        self.vrrp.has_vrrp()
    }

    /// Are there virtual servers (keepalived's checker child)?
    pub fn has_lvs(&self) -> bool {
        !self.lvs.virtual_servers.is_empty()
    }

    /// Are there BFD instances?
    pub fn has_bfd(&self) -> bool {
        !self.bfd.instances.is_empty()
    }
}
