//! Preprocessor for keepalived.conf: keepalived's `read_line()` and friends in
//! `lib/parser.c`. It reads files, follows `include`s, and turns the text into logical lines
//! for the `parser`:
//!
//! 1. the next line comes from, in this order: the text after a `{`/`}` split off the previous
//!    line; the innermost `~SEQ`/`~LST` still producing lines; the multiline definition being
//!    expanded; the file. File lines are decommented (`decomment`) when read;
//! 2. while a multiline `$NAME=… \` definition is open, lines are appended to it;
//! 3. `@ID` / `@^ID` prefixes, `$NAME=` definitions, `~SEQ(…)`/`~LST(…)` and `$NAME` /
//!    `${NAME}` substitution are applied repeatedly until nothing changes (the line is
//!    decommented again after a substitution, so `${_BANG}` starts a comment as in keepalived);
//! 4. `include PATTERN` (and `includer`/`includem`/`includew`/`includeb`/`includea`) lines
//!    read the matching files in place;
//! 5. the first unquoted `{` or `}` is split off, the rest of the line goes back to step 3.
//!
//! Include lines are recognised after `@`/`$` processing, as keepalived's code does (its man
//! page says otherwise). `include_check` lines (a `global_defs` keyword) set the checks of
//! later includes in the same file, as keepalived does; the node is still passed on.
//!
//! Checked against keepalived 2.2.7. Differences, all on inputs keepalived mishandles or
//! where it says less:
//! * recursion that keepalived loops on forever (`$A=$B`, `$B=$A`) is cut off with an error
//!   (a budget of substitutions per line);
//! * include loops are an error instead of nesting until the open-file limit, and include depth
//!   is bounded ([`LoadOptions::max_include_depth`]);
//! * lines produced by `~SEQ`, `~LST`, multiline definitions and brace splitting are bounded
//!   ([`LoadOptions::max_generated_lines`]);
//! * an include inside a one-line block (`x { include f }`) is honoured (2.2.7 takes the rest
//!   of the line, `}` included, as the file name);
//! * `~SEQ(i 2)` (no comma) is an error; keepalived skips the character and counts to 0;
//! * an unterminated quote gives one error ("Unterminated quote"), not two;
//! * `${_RANDOM}` uses our SplitMix64 seeded from [`LoadOptions::random_seed`], not
//!   `random()`, and `MAX < MIN` swaps them;
//! * plain `include` problems that keepalived only logs are notes, which do not fail `-t`.
//!
//! Spans: text from a file keeps its own line and column; text substituted for `$NAME` takes
//! the column of its `$`; the extra lines of a multiline definition take the line and column of
//! the reference; lines emitted by `~SEQ`/`~LST` are the text after the `)`, with its columns.

use super::ast::{FileId, SourceMap, Span, Word};
use super::diag::{Diagnostics, ErrorClass, Severity};
use super::lexer::{
    decomment, is_blank, skip_blanks, split_brace, strtol0, tokenize, LoadOptions, PChar, PLine,
    MAXBUF, SUBSTITUTION_BUDGET,
};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

/// What the preprocessor hands to the parser.
#[derive(Debug)]
pub(crate) enum Event {
    /// A logical line: never empty; an unquoted `{` or `}` is always alone on its line.
    Line(Vec<Word>),
    /// A file starts (the main file or an include).
    FileStart,
    /// The file started by the matching `FileStart` ends.
    FileEnd,
}

/// Bound on the alternatives of one brace pattern and on the matches of one include.
const MAX_GLOB_RESULTS: usize = 10_000;
/// keepalived's `~SEQ` parameter buffer (three longs with separators plus a NUL).
const SEQ_PARAM_BUF: usize = 3 * 20 + 3 + 1;

/// Include checks (keepalived's `include_check`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Checks {
    /// Every matched file must be a readable, regular, non-executable file.
    read: bool,
    /// Something must match, unless the pattern has a wildcard.
    matched: bool,
    /// Something must match even with a wildcard.
    wildcard: bool,
    /// Every brace alternative must match.
    brace: bool,
}

impl Checks {
    const ALL: Checks = Checks {
        read: true,
        matched: true,
        wildcard: true,
        brace: true,
    };

    fn union(self, o: Checks) -> Checks {
        Checks {
            read: self.read || o.read,
            matched: self.matched || o.matched,
            wildcard: self.wildcard || o.wildcard,
            brace: self.brace || o.brace,
        }
    }

