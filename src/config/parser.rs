//! Parser: turns the logical lines produced by the `preprocess` stage
//! into a [`Tree`].
//!
//! The preprocessor has already split every unquoted `{` and `}` into a logical line of its
//! own (as keepalived's `read_line` does), so the grammar here is small:
//!
//! * a line of words is a [`Node`] at the current level;
//! * a `{` opens the block of the node on the logical line just before it (same source line
//!   or an earlier one). A `{` with no such node (first line of a level, after a `}`, or after
//!   another `{`) gives keepalived's "Unexpected '{' - ignoring" and is dropped, so, as in
//!   keepalived, the next `}` closes the enclosing block;
//! * a `}` closes the innermost open block; with none open it gives "Extra '}' found";
//! * blocks still open when a file ends (keepalived unwinds its keyword levels at the end of
//!   every file, includes too) give an error pointing at their `{`, with keepalived's count:
//!   `unclosed '{' of 'vrrp_instance VI_1' (there are 1 missing '}'s)`. A `}` in an included
//!   file cannot close a block opened by the file that included it ("Extra '}' found").
//!
//! keepalived also counts a stray `{` in its end-of-input "There are N missing '}'s", and
//! gives "Unknown keyword '}'" for the `}` that a stray `{` leaves at the top level; here the
//! stray `{` has its warning and that `}` is an "Extra '}' found".
//!
//! keepalived's "Missing '{' at beginning of configuration block" depends on the keyword
//! table (it is reported for a keyword that has sub-keywords but no block) and is therefore
//! left to the semantic pass. The parser never recurses, so deep nesting cannot overflow
//! the stack.

use super::ast::{Block, Node, Span, Tree};
use super::diag::Diagnostics;
use super::lexer::LoadOptions;
use super::preprocess::{Event, Preprocessor};
use std::path::Path;

/// Parses configuration text. `name` is the file name used in spans and diagnostics; relative
/// `include`s and `${_PWD}` resolve against its directory (the current directory when it has
/// none).
pub fn parse_str(text: &str, name: &str, opts: &LoadOptions, diags: &mut Diagnostics) -> Tree {
    parse_bytes(text.as_bytes(), name, opts, diags)
}

/// Like [`parse_str`] for raw bytes: invalid UTF-8 is replaced (with a note), never a panic.
pub fn parse_bytes(bytes: &[u8], name: &str, opts: &LoadOptions, diags: &mut Diagnostics) -> Tree {
    let mut pp = Preprocessor::new(opts);
    pp.push_text(Path::new(name), bytes);
    build(pp, diags)
}

/// Reads and parses a configuration file and everything it includes. As in keepalived, the
/// path may be a glob pattern. A missing main file is a fatal diagnostic (keepalived exits 4):
/// "Unable to find configuration file PATH".
pub fn load_file(path: &Path, opts: &LoadOptions, diags: &mut Diagnostics) -> Tree {
    let mut pp = Preprocessor::new(opts);
    pp.push_main_file(path, diags);
    build(pp, diags)
}

struct Level {
    /// The node whose block this is (`None` for the top level).
    node: Option<Node>,
    open: Span,
    children: Vec<Node>,
}

fn build(mut pp: Preprocessor<'_>, diags: &mut Diagnostics) -> Tree {
    let mut levels: Vec<Level> = vec![Level {
        node: None,
        open: Span::default(),
        children: Vec::new(),
    }];
    // For each file being read, the number of levels open when it started.
    let mut file_bases: Vec<usize> = Vec::new();
    // Whether the previous logical line was a node that may still take a block.
    let mut can_open = false;
    while let Some(ev) = pp.next_event(diags) {
        let words = match ev {
            Event::FileStart => {
                file_bases.push(levels.len());
                can_open = false;
                continue;
            }
            Event::FileEnd => {
                let base = file_bases.pop().unwrap_or(1);
                close_unclosed(&mut levels, base, diags);
                can_open = false;
                continue;
            }
            Event::Line(words) => words,
        };
        let first = &words[0];
        let base = file_bases.last().copied().unwrap_or(1);
        if !first.quoted && first.text == "{" {
            let depth = levels.len() - 1;
            let last = levels[depth].children.last();
            if can_open && last.is_some_and(|n| n.block.is_none()) {
                let node = levels[depth].children.pop();
                levels.push(Level {
                    node,
                    open: first.span,
                    children: Vec::new(),
                });
            } else {
                diags.warning(first.span, "Unexpected '{' - ignoring");
            }
            can_open = false;
        } else if !first.quoted && first.text == "}" {
            if levels.len() > base {
                close_level(&mut levels, Some(first.span));
            } else {
                diags.error(first.span, "Extra '}' found");
            }
            can_open = false;
        } else {
            let depth = levels.len() - 1;
            levels[depth].children.push(Node { words, block: None });
            can_open = true;
        }
    }
    close_unclosed(&mut levels, 1, diags);
    let root = levels.pop().map(|l| l.children).unwrap_or_default();
    Tree {
        sources: pp.into_sources(),
        nodes: root,
    }
}

