//! Typed model for the vrrp section (placeholder: being written).

/// VRRP-side configuration (placeholder).
#[derive(Clone, Debug, Default)]
pub struct VrrpConfig {}