    fn for_keyword(kw: &str) -> Option<Checks> {
        let (r, m, w, b) = match kw {
            "include" => (false, false, false, false),
            "includer" => (true, false, false, false),
            "includem" => (true, true, false, false),
            "includew" => (true, true, true, false),
            "includeb" => (true, false, false, true),
            "includea" => (true, true, true, true),
            _ => return None,
        };
        Some(Checks {
            read: r,
            matched: m,
            wildcard: w,
            brace: b,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Builtin {
    Pwd,
    Instance,
    Random,
    Hash,
    Bang,
    Env,
}

#[derive(Clone, Debug)]
struct Def {
    /// Lines of a multiline definition are separated by `\n`.
    value: String,
    multiline: bool,
    builtin: Option<Builtin>,
}

/// A multiline definition being expanded.
#[derive(Debug)]
struct Multi {
    lines: VecDeque<String>,
    origin: Span,
    /// How many `~SEQ`/`~LST` entries existed when it started (keepalived's
    /// `multiline_seq_depth`): only entries above that run before its next line.
    seq_depth: usize,
}

#[derive(Debug)]
enum SeqKind {
    Seq {
        var: String,
        next: i64,
        last: i64,
        step: i64,
        hex: bool,
    },
    Lst {
        vars: Vec<String>,
        values: Vec<Vec<String>>,
        idx: usize,
    },
}

#[derive(Debug)]
struct SeqEnt {
    kind: SeqKind,
    text: PLine,
    /// Where the `~SEQ`/`~LST` was.
    origin: Span,
}

/// Where lines come from before the file itself; saved per file, so an include is read
/// completely before the including line's `~SEQ` or multiline definition continues.
#[derive(Debug, Default)]
struct Gen {
    residue: Option<PLine>,
    seqs: Vec<SeqEnt>,
    multi: Option<Multi>,
    multi_stack: Vec<Multi>,
}

impl Gen {
    fn seq_depth(&self) -> usize {
        self.multi.as_ref().map_or(0, |m| m.seq_depth)
    }
}

/// A file whose content has been read, waiting to be processed.
struct PendingFile {
    path: PathBuf,
    data: Vec<u8>,
    canon: Option<PathBuf>,
}

struct Frame {
    file: FileId,
    /// Directory relative includes resolve against.
    dir: PathBuf,
    /// `${_PWD}`.
    pwd: String,
    canon: Option<PathBuf>,
    data: Vec<u8>,
    pos: usize,
    lineno: u32,
    utf8_noted: bool,
    gen: Gen,
    /// Further matches of an include made from this file, read before this file continues.
    pending: VecDeque<PendingFile>,
    /// `include_check` state to restore when this file ends.
    saved_checks: Checks,
}

enum FileLine {
    Eof,
    /// A line empty before decommenting: it ends a multiline definition.
    Blank,
    /// A line that gives nothing (comment only, too long).
    Skip,
    Line(PLine),
}

enum Step {
    Line(PLine),
    Again,
    Eof,
}

enum Rep {
    /// Nothing was substituted.
    None,
    Done,
    /// Substitution stopped (line too long, runaway recursion): use the line as it is.
    Abort,
    /// A multiline definition was referenced where none is allowed.
    Multiline,
}

struct Ref {
    name: String,
    /// Characters from the `$` to the end of the reference.
    len: usize,
    params: Option<String>,
}

/// The preprocessor: reads files and yields [`Event`]s.
pub(crate) struct Preprocessor<'o> {
    opts: &'o LoadOptions,
    sources: SourceMap,
    stack: Vec<Frame>,
    roots: VecDeque<PendingFile>,
    events: VecDeque<Event>,
    defs: BTreeMap<String, Def>,
    /// The multiline definition being read.
    mdef: Option<String>,
    rng: u64,
    generated: usize,
    /// [`LoadOptions::max_generated_lines`] was exceeded: no more generated lines.
    limit_hit: bool,
    checks: Checks,
}

impl<'o> Preprocessor<'o> {
    pub(crate) fn new(opts: &'o LoadOptions) -> Self {
        let mut defs = BTreeMap::new();
        for (name, b) in [
            ("_PWD", Builtin::Pwd),
            ("_INSTANCE", Builtin::Instance),
            ("_RANDOM", Builtin::Random),
            ("_HASH", Builtin::Hash),
            ("_BANG", Builtin::Bang),
            ("_ENV", Builtin::Env),
        ] {
            defs.insert(
                name.to_string(),
                Def {
                    value: String::new(),
                    multiline: false,
                    builtin: Some(b),
                },
            );
        }
        Preprocessor {
            opts,
            sources: SourceMap::default(),
            stack: Vec::new(),
            roots: VecDeque::new(),
            events: VecDeque::new(),
            defs,
            mdef: None,
            rng: opts.random_seed,
            generated: 0,
            limit_hit: false,
            checks: Checks::default(),
        }
    }

    pub(crate) fn into_sources(self) -> SourceMap {
        self.sources
    }

    /// Queues configuration text read from `path` (which need not exist).
    pub(crate) fn push_text(&mut self, path: &Path, bytes: &[u8]) {
        self.roots.push_back(PendingFile {
            path: path.to_path_buf(),
            data: bytes.to_vec(),
            canon: None,
        });
    }

    /// Queues the main configuration file. keepalived expands it as a glob and opens it with
    /// the read, match and wildcard checks; failing those is fatal.
    pub(crate) fn push_main_file(&mut self, path: &Path, diags: &mut Diagnostics) {
        let pattern = path.to_string_lossy().into_owned();
        let (matches, _) = glob_all(&pattern, Path::new(""));
        if matches.is_empty() {
            diags.fatal(
                None,
                format!("Unable to find configuration file {}", pattern),
            );
            return;
        }
        if matches.len() > 1 {
            diags.push(
                Severity::Warning,
                ErrorClass::Config,
                None,
                format!(
                    "WARNING, multiple configuration file matches of {}, starting with {}",
                    pattern,
                    matches[0].path.display()
                ),
            );
        }
        for m in matches {
            match open_match(&m) {
                Ok(pf) => self.roots.push_back(pf),
                Err(msg) => diags.fatal(None, msg),
            }
        }
    }

    /// The next event, `None` at the end of the input.
    pub(crate) fn next_event(&mut self, diags: &mut Diagnostics) -> Option<Event> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            let next_pending = match self.stack.last_mut() {
                Some(top) => top.pending.pop_front(),
                None => Some(self.roots.pop_front()?),
            };
            if let Some(pf) = next_pending {
                self.open_frame(pf);
                return Some(Event::FileStart);
            }
            match self.step(diags) {
                Step::Again => {}
                Step::Eof => {
                    self.close_frame();
                    return Some(Event::FileEnd);
                }
                Step::Line(line) => {
                    let (words, unmatched) = tokenize(&line);
                    if unmatched && !line.quote_reported {
                        diags.error(line.span(), format!("Unmatched quote: '{}'", line.text()));
                    }
                    if words.is_empty() {
                        continue;
                    }
                    if words[0].text == "include_check" {
                        self.include_check(&words[1..]);
                    }
                    return Some(Event::Line(words));
                }
            }
        }
    }

    fn open_frame(&mut self, pf: PendingFile) {
        let file = self.sources.add(pf.path.clone());
        let dir = match pf.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let pwd = std::fs::canonicalize(&dir)
            .or_else(|_| std::path::absolute(&dir))
            .unwrap_or_else(|_| dir.clone())
            .to_string_lossy()
            .into_owned();
        self.stack.push(Frame {
            file,
            dir,
            pwd,
            canon: pf.canon,
            data: pf.data,
            pos: 0,
            lineno: 0,
            utf8_noted: false,
            gen: Gen::default(),
            pending: VecDeque::new(),
            saved_checks: self.checks,
        });
    }

    fn close_frame(&mut self) {
        if let Some(f) = self.stack.pop() {
            self.checks = f.saved_checks;
        }
        self.end_multiline_def();
    }

    fn top(&mut self) -> Option<&mut Frame> {
        self.stack.last_mut()
    }

    /// One turn of keepalived's `read_line` loop.
    fn step(&mut self, diags: &mut Diagnostics) -> Step {
        let Some(buf) = self.next_source_line(diags) else {
            return Step::Eof;
        };
        let Some(buf) = buf else {
            return Step::Again;
        };
        if self.mdef.is_some() {
            self.continue_multiline_def(buf);
            return Step::Again;
        }
        if buf.is_empty() {
            return Step::Again;
        }
        let Some(mut buf) = self.directives(buf, diags) else {
            return Step::Again;
        };
        if buf.is_empty() || self.try_include(&buf, diags) {
            return Step::Again;
        }
        let residue = split_brace(&mut buf.chars);
        if let Some(r) = residue {
            let r = buf.with_chars(r);
            if let Some(top) = self.top() {
                top.gen.residue = Some(r);
            }
        }
        if buf.is_empty() || self.try_include(&buf, diags) {
            return Step::Again;
        }
        Step::Line(buf)
    }

    /// `None` at the end of the current file; `Some(None)` when nothing came this turn.
    fn next_source_line(&mut self, diags: &mut Diagnostics) -> Option<Option<PLine>> {
        let top = self.stack.last_mut()?;
        if let Some(mut r) = top.gen.residue.take() {
            // Text split off at a brace counts too: substitution can regenerate it forever
            // (`$M=a { $M`). Once the bound is hit it is still read, without substitution,
            // so that it shrinks.
            if self.limit_hit || self.count_generated(r.span(), diags) {
                r.budget = 0;
            }
            return Some(Some(r));
        }
        let gen = &top.gen;
        if gen.seqs.len() > gen.seq_depth() || gen.multi.is_some() {
            let span = gen
                .seqs
                .last()
                .map(|s| s.origin)
                .or(gen.multi.as_ref().map(|m| m.origin));
            if self.limit_hit || self.count_generated(span.unwrap_or_default(), diags) {
                if let Some(top) = self.top() {
                    top.gen = Gen::default();
                }
                return Some(None);
            }
            let top = self.stack.last_mut()?;
            if top.gen.seqs.len() > top.gen.seq_depth() {
                return Some(self.next_seq_line());
            }
            return Some(next_multi_line(&mut top.gen));
        }
        match self.next_file_line(diags) {
            FileLine::Eof => None,
            FileLine::Blank => {
                self.end_multiline_def();
                Some(None)
            }
            FileLine::Skip => Some(None),
            FileLine::Line(l) => Some(Some(l)),
        }
    }

    /// Counts a line that did not come straight from a file; true (after reporting it once)
    /// when that exceeds [`LoadOptions::max_generated_lines`].
    fn count_generated(&mut self, span: Span, diags: &mut Diagnostics) -> bool {
        self.generated += 1;
        if self.generated <= self.opts.max_generated_lines {
            return false;
        }
        self.limit_hit = true;
        diags.error(
            span,
            format!(
                "~SEQ/~LST/multiline expansion exceeds {} lines - stopping",
                self.opts.max_generated_lines
            ),
        );
        true
    }

    fn next_file_line(&mut self, diags: &mut Diagnostics) -> FileLine {
        let Some(f) = self.stack.last_mut() else {
            return FileLine::Eof;
        };
        if f.pos >= f.data.len() {
            return FileLine::Eof;
        }
        let rest = &f.data[f.pos..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let mut raw = &rest[..end];
        f.pos += (end + 1).min(rest.len());
        f.lineno = f.lineno.saturating_add(1);
        let span = Span {
            file: f.file,
            line: f.lineno,
            col: 1,
        };
        if let Some(nul) = raw.iter().position(|&b| b == 0) {
            raw = &raw[..nul];
        }
        while let Some((&last, init)) = raw.split_last() {
            if last != b'\n' && last != b'\r' {
                break;
            }
            raw = init;
        }
        if raw.is_empty() {
            return FileLine::Blank;
        }
        if raw.len() >= MAXBUF {
            diags.warning(span, "line too long - ignoring");
            return FileLine::Skip;
        }
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t.to_string(),
            Err(e) => {
                if !f.utf8_noted {
                    f.utf8_noted = true;
                    let col = String::from_utf8_lossy(&raw[..e.valid_up_to()])
                        .chars()
                        .count();
                    diags.note(
                        Span {
                            col: col as u32 + 1,
                            ..span
                        },
                        "invalid UTF-8 in configuration file (replaced with U+FFFD)",
                    );
                }
                String::from_utf8_lossy(raw).into_owned()
            }
        };
        let line = PLine::from_str(span.file, span.line, &text);
        let line = self.decomment_line(line, diags);
        if line.is_empty() {
            return FileLine::Skip;
        }
        FileLine::Line(line)
    }

    /// Decomments a line, reporting an unterminated quote once.
    fn decomment_line(&mut self, line: PLine, diags: &mut Diagnostics) -> PLine {
        let d = decomment(&line.chars);
        let mut out = line.with_chars(d.chars);
        if d.unterminated_quote && !line.quote_reported {
            let span = Span {
                col: d.quote_col,
                ..line.span()
            };
            diags.error(span, format!("Unterminated quote '{}'", d.quoted_text));
            out.quote_reported = true;
        }
        out
    }

    fn next_seq_line(&mut self) -> Option<PLine> {
        let top = self.stack.last_mut()?;
        let ent = top.gen.seqs.last_mut()?;
        let mut text = ent.text.clone();
        text.budget = SUBSTITUTION_BUDGET;
        let (done, defs): (bool, Vec<(String, String)>) = match &mut ent.kind {
            SeqKind::Seq {
                var,
                next,
                last,
                step,
                hex,
            } => {
                let val = if *hex {
                    format!("{:x}", *next as u64)
                } else {
                    next.to_string()
                };
                let done = match next.checked_add(*step) {
                    Some(n) => {
                        *next = n;
                        (*step > 0 && n > *last) || (*step < 0 && n < *last)
                    }
                    None => true,
                };
                (done, vec![(var.clone(), val)])
            }
            SeqKind::Lst { vars, values, idx } => {
                let vals = values.get(*idx).cloned().unwrap_or_default();
                *idx += 1;
                let defs = vars
                    .iter()
                    .enumerate()
                    .map(|(k, v)| (v.clone(), vals.get(k).cloned().unwrap_or_default()))
                    .collect();
                (*idx >= values.len(), defs)
            }
        };
        if done {
            top.gen.seqs.pop();
        }
        for (name, value) in defs {
            self.set_def(name, value, false);
        }
        Some(text)
    }

    fn set_def(&mut self, name: String, value: String, multiline: bool) {
        self.defs.insert(
            name,
            Def {
                value,
                multiline,
                builtin: None,
            },
        );
    }

    fn end_multiline_def(&mut self) {
        if let Some(name) = self.mdef.take() {
            if let Some(d) = self.defs.get_mut(&name) {
                if d.value.is_empty() {
                    d.multiline = false;
                }
            }
        }
    }

    /// A line while a multiline definition is open (keepalived's `multiline_param_def`).
    fn continue_multiline_def(&mut self, buf: PLine) {
        let mut chars = buf.chars;
        let cont = chars.last().is_some_and(|p| p.c == '\\');
        if cont {
            chars.pop();
            super::lexer::trim_trailing_blanks(&mut chars);
            chars.push(PChar { c: '\n', col: 0 });
        }
        let Some(name) = self.mdef.clone() else {
            return;
        };
        if !cont {
            self.end_multiline_def();
        }
        if let Some(d) = self.defs.get_mut(&name) {
            if (cont && chars.len() >= 2) || (!cont && !chars.is_empty()) {
                d.value.extend(chars.iter().map(|p| p.c));
            }
        }
    }

    /// Step 3: `@`, `$NAME=`, `~SEQ`, `~LST` and substitution, until nothing changes.
    /// `None` when the line was consumed.
    fn directives(&mut self, mut buf: PLine, diags: &mut Diagnostics) -> Option<PLine> {
        loop {
            if buf.starts_with("@") {
                buf = self.conditional(buf)?;
            }
            if buf.starts_with("$") && self.check_definition(&buf) {
                return None;
            }
            if buf.starts_with("~SEQ") {
                if let Err(msg) = self.add_seq(&buf, diags) {
                    diags.error(buf.span(), msg);
                }
                return None;
            }
            if buf.starts_with("~LST") {
                if let Err(msg) = self.add_lst(&buf, diags) {
                    diags.error(buf.span(), msg);
                }
                return None;
            }
            if buf.starts_with("~") || buf.budget == 0 || !buf.chars.iter().any(|p| p.c == '$') {
                return Some(buf);
            }
            let mut budget = buf.budget;
            let rep = self.replace_params(&mut buf, MAXBUF, true, &mut budget, diags);
            buf.budget = budget;
            if !matches!(rep, Rep::Done) {
                return Some(buf);
            }
            buf = self.decomment_line(buf, diags);
            if !(buf.starts_with("@") || buf.chars.iter().any(|p| p.c == '$')) {
                return Some(buf);
            }
        }
    }

    /// `@ID rest` / `@^ID rest`: the rest when the test passes.
    fn conditional(&self, buf: PLine) -> Option<PLine> {
        let c = &buf.chars;
        let (rev, ofs) = if c.get(1).is_some_and(|p| p.c == '^') {
            (true, 2)
        } else {
            (false, 1)
        };
        let ws = (ofs..c.len()).find(|&i| is_blank(c[i].c))?;
        let id: String = c[ofs..ws].iter().map(|p| p.c).collect();
        let matches = self.opts.config_id.as_deref() == Some(id.as_str());
        if matches == rev {
            return None;
        }
        let start = skip_blanks(c, ws);
        Some(buf.with_chars(c[start..].to_vec()))
    }

    /// `$NAME=VALUE`: defines (or redefines) a macro. False when the line is not a definition.
    fn check_definition(&mut self, buf: &PLine) -> bool {
        let c = &buf.chars;
        if !c
            .get(1)
            .is_some_and(|p| p.c.is_ascii_alphabetic() || p.c == '_')
        {
            return false;
        }
        let mut p = 2;
        while p < c.len() && c[p].c != '=' {
            if !(c[p].c.is_ascii_alphanumeric() || c[p].c == '_') {
                return false;
            }
            p += 1;
        }
        if p >= c.len() {
            return false;
        }
        let name: String = c[1..p].iter().map(|p| p.c).collect();
        let vstart = skip_blanks(c, p + 1);
        let mut value: Vec<char> = c[vstart..].iter().map(|p| p.c).collect();
        let multiline = value.last() == Some(&'\\');
        if multiline {
            value.pop();
            while value.last().is_some_and(|&ch| is_blank(ch)) {
                value.pop();
            }
            if !value.is_empty() {
                value.push('\n');
            }
        }
        self.set_def(name.clone(), value.into_iter().collect(), multiline);
        if multiline {
            self.mdef = Some(name);
        }
        true
    }

    /// Finds a reference after the `$` at `chars[at - 1]`.
    fn find_ref(&self, chars: &[PChar], at: usize) -> Option<Ref> {
        let braces = chars.get(at)?.c == '{';
        let start = if braces { at + 1 } else { at };
        let first = chars.get(start)?.c;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let mut end = start + 1;
        while end < chars.len() && (chars[end].c.is_ascii_alphanumeric() || chars[end].c == '_') {
            end += 1;
        }
        let name: String = chars[start..end].iter().map(|p| p.c).collect();
        let mut params = None;
        let ref_end;
        if braces {
            let close = end + chars[end..].iter().position(|p| p.c == '}')?;
            if close > end {
                let raw: String = chars[end..close].iter().map(|p| p.c).collect();
                if !raw.starts_with(' ') {
                    return None;
                }
                let trimmed = raw.trim_start_matches(' ');
                if !trimmed.is_empty() {
                    if trimmed.ends_with(' ') {
                        return None;
                    }
                    params = Some(trimmed.to_string());
                }
            }
            ref_end = close + 1;
        } else {
            if chars
                .get(end)
                .is_some_and(|p| !matches!(p.c, ' ' | '\t' | ',' | ')'))
            {
                return None;
            }
            ref_end = end;
        }
        let def = self.defs.get(&name)?;
        if def.multiline && ref_end != chars.len() {
            return None;
        }
        if let Some(p) = &params {
            let ok = match def.builtin {
                Some(Builtin::Random) => p.chars().all(|c| c == ' ' || c.is_ascii_digit()),
                Some(Builtin::Env) => !p.contains(' '),
                _ => false,
            };
            if !ok {
                return None;
            }
        }
        Some(Ref {
            name,
            len: ref_end - (at - 1),
            params,
        })
    }

    fn def_value(&mut self, r: &Ref, diags: &mut Diagnostics, span: Span) -> Option<Def> {
        let def = self.defs.get(&r.name)?.clone();
        let value = match def.builtin {
            None => return Some(def),
            Some(Builtin::Pwd) => self.stack.last().map(|f| f.pwd.clone()).unwrap_or_default(),
            Some(Builtin::Instance) => self.opts.config_id.clone().unwrap_or_default(),
            Some(Builtin::Hash) => "#".to_string(),
            Some(Builtin::Bang) => "!".to_string(),
            Some(Builtin::Env) => match (&self.opts.env, &r.params) {
                (Some(env), Some(var)) => env(var).unwrap_or_default(),
                _ => String::new(),
            },
            Some(Builtin::Random) => self.random(r.params.as_deref(), diags, span),
        };
        Some(Def {
            value,
            multiline: false,
            builtin: None,
        })
    }

    /// `${_RANDOM [MIN [MAX]]}`: keepalived's `random() % (max - min + 1) + min`, with our
    /// own SplitMix64 seeded from [`LoadOptions::random_seed`]. MAX below MIN swaps them.
    fn random(&mut self, params: Option<&str>, diags: &mut Diagnostics, span: Span) -> String {
        let mut min: u64 = 0;
        let mut max: u64 = 32767;
        if let Some(p) = params {
            let nums: Vec<u64> = p
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap_or(u64::MAX))
                .collect();
            if let Some(&a) = nums.first() {
                min = a;
            }
            if let Some(&b) = nums.get(1) {
                max = b;
            }
            if nums.len() > 2 {
                diags.note(
                    span,
                    format!("Too many parameters or extra text for ${{_RANDOM {}}}", p),
                );
            }
        }
        if max < min {
            std::mem::swap(&mut min, &mut max);
        }
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let range = (max - min).checked_add(1);
        let v = match range {
            Some(r) => min + z % r,
            None => z,
        };
        v.to_string()
    }