/// Closes the levels above `base` at the end of a file, reporting each.
fn close_unclosed(levels: &mut Vec<Level>, base: usize, diags: &mut Diagnostics) {
    let base = base.max(1);
    let missing = levels.len().saturating_sub(base);
    for level in levels.iter().skip(base) {
        let what = level
            .node
            .as_ref()
            .map(|n| {
                n.words
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        diags.error(
            level.open,
            format!(
                "unclosed '{{' of '{}' (there are {} missing '}}'s)",
                what, missing
            ),
        );
    }
    while levels.len() > base {
        close_level(levels, None);
    }
}

fn close_level(levels: &mut Vec<Level>, close: Option<Span>) {
    if let Some(level) = levels.pop() {
        if let (Some(mut node), Some(parent)) = (level.node, levels.last_mut()) {
            node.block = Some(Block {
                open: level.open,
                close,
                children: level.children,
            });
            parent.children.push(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Tree, Diagnostics) {
        let mut d = Diagnostics::new();
        let t = parse_str(text, "test.conf", &LoadOptions::default(), &mut d);
        (t, d)
    }

    fn shape(nodes: &[Node]) -> String {
        let mut s = String::new();
        for n in nodes {
            let words: Vec<&str> = n.words.iter().map(|w| w.text.as_str()).collect();
            s.push_str(&words.join(" "));
            if let Some(b) = &n.block {
                s.push_str(" {");
                s.push_str(&shape(&b.children));
                s.push('}');
            }
            s.push(';');
        }
        s
    }

    #[test]
    fn brace_placements_are_equivalent() {
        let want = "a x {b c;d;};e;";
        for text in [
            "a x {\n b c\n d\n}\ne\n",
            "a x\n{\nb c\nd }\ne",
            "a x { b c\nd } e",
            "a x{b c\nd}e",
        ] {
            let (t, d) = parse(text);
            assert_eq!(shape(&t.nodes), want, "{text:?}");
            assert!(d.items.is_empty(), "{text:?}: {:?}", d.items);
        }
    }

    #[test]
    fn nested_blocks_and_spans() {
        let (t, d) =
            parse("vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n");
        assert!(d.items.is_empty());
        assert_eq!(
            shape(&t.nodes),
            "vrrp_instance VI_1 {virtual_ipaddress {10.0.0.1/24;};};"
        );
        let vi = &t.nodes[0];
        assert_eq!(vi.words[1].span.col, 15);
        let b = vi.block.as_ref().unwrap();
        assert_eq!((b.open.line, b.open.col), (1, 20));
        assert_eq!(b.close.map(|s| (s.line, s.col)), Some((5, 1)));
        let ip = &b.children[0].children()[0];
        assert_eq!((ip.span().line, ip.span().col), (3, 5));
    }

    #[test]
    fn comments_and_quotes() {
        let (t, _) = parse("a \"b # c\" d ! e\nf 'g # h'\ni \\#j\n");
        assert_eq!(shape(&t.nodes), "a b # c d;f 'g;i #j;");
        assert!(t.nodes[0].words[1].quoted);
    }

    #[test]
    fn brace_errors() {
        let (t, d) = parse("}\n{\na {\n");
        let r = d.render(&t.sources);
        assert_eq!(
            r,
            "test.conf:1:1: error: Extra '}' found\n\
             test.conf:2:1: warning: Unexpected '{' - ignoring\n\
             test.conf:3:3: error: unclosed '{' of 'a' (there are 1 missing '}'s)\n"
        );
    }
}
