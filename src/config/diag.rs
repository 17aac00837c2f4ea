//! Configuration diagnostics: `file:line:col: error: message`, collected rather than thrown,
//! so one pass reports every problem and an invalid configuration never panics.

use super::ast::{SourceMap, Span};
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Our own advice that keepalived does not give (for example "accepted but not
    /// implemented" for a T3 keyword): printed, but does not change the `-t` verdict.
    Note,
    /// What keepalived reports through its config-error path while carrying on
    /// ("WARNING - interface eth0 ... doesn't exist"). keepalived's `-t` fails on these too,
    /// so they count for the exit code exactly like errors.
    Warning,
    /// The item is rejected (ignored, default kept, or the whole block removed).
    Error,
}

/// What an error means for `-t`: keepalived exits 4 for fatal problems (file not found, an
/// interface that does not exist), 6 for script-security errors and 5 for the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorClass {
    /// Ordinary configuration error (exit 5).
    Config,
    /// Script-security error (exit 6).
    Security,
    /// Fatal error (exit 4).
    Fatal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub class: ErrorClass,
    /// `None` for problems not tied to a place (a missing main file is tied to the command line).
    pub span: Option<Span>,
    pub message: String,
}

/// Collects diagnostics in the order they were found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.push(
            Severity::Error,
            ErrorClass::Config,
            Some(span),
            message.into(),
        );
    }

    pub fn fatal(&mut self, span: Option<Span>, message: impl Into<String>) {
        self.push(Severity::Error, ErrorClass::Fatal, span, message.into());
    }

    pub fn security(&mut self, span: Option<Span>, message: impl Into<String>) {
        self.push(Severity::Error, ErrorClass::Security, span, message.into());
    }

    pub fn warning(&mut self, span: Span, message: impl Into<String>) {
        self.push(
            Severity::Warning,
            ErrorClass::Config,
            Some(span),
            message.into(),
        );
    }

    pub fn note(&mut self, span: Span, message: impl Into<String>) {
        self.push(
            Severity::Note,
            ErrorClass::Config,
            Some(span),
            message.into(),
        );
    }

    pub fn push(
        &mut self,
        severity: Severity,
        class: ErrorClass,
        span: Option<Span>,
        message: String,
    ) {
        self.items.push(Diagnostic {
            severity,
            class,
            span,
            message,
        });
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Errors and warnings: everything keepalived's `-t` would fail on.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
    }

    /// keepalived's `-t` exit code for what was collected: 0 clean (notes allowed),
    /// 4 fatal, 6 script security, 5 any other error or warning. The worst class wins.
    pub fn exit_code(&self) -> i32 {
        match self.errors().map(|d| d.class).max() {
            None => 0,
            Some(ErrorClass::Fatal) => 4,
            Some(ErrorClass::Security) => 6,
            Some(ErrorClass::Config) => 5,
        }
    }

    /// One diagnostic as `file:line:col: error: message`.
    pub fn render_one(d: &Diagnostic, sources: &SourceMap) -> String {
        let sev = match d.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        match d.span {
            Some(s) => format!("{}: {}: {}", sources.render(s), sev, d.message),
            None => format!("{}: {}", sev, d.message),
        }
    }

    /// All diagnostics, one per line.
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        for d in &self.items {
            let _ = writeln!(out, "{}", Self::render_one(d, sources));
        }
        out
    }
}