    /// keepalived's `replace_param`: substitutes `$NAME` and `${NAME}` in place, rescanning the
    /// substituted text. Stops after a value starting with `~` (so `~SEQ` in a macro works).
    fn replace_params(
        &mut self,
        buf: &mut PLine,
        max_len: usize,
        allow_multiline: bool,
        budget: &mut u32,
        diags: &mut Diagnostics,
    ) -> Rep {
        let mut pos = 0;
        let mut found = false;
        while let Some(i) = (pos..buf.chars.len()).find(|&k| buf.chars[k].c == '$') {
            if i + 1 >= buf.chars.len() {
                break;
            }
            let Some(r) = self.find_ref(&buf.chars, i + 1) else {
                pos = i + 1;
                continue;
            };
            if *budget <= 1 {
                *budget = 0;
                diags.error(
                    buf.span_at(i),
                    format!(
                        "Too many definition expansions (recursive definition?) on line '{}'",
                        buf.text()
                    ),
                );
                return Rep::Abort;
            }
            *budget -= 1;
            let span = buf.span_at(i);
            let Some(def) = self.def_value(&r, diags, span) else {
                pos = i + 1;
                continue;
            };
            if def.multiline && !allow_multiline {
                return Rep::Multiline;
            }
            let (first, rest) = match def.value.split_once('\n') {
                Some((a, b)) if def.multiline => (a.to_string(), Some(b.to_string())),
                _ => (def.value.clone(), None),
            };
            let cur_len: usize = buf.chars.iter().map(|p| p.c.len_utf8()).sum();
            let removed: usize = buf.chars[i..i + r.len].iter().map(|p| p.c.len_utf8()).sum();
            if cur_len - removed + first.len() >= max_len {
                diags.warning(
                    span,
                    format!(
                        "Parameter substitution on line '{}' would exceed maximum line length",
                        buf.text()
                    ),
                );
                return Rep::Abort;
            }
            if let Some(rest) = rest {
                self.start_multi(rest, span);
            }
            let col = buf.chars[i].col;
            let repl: Vec<PChar> = first.chars().map(|c| PChar { c, col }).collect();
            buf.chars.splice(i..i + r.len, repl);
            found = true;
            if def.value.trim_start_matches([' ', '\t']).starts_with('~') {
                break;
            }
            pos = i;
        }
        if found {
            Rep::Done
        } else {
            Rep::None
        }
    }

