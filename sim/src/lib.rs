//! Deterministic simulator (L5): a skeleton until its own issue lands.
#![forbid(unsafe_code)]
