//! Typed model for the lvs section (placeholder: being written).

/// IPVS-side configuration (placeholder).
#[derive(Clone, Debug, Default)]
pub struct LvsConfig {}