    fn start_multi(&mut self, rest: String, origin: Span) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        let gen = &mut top.gen;
        if let Some(cur) = gen.multi.take() {
            gen.multi_stack.push(cur);
        }
        let lines = rest.split('\n').map(str::to_string).collect();
        gen.multi = Some(Multi {
            lines,
            origin,
            seq_depth: gen.seqs.len(),
        });
    }

    /// Substitutes macros in `~SEQ`/`~LST` parameters.
    fn expand_params(
        &mut self,
        line: &PLine,
        chars: &[PChar],
        max_len: usize,
        what: &str,
        diags: &mut Diagnostics,
    ) -> Result<Vec<char>, String> {
        let mut p = line.with_chars(chars.to_vec());
        let mut budget = SUBSTITUTION_BUDGET;
        if let Rep::Multiline = self.replace_params(&mut p, max_len, false, &mut budget, diags) {
            return Err(format!(
                "{} parameter is multiline definition '{}'",
                what,
                line.text()
            ));
        }
        Ok(p.chars.iter().map(|p| p.c).collect())
    }

    /// keepalived's `add_seq`: `~SEQ(var, [start, [step,]] end) text`.
    fn add_seq(&mut self, buf: &PLine, diags: &mut Diagnostics) -> Result<(), String> {
        let c = &buf.chars;
        let text = buf.text();
        let invalid_def = || format!("Invalid ~SEQ definition '{}'", text);
        let mut p = 4;
        let hex = c.get(p).is_some_and(|x| x.c == 'x');
        if hex {
            p += 1;
        }
        p = skip_blanks(c, p);
        if !c.get(p).is_some_and(|x| x.c == '(') {
            return Err(format!("Invalid ~SEQ specification '{}'", text));
        }
        p = skip_blanks(c, p + 1);
        let var_start = p;
        while p < c.len() && !matches!(c[p].c, ' ' | '\t' | ',' | ')') {
            p += 1;
        }
        let var: String = c[var_start..p].iter().map(|x| x.c).collect();
        p = skip_blanks(c, p);
        if var.is_empty() || !c.get(p).is_some_and(|x| x.c == ',') {
            return Err(invalid_def());
        }
        p = skip_blanks(c, p + 1);
        let close = p + c[p..]
            .iter()
            .position(|x| x.c == ')')
            .ok_or_else(invalid_def)?;
        let param_bytes: usize = c[p..=close].iter().map(|x| x.c.len_utf8()).sum();
        if param_bytes + 1 > SEQ_PARAM_BUF {
            return Err(format!("~SEQ parameter strings too long '{}'", text));
        }
        let params = self.expand_params(buf, &c[p..=close], SEQ_PARAM_BUF, "~SEQ", diags)?;
        let (start, step, end) = parse_seq_numbers(&params).ok_or_else(invalid_def)?;
        if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
            return Err(format!("Invalid ~SEQ values '{}'", text));
        }
        if hex && (start < 0 || end < 0) {
            return Err(format!(
                "~SEQx is only valid for positive numbers '{}'",
                text
            ));
        }
        let tstart = skip_blanks(c, close + 1);
        let text_line = buf.with_chars(c[tstart..].to_vec());
        let ent = SeqEnt {
            kind: SeqKind::Seq {
                var,
                next: start,
                last: end,
                step,
                hex,
            },
            text: text_line,
            origin: buf.span(),
        };
        if let Some(top) = self.top() {
            top.gen.seqs.push(ent);
        }
        Ok(())
    }

    /// `~LST(var, v1, v2, …) text` or `~LST({a,b}, {1,2}, {3,4}) text`.
    fn add_lst(&mut self, buf: &PLine, diags: &mut Diagnostics) -> Result<(), String> {
        let c = &buf.chars;
        let text = buf.text();
        let invalid = || format!("Invalid ~LST specification '{}'", text);
        let mut p = skip_blanks(c, 4);
        if !c.get(p).is_some_and(|x| x.c == '(') {
            return Err(invalid());
        }
        p = skip_blanks(c, p + 1);
        let vars: Vec<String> = if c.get(p).is_some_and(|x| x.c == '{') {
            let close = p + c[p..].iter().position(|x| x.c == '}').ok_or_else(invalid)?;
            let inner: String = c[p + 1..close].iter().map(|x| x.c).collect();
            p = close + 1;
            split_list_items(&inner).ok_or_else(invalid)?
        } else {
            let s = p;
            while p < c.len() && !matches!(c[p].c, ' ' | '\t' | ',' | ')') {
                p += 1;
            }
            vec![c[s..p].iter().map(|x| x.c).collect()]
        };
        if vars.iter().any(|v| v.is_empty()) {
            return Err(invalid());
        }
        p = skip_blanks(c, p);
        if !c.get(p).is_some_and(|x| x.c == ',') {
            return Err(invalid());
        }
        p += 1;
        let close = p + c[p..].iter().position(|x| x.c == ')').ok_or_else(invalid)?;
        let raw = self.expand_params(buf, &c[p..close], MAXBUF, "~LST", diags)?;
        let values = parse_lst_values(&raw).ok_or_else(invalid)?;
        if values.iter().any(|t| t.len() > vars.len()) {
            return Err(format!("~LST specification has too many values '{}'", text));
        }
        let tstart = skip_blanks(c, close + 1);
        let ent = SeqEnt {
            kind: SeqKind::Lst {
                vars,
                values,
                idx: 0,
            },
            text: buf.with_chars(c[tstart..].to_vec()),
            origin: buf.span(),
        };
        if let Some(top) = self.top() {
            top.gen.seqs.push(ent);
        }
        Ok(())
    }

    /// `include PATTERN` and its variants. True when the line was an include.
    fn try_include(&mut self, buf: &PLine, diags: &mut Diagnostics) -> bool {
        if !buf.starts_with("include") {
            return false;
        }
        let (words, _) = tokenize(buf);
        if words.len() != 2 {
            return false;
        }
        let Some(mut checks) = Checks::for_keyword(&words[0].text) else {
            return false;
        };
        checks = checks.union(self.checks);
        if self.opts.all_config_checks {
            checks = Checks::ALL;
        }
        self.include(&words[1].text, words[1].span, checks, diags);
        true
    }

    fn include(&mut self, pattern: &str, span: Span, checks: Checks, diags: &mut Diagnostics) {
        let Some(top) = self.stack.last() else {
            return;
        };
        if self.stack.len() > self.opts.max_include_depth {
            diags.error(
                span,
                format!(
                    "Include depth exceeds {} - skipping '{}'",
                    self.opts.max_include_depth, pattern
                ),
            );
            return;
        }
        let base = top.dir.clone();
        let (matches, missing_alt) = glob_all(pattern, &base);
        let report = |diags: &mut Diagnostics, is_err: bool, msg: String| {
            if is_err {
                diags.error(span, msg)
            } else {
                diags.note(span, msg)
            }
        };
        if matches.is_empty() {
            if !has_wildcard(pattern) {
                report(
                    diags,
                    checks.matched,
                    format!("Config files missing '{}'.", pattern),
                );
            } else if checks.wildcard {
                diags.error(span, format!("No config files matched '{}'.", pattern));
            }
            return;
        }
        if missing_alt {
            let msg = format!("Some config files missing: \"{}\".", pattern);
            report(diags, checks.brace, msg);
            if checks.brace {
                return;
            }
        }
        for m in matches {
            match open_match(&m) {
                Err(msg) => report(diags, checks.read, msg),
                Ok(pf) => {
                    let looped = pf.canon.is_some()
                        && self
                            .stack
                            .iter()
                            .any(|f| f.canon.is_some() && f.canon == pf.canon);
                    if looped {
                        diags.error(
                            span,
                            format!(
                                "Configuration file '{}' is already being read (include loop) - skipping",
                                pf.path.display()
                            ),
                        );
                        continue;
                    }
                    if let Some(top) = self.top() {
                        top.pending.push_back(pf);
                    }
                }
            }
        }
    }

    /// `include_check [[+|-]read|match|wildcard_match|brace_match …]`: no argument turns every
    /// check on; a word turns its check on, a word with `-` turns it off.
    fn include_check(&mut self, args: &[Word]) {
        if args.is_empty() {
            self.checks = Checks::ALL;
            return;
        }
        for w in args {
            let (on, name) = match w.text.strip_prefix('-') {
                Some(n) => (false, n),
                None => (true, w.text.strip_prefix('+').unwrap_or(&w.text)),
            };
            match name {
                "read" | "readable" => self.checks.read = on,
                "match" => self.checks.matched = on,
                "wildcard_match" => self.checks.wildcard = on,
                "brace_match" => self.checks.brace = on,
                _ => {}
            }
        }
    }
}

