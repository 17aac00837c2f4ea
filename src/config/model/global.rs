//! Typed model for the global section (placeholder: being written).

/// Global settings (placeholder).
#[derive(Clone, Debug, Default)]
pub struct GlobalDefs {}
