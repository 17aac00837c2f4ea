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