fn next_multi_line(gen: &mut Gen) -> Option<PLine> {
    let m = gen.multi.as_mut()?;
    let text = m.lines.pop_front().unwrap_or_default();
    let origin = m.origin;
    if m.lines.is_empty() {
        gen.multi = gen.multi_stack.pop();
    }
    let chars = text.chars().map(|c| PChar { c, col: origin.col }).collect();
    Some(PLine {
        file: origin.file,
        line: origin.line,
        chars,
        quote_reported: false,
        budget: SUBSTITUTION_BUDGET,
    })
}

/// The numbers of `~SEQ(var, …)` after the comma, up to and including the `)`: returns
/// (start, step, end) with keepalived's defaults.
fn parse_seq_numbers(s: &[char]) -> Option<(i64, i64, i64)> {
    let mut nums = Vec::new();
    let mut p = 0;
    loop {
        let (v, used) = strtol0(&s[p..]);
        nums.push(v);
        p += used;
        while p < s.len() && is_blank(s[p]) {
            p += 1;
        }
        match s.get(p) {
            Some(')') => break,
            Some(',') if nums.len() < 3 => p += 1,
            _ => return None,
        }
    }
    Some(match nums[..] {
        [end] => (
            if end < 0 { -1 } else { 1 },
            if end < 1 { -1 } else { 1 },
            end,
        ),
        [start, end] => (start, if start <= end { 1 } else { -1 }, end),
        [start, step, end] => (start, step, end),
        _ => return None,
    })
}

