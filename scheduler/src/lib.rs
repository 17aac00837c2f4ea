//! keepalived-rs scheduler (L2).
