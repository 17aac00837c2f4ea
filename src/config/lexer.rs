//! Preprocessor and lexer for keepalived.conf (keepalived's `lib/parser.c`: `read_line`,
//! `decomment`, `alloc_strvec_r`).
//!
//! Produces logical lines of [`Word`]s with spans; every unquoted `{` and `}` is split off
//! into a logical line of its own, as keepalived's `read_line` does.

use super::ast::{FileId, SourceMap, Span, Word};
use super::diag::Diagnostics;
use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Looks up an environment variable for `${_ENV VAR}`.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Options for loading a configuration.
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// keepalived's config-id (`-i`); `@ID` lines are kept when ID equals it. The caller
    /// supplies the default (the node name up to the first `.`); `None` means "".
    pub config_id: Option<String>,
    /// `-e/--all-config`: every include check on.
    pub all_config_checks: bool,
    /// Seed for `${_RANDOM}`.
    pub random_seed: u64,
    /// Environment for `${_ENV VAR}`; `None` means an empty environment.
    pub env: Option<EnvLookup>,
}

impl fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadOptions")
            .field("config_id", &self.config_id)
            .field("all_config_checks", &self.all_config_checks)
            .field("random_seed", &self.random_seed)
            .field("env", &self.env.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

/// A character of a line with the column it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PChar {
    c: char,
    col: u32,
}

struct Frame {
    file: FileId,
    lines: Vec<String>,
    next: usize,
}

/// The preprocessor: reads files and yields logical lines.
pub(crate) struct Preprocessor<'o> {
    #[allow(dead_code)]
    opts: &'o LoadOptions,
    sources: SourceMap,
    stack: Vec<Frame>,
    pending: VecDeque<Vec<Word>>,
}

impl<'o> Preprocessor<'o> {
    pub(crate) fn new(opts: &'o LoadOptions) -> Self {
        Preprocessor {
            opts,
            sources: SourceMap::default(),
            stack: Vec::new(),
            pending: VecDeque::new(),
        }
    }

    pub(crate) fn into_sources(self) -> SourceMap {
        self.sources
    }

    pub(crate) fn push_text(&mut self, path: &Path, bytes: &[u8], _diags: &mut Diagnostics) {
        let file = self.sources.add(path.to_path_buf());
        let text = String::from_utf8_lossy(bytes);
        let lines = text.lines().map(str::to_string).collect();
        self.stack.push(Frame {
            file,
            lines,
            next: 0,
        });
    }

    pub(crate) fn push_main_file(&mut self, path: &Path, diags: &mut Diagnostics) {
        match std::fs::read(path) {
            Ok(bytes) => self.push_text(path, &bytes, diags),
            Err(_) => {
                self.sources.add(PathBuf::from(path));
                diags.fatal(
                    None,
                    format!("Configuration file '{}' does not exist", path.display()),
                )
            }
        }
    }

    /// The next logical line: never empty.
    pub(crate) fn next_line(&mut self, diags: &mut Diagnostics) -> Option<Vec<Word>> {
        loop {
            if let Some(l) = self.pending.pop_front() {
                return Some(l);
            }
            let frame = self.stack.last_mut()?;
            if frame.next >= frame.lines.len() {
                self.stack.pop();
                continue;
            }
            let lineno = frame.next as u32 + 1;
            let file = frame.file;
            let raw = std::mem::take(&mut frame.lines[frame.next]);
            frame.next += 1;
            let line: Vec<PChar> = raw
                .chars()
                .zip(1u32..)
                .map(|(c, col)| PChar { c, col })
                .collect();
            let line = decomment(&line);
            self.emit(&line, file, lineno, diags);
        }
    }

    fn emit(&mut self, line: &[PChar], file: FileId, lineno: u32, _diags: &mut Diagnostics) {
        for seg in split_braces(line) {
            let words = tokenize(seg, file, lineno);
            if !words.is_empty() {
                self.pending.push_back(words);
            }
        }
    }
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c' | '\n' | '\r' | '\x0b')
}

/// keepalived's `decomment`: drops a `!` or `#` comment outside double quotes, turns `\#`
/// and `\!` into the literal character, strips leading and trailing blanks.
fn decomment(line: &[PChar]) -> Vec<PChar> {
    let mut out = Vec::with_capacity(line.len());
    let mut quote = false;
    let mut i = 0;
    while i < line.len() {
        let c = line[i].c;
        if c == '"' {
            quote = !quote;
        } else if !quote && c == '\\' && i + 1 < line.len() && matches!(line[i + 1].c, '#' | '!') {
            out.push(line[i + 1]);
            i += 2;
            continue;
        } else if !quote && (c == '!' || c == '#') {
            break;
        }
        out.push(line[i]);
        i += 1;
    }
    let start = out.iter().position(|p| !is_blank(p.c)).unwrap_or(out.len());
    let end = out
        .iter()
        .rposition(|p| !is_blank(p.c))
        .map_or(start, |e| e + 1);
    out[start..end].to_vec()
}

/// Splits a line at every unquoted `{` and `}`, which become segments of their own.
fn split_braces(line: &[PChar]) -> Vec<&[PChar]> {
    let mut segs = Vec::new();
    let mut quote = false;
    let mut start = 0;
    for (i, p) in line.iter().enumerate() {
        if p.c == '"' {
            quote = !quote;
        } else if !quote && (p.c == '{' || p.c == '}') {
            segs.push(&line[start..i]);
            segs.push(&line[i..i + 1]);
            start = i + 1;
        }
    }
    segs.push(&line[start..]);
    segs
}

/// keepalived's `alloc_strvec_r`: words split on blanks; a word starting with `"` runs to the
/// next `"` (quotes removed, no escapes); a bare word also ends at a `"`.
fn tokenize(seg: &[PChar], file: FileId, line: u32) -> Vec<Word> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < seg.len() {
        if is_blank(seg[i].c) {
            i += 1;
            continue;
        }
        let span = Span {
            file,
            line,
            col: seg[i].col,
        };
        let mut text = String::new();
        if seg[i].c == '"' {
            i += 1;
            while i < seg.len() && seg[i].c != '"' {
                text.push(seg[i].c);
                i += 1;
            }
            i += 1;
            words.push(Word {
                text,
                span,
                quoted: true,
            });
        } else {
            while i < seg.len() && !is_blank(seg[i].c) && seg[i].c != '"' {
                text.push(seg[i].c);
                i += 1;
            }
            words.push(Word {
                text,
                span,
                quoted: false,
            });
        }
    }
    words
}
