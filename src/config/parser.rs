//! Parser: turns the logical lines produced by the [`lexer`](super::lexer) into a [`Tree`].
//!
//! The lexer has already split every unquoted `{` and `}` into a logical line of its own (as
//! keepalived's `read_line` does), so the grammar here is small:
//!
//! * a line of words is a [`Node`] at the current level;
//! * a `{` opens the block of the node on the logical line just before it (same source line
//!   or an earlier one). A `{` with no such node (first line of a level, after a `}`, or after
//!   a node that already has a block) gives keepalived's warning "Unexpected '{' - ignoring"
//!   and is dropped, so, as in keepalived, its `}` then closes the enclosing level;
//! * a `}` closes the innermost open block; at the top level it gives "Extra '}' found";
//! * at the end of input every block still open gives an error pointing at its `{` with
//!   keepalived's count "There are N missing '}'s".
//!
//! keepalived's "Missing '{' at beginning of configuration block" depends on the keyword
//! table (it is reported for a keyword that has sub-keywords but no block) and is therefore
//! left to the semantic pass. The parser never recurses, so deep nesting cannot overflow
//! the stack.

use super::ast::{Block, Node, Span, Tree};
use super::diag::Diagnostics;
use super::lexer::{LoadOptions, Preprocessor};
use std::path::Path;

/// Parses configuration text. `name` is the file name used in spans and diagnostics, and the
/// directory that relative `include`s and `${_PWD}` resolve against is its parent (the
/// current directory when it has none).
pub fn parse_str(text: &str, name: &str, opts: &LoadOptions, diags: &mut Diagnostics) -> Tree {
    let mut pp = Preprocessor::new(opts);
    pp.push_text(Path::new(name), text.as_bytes(), diags);
    build(pp, diags)
}

/// Reads and parses a configuration file and everything it includes. A missing or unreadable
/// main file is a fatal diagnostic (keepalived exits 4 for it).
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
    // Whether the previous logical line was a node that may still take a block.
    let mut can_open = false;
    while let Some(words) = pp.next_line(diags) {
        let first = &words[0];
        if !first.quoted && first.text == "{" {
            let depth = levels.len() - 1;
            let last = levels[depth].children.pop_if_open(can_open);
            match last {
                Some(node) => levels.push(Level {
                    node: Some(node),
                    open: first.span,
                    children: Vec::new(),
                }),
                None => diags.warning(first.span, "Unexpected '{' - ignoring"),
            }
            can_open = false;
        } else if !first.quoted && first.text == "}" {
            if levels.len() > 1 {
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
    let missing = levels.len() - 1;
    for level in levels.iter().skip(1) {
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
    while levels.len() > 1 {
        close_level(&mut levels, None);
    }
    let root = levels.pop().map(|l| l.children).unwrap_or_default();
    Tree {
        sources: pp.into_sources(),
        nodes: root,
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

trait PopIfOpen {
    fn pop_if_open(&mut self, can_open: bool) -> Option<Node>;
}

impl PopIfOpen for Vec<Node> {
    fn pop_if_open(&mut self, can_open: bool) -> Option<Node> {
        if can_open && self.last().is_some_and(|n| n.block.is_none()) {
            self.pop()
        } else {
            None
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
