//! Syntax tree of a keepalived.conf after preprocessing (includes, `@` conditionals, `$`
//! macros, `~SEQ`/`~LST` expansion, comments and quoting are already resolved).
//!
//! Every logical line becomes a [`Node`]: its first word is the keyword, the rest are its
//! arguments, and a `{ ... }` that follows it (on the same line or the next) becomes its
//! [`Block`]. Value blocks such as `virtual_ipaddress { ... }` are ordinary blocks whose
//! children are the items (the first word of the item is in `words[0]`).

use std::fmt;
use std::path::PathBuf;

/// Index of a file in the [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A position in a source file: 1-based line and column (columns count characters).
/// Text produced by macro expansion carries the position of the macro reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
}

/// The files read while loading a configuration, indexed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    pub files: Vec<PathBuf>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf) -> FileId {
        self.files.push(path);
        FileId((self.files.len() - 1) as u32)
    }

    pub fn path(&self, id: FileId) -> Option<&PathBuf> {
        self.files.get(id.0 as usize)
    }

    /// Renders a span as `file:line:col`.
    pub fn render(&self, span: Span) -> String {
        match self.path(span.file) {
            Some(p) => format!("{}:{}:{}", p.display(), span.line, span.col),
            None => format!("<unknown>:{}:{}", span.line, span.col),
        }
    }
}

/// One word of a line. Double quotes are removed from `text`; `quoted` records that they
/// were there (a quoted word is never a `{` or `}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Span,
    pub quoted: bool,
}

impl Word {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A `{ ... }` block attached to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Where the `{` was.
    pub open: Span,
    /// Where the matching `}` was; `None` when the file ended first (an error was reported).
    pub close: Option<Span>,
    pub children: Vec<Node>,
}

/// One logical line: `words[0]` is the keyword (never empty), the others its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub words: Vec<Word>,
    pub block: Option<Block>,
}

impl Node {
    pub fn keyword(&self) -> &str {
        &self.words[0].text
    }

    pub fn span(&self) -> Span {
        self.words[0].span
    }

    pub fn args(&self) -> &[Word] {
        &self.words[1..]
    }

    /// The children of the block, or an empty slice when there is none.
    pub fn children(&self) -> &[Node] {
        self.block
            .as_ref()
            .map(|b| b.children.as_slice())
            .unwrap_or(&[])
    }
}

/// A whole configuration: the top-level nodes and the files they came from.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub sources: SourceMap,
    pub nodes: Vec<Node>,
}