/// `a, b ,c` → ["a", "b", "c"]: items trimmed of blanks, none may contain a blank.
fn split_list_items(s: &str) -> Option<Vec<String>> {
    s.split(',')
        .map(|i| {
            let t = i.trim_matches([' ', '\t']);
            (!t.contains([' ', '\t'])).then(|| t.to_string())
        })
        .collect()
}

/// The values of `~LST`: `v1, v2, {a,b}, …`; a bare value is a one-element tuple.
fn parse_lst_values(s: &[char]) -> Option<Vec<Vec<String>>> {
    let mut out = Vec::new();
    let mut p = 0;
    loop {
        while p < s.len() && is_blank(s[p]) {
            p += 1;
        }
        if s.get(p) == Some(&'{') {
            let close = p + s[p..].iter().position(|&c| c == '}')?;
            let inner: String = s[p + 1..close].iter().collect();
            out.push(split_list_items(&inner)?);
            p = close + 1;
            while p < s.len() && is_blank(s[p]) {
                p += 1;
            }
        } else {
            let start = p;
            while p < s.len() && s[p] != ',' {
                p += 1;
            }
            let item: String = s[start..p].iter().collect();
            out.push(split_list_items(&item)?);
        }
        match s.get(p) {
            None => return Some(out),
            Some(',') => p += 1,
            Some(_) => return None,
        }
    }
}

