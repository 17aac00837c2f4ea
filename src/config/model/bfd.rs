//! Typed model for the bfd section (placeholder: being written).

/// BFD configuration (placeholder).
#[derive(Clone, Debug, Default)]
pub struct BfdConfig {}