fn open_match(m: &GlobMatch) -> Result<PendingFile, String> {
    use std::os::unix::fs::PermissionsExt;
    if m.is_dir {
        return Err(format!(
            "Configuration file '{}/' is a directory - skipping",
            m.path.display()
        ));
    }
    let md = std::fs::metadata(&m.path);
    if let Ok(md) = &md {
        if !md.is_file() || md.permissions().mode() & 0o111 != 0 {
            return Err(format!(
                "Configuration file '{}' is not a regular non-executable file - skipping",
                m.path.display()
            ));
        }
    }
    match std::fs::read(&m.path) {
        Ok(data) => Ok(PendingFile {
            path: m.path.clone(),
            data,
            canon: std::fs::canonicalize(&m.path).ok(),
        }),
        Err(e) => Err(format!(
            "Configuration file '{}' open problem ({}) - skipping",
            m.path.display(),
            e
        )),
    }
}

// ---------------------------------------------------------------------------------------
// glob(3) with GLOB_BRACE | GLOB_MARK, over std::fs::read_dir.

#[derive(Debug, Clone, PartialEq, Eq)]
struct GlobMatch {
    path: PathBuf,
    is_dir: bool,
}

/// Expands `pattern` relative to `base`: every brace alternative is globbed in turn, each
/// alternative's matches sorted (as glob(3) with `GLOB_BRACE` does). Also returns whether
/// some alternative of a brace pattern matched nothing.
fn glob_all(pattern: &str, base: &Path) -> (Vec<GlobMatch>, bool) {
    let alts = brace_expand(pattern);
    let braced = alts.len() != 1 || alts[0] != pattern;
    let mut all = Vec::new();
    let mut missing = false;
    for alt in alts {
        let m = glob_one(&alt, base);
        missing |= m.is_empty();
        all.extend(m);
        if all.len() > MAX_GLOB_RESULTS {
            all.truncate(MAX_GLOB_RESULTS);
            break;
        }
    }
    (all, braced && missing)
}

fn has_wildcard(p: &str) -> bool {
    let mut esc = false;
    for c in p.chars() {
        if esc {
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if matches!(c, '*' | '?' | '[') {
            return true;
        }
    }
    false
}

/// GLOB_BRACE expansion: the first `{…}` with its top-level commas, recursively, in order.
/// An unbalanced `{` is literal.
fn brace_expand(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut work = vec![pattern.to_string()];
    while let Some(p) = work.pop() {
        if out.len() + work.len() > MAX_GLOB_RESULTS {
            break;
        }
        match first_brace(&p) {
            None => out.push(p),
            Some((open, commas, close)) => {
                let mut cuts = vec![open];
                cuts.extend(commas);
                cuts.push(close);
                let pre = &p[..open];
                let post = &p[close + 1..];
                let alts: Vec<String> = cuts
                    .windows(2)
                    .map(|w| format!("{}{}{}", pre, &p[w[0] + 1..w[1]], post))
                    .collect();
                // `work` is a stack: push in reverse to keep the alternatives in order.
                work.extend(alts.into_iter().rev());
            }
        }
    }
    out
}

/// Byte offsets of the first balanced `{`, its top-level commas and its `}`.
fn first_brace(p: &str) -> Option<(usize, Vec<usize>, usize)> {
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'{' => {
                let mut depth = 0;
                let mut commas = Vec::new();
                let mut j = i + 1;
                while j < b.len() {
                    match b[j] {
                        b'\\' => j += 1,
                        b'{' => depth += 1,
                        b'}' if depth == 0 => return Some((i, commas, j)),
                        b'}' => depth -= 1,
                        b',' if depth == 0 => commas.push(j),
                        _ => {}
                    }
                    j += 1;
                }
                return None;
            }
            _ => i += 1,
        }
    }
    None
}

/// Globs one brace-free pattern.
fn glob_one(pattern: &str, base: &Path) -> Vec<GlobMatch> {
    let mut cands: Vec<PathBuf> = vec![if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        base.to_path_buf()
    }];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        if !has_wildcard(comp) {
            let lit = unescape_glob(comp);
            next.extend(cands.iter().map(|c| join(c, &lit)));
        } else {
            let pat: Vec<char> = comp.chars().collect();
            for dir in &cands {
                let rd_dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                let Ok(rd) = std::fs::read_dir(rd_dir) else {
                    continue;
                };
                let mut names: Vec<std::ffi::OsString> = rd
                    .filter_map(|e| e.ok().map(|e| e.file_name()))
                    .filter(|n| {
                        let s: Vec<char> = n.to_string_lossy().chars().collect();
                        fnmatch(&pat, &s)
                    })
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| dir.join(n)));
                if next.len() > MAX_GLOB_RESULTS {
                    break;
                }
            }
        }
        next.truncate(MAX_GLOB_RESULTS);
        cands = next;
    }
    let mut out: Vec<GlobMatch> = cands
        .into_iter()
        .filter_map(|p| match std::fs::metadata(&p) {
            Ok(md) => Some(GlobMatch {
                is_dir: md.is_dir(),
                path: p,
            }),
            Err(_) => std::fs::symlink_metadata(&p).ok().map(|_| GlobMatch {
                path: p,
                is_dir: false,
            }),
        })
        .collect();
    out.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    out
}

fn join(dir: &Path, name: &str) -> PathBuf {
    if dir.as_os_str().is_empty() {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

fn unescape_glob(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// fnmatch(3) for one path component, glob's rules: `*`, `?`, `[…]` (`!`/`^` negation,
/// ranges, `]` first is literal), `\` escapes; a leading `.` must be matched literally.
fn fnmatch(pat: &[char], name: &[char]) -> bool {
    if name.first() == Some(&'.') && pat.first() != Some(&'.') {
        return false;
    }
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pat.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match match_class(&pat[p..], name[n]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                None => (name[n] == '[').then_some(1),
            },
            Some('\\') if p + 1 < pat.len() => (pat[p + 1] == name[n]).then_some(2),
            Some(&c) => (c == name[n]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                p += len;
                n += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class at the start of `pat`: (matched, class length), or `None`
/// when the class is not terminated (the `[` is then literal).
fn match_class(pat: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let mut lo = *pat.get(i)?;
        if lo == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if lo == '\\' {
            i += 1;
            lo = *pat.get(i)?;
        }
        i += 1;
        if pat.get(i) == Some(&'-') && pat.get(i + 1).is_some_and(|&h| h != ']') {
            let mut hi = pat[i + 1];
            i += 2;
            if hi == '\\' {
                hi = *pat.get(i)?;
                i += 1;
            }
            matched |= lo <= c && c <= hi;
        } else {
            matched |= lo == c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fm(p: &str, n: &str) -> bool {
        fnmatch(
            &p.chars().collect::<Vec<_>>(),
            &n.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn fnmatch_rules() {
        assert!(fm("*.conf", "a.conf"));
        assert!(!fm("*.conf", ".a.conf"));
        assert!(fm(".*", ".a"));
        assert!(fm("a?c", "abc"));
        assert!(!fm("a?c", "ac"));
        assert!(fm("[a-c]x", "bx"));
        assert!(!fm("[!a-c]x", "bx"));
        assert!(fm("[^a-c]x", "dx"));
        assert!(fm("[]]", "]"));
        assert!(fm("[a-]", "-"));
        assert!(fm("[", "["));
        assert!(fm("a\\*", "a*"));
        assert!(!fm("a\\*", "ab"));
        assert!(fm("*a*b*", "xxaxxbxx"));
        assert!(!fm("*a*b", "xxaxxbxxc"));
        assert!(fm("**", ""));
    }

    #[test]
    fn brace_expansion() {
        assert_eq!(brace_expand("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(brace_expand("{x,y}{1,2}"), vec!["x1", "x2", "y1", "y2"]);
        assert_eq!(brace_expand("a{b,{c,d}}e"), vec!["abe", "ace", "ade"]);
        assert_eq!(brace_expand("a{b"), vec!["a{b"]);
        assert_eq!(brace_expand("a{}b"), vec!["ab"]);
        assert_eq!(brace_expand("a\\{b,c}"), vec!["a\\{b,c}"]);
        assert!(brace_expand(&"{a,b}".repeat(20)).len() <= MAX_GLOB_RESULTS + 2);
    }

    #[test]
    fn seq_numbers() {
        let p = |s: &str| parse_seq_numbers(&s.chars().collect::<Vec<_>>());
        assert_eq!(p("3)"), Some((1, 1, 3)));
        assert_eq!(p("-2)"), Some((-1, -1, -2)));
        assert_eq!(p("0)"), Some((1, -1, 0)));
        assert_eq!(p("5, 3)"), Some((5, -1, 3)));
        assert_eq!(p("9, 3, 0x11)"), Some((9, 3, 17)));
        assert_eq!(p(" )"), Some((1, -1, 0)));
        assert_eq!(p("1 2)"), None);
        assert_eq!(p("1,2,3,4)"), None);
    }

    #[test]
    fn lst_values() {
        let p = |s: &str| parse_lst_values(&s.chars().collect::<Vec<_>>());
        assert_eq!(
            p(" a, b,c"),
            Some(vec![vec!["a".into()], vec!["b".into()], vec!["c".into()]])
        );
        assert_eq!(p(" "), Some(vec![vec!["".into()]]));
        assert_eq!(
            p("{1,2}, {3}"),
            Some(vec![vec!["1".into(), "2".into()], vec!["3".into()]])
        );
        assert_eq!(p("a b"), None);
        assert_eq!(p("{1,2} {3}"), None);
    }
}
