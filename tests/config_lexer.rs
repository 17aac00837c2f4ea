//! Lexical layer of keepalived.conf end to end: includes, conditionals, macros, `~SEQ`,
//! `~LST`, quoting, comments, braces and spans, through `config::parse_str`/`load_file`.
//! Expected behaviour was checked against keepalived 2.2.7 (`keepalived -t`) where it is
//! sane; the deliberate differences are listed in `src/config/preprocess.rs`.

use keepalived_rs::config::ast::{Node, Tree};
use keepalived_rs::config::diag::{Diagnostics, Severity};
use keepalived_rs::config::{load_file, parse_bytes, parse_str, LoadOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A scratch directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let p =
            std::env::temp_dir().join(format!("kalrs-lexer-{}-{}-{}", tag, std::process::id(), n));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The tree as text: one node per line, `{`/`}` for blocks, indented by two; quoted words
/// keep their quotes.
fn dump(tree: &Tree) -> String {
    let mut out = String::new();
    dump_nodes(&tree.nodes, 0, &mut out);
    out
}

fn dump_nodes(nodes: &[Node], depth: usize, out: &mut String) {
    for n in nodes {
        let words: Vec<String> = n
            .words
            .iter()
            .map(|w| {
                if w.quoted {
                    format!("\"{}\"", w.text)
                } else {
                    w.text.clone()
                }
            })
            .collect();
        out.push_str(&"  ".repeat(depth));
        out.push_str(&words.join(" "));
        if let Some(b) = &n.block {
            out.push_str(" {\n");
            dump_nodes(&b.children, depth + 1, out);
            out.push_str(&"  ".repeat(depth));
            out.push('}');
        }
        out.push('\n');
    }
}

fn opts(id: Option<&str>) -> LoadOptions {
    LoadOptions {
        config_id: id.map(str::to_string),
        ..Default::default()
    }
}

/// Parses text; returns the dump and the rendered diagnostics.
fn run(text: &str) -> (String, String) {
    run_with(text, &opts(Some("main")))
}

fn run_with(text: &str, o: &LoadOptions) -> (String, String) {
    let mut d = Diagnostics::new();
    let t = parse_str(text, "t.conf", o, &mut d);
    (dump(&t), d.render(&t.sources))
}

fn load(path: &Path, o: &LoadOptions) -> (Tree, Diagnostics) {
    let mut d = Diagnostics::new();
    let t = load_file(path, o, &mut d);
    (t, d)
}

/// Renders diagnostics with the temp dir replaced by `DIR`.
fn render(t: &Tree, d: &Diagnostics, dir: &TempDir) -> String {
    d.render(&t.sources)
        .replace(&dir.0.display().to_string(), "DIR")
}

// ---------------------------------------------------------------------------------------
// Blocks, comments, quotes

#[test]
fn all_brace_placements_give_the_same_tree() {
    let want = "vrrp_instance VI_1 {\n  state MASTER\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\nglobal_defs {\n}\n";
    let texts = [
        "vrrp_instance VI_1 {\n state MASTER\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\nglobal_defs {\n}\n",
        "vrrp_instance VI_1\n{\nstate MASTER\nvirtual_ipaddress\n{\n10.0.0.1/24\n}\n}\nglobal_defs\n{\n}\n",
        "vrrp_instance VI_1 { state MASTER\n virtual_ipaddress { 10.0.0.1/24 } }\nglobal_defs {}\n",
        "vrrp_instance VI_1{state MASTER\nvirtual_ipaddress{10.0.0.1/24}}global_defs{}",
        "vrrp_instance VI_1 {\n\n   state MASTER   \n\tvirtual_ipaddress {   10.0.0.1/24\n}}\n\nglobal_defs\n\n{\n\n}",
    ];
    for text in texts {
        let (tree, diags) = run(text);
        assert_eq!(tree, want, "{text:?}");
        assert_eq!(diags, "", "{text:?}");
    }
}

#[test]
fn block_spans() {
    let mut d = Diagnostics::new();
    let t = parse_str("a b {\n  c\n}\nd\n{ e }\n", "t.conf", &opts(None), &mut d);
    let a = &t.nodes[0];
    let b = a.block.as_ref().unwrap();
    assert_eq!((b.open.line, b.open.col), (1, 5));
    assert_eq!(b.close.map(|s| (s.line, s.col)), Some((3, 1)));
    assert_eq!(
        (a.children()[0].span().line, a.children()[0].span().col),
        (2, 3)
    );
    let db = t.nodes[1].block.as_ref().unwrap();
    assert_eq!((db.open.line, db.open.col), (5, 1));
    assert_eq!(db.close.map(|s| (s.line, s.col)), Some((5, 5)));
    assert_eq!(
        (db.children[0].span().line, db.children[0].span().col),
        (5, 3)
    );
}

#[test]
fn brace_errors_like_keepalived() {
    let (tree, diags) = run("a {\n}\n}\n{\nb\n{\nc\n}\n}\nd {\n");
    assert_eq!(tree, "a {\n}\nb {\n  c\n}\nd {\n}\n");
    assert_eq!(
        diags,
        "t.conf:3:1: error: Extra '}' found\n\
         t.conf:4:1: warning: Unexpected '{' - ignoring\n\
         t.conf:9:1: error: Extra '}' found\n\
         t.conf:10:3: error: unclosed '{' of 'd' (there are 1 missing '}'s)\n"
    );
    // A stray `{` is dropped, so its `}` closes the enclosing block (keepalived does the same).
    let (tree, diags) = run("a {\n{\nb\n}\nc\n}\n");
    assert_eq!(tree, "a {\n  b\n}\nc\n");
    assert_eq!(
        diags,
        "t.conf:2:1: warning: Unexpected '{' - ignoring\nt.conf:6:1: error: Extra '}' found\n"
    );
}

#[test]
fn comments_and_escapes() {
    let (tree, diags) = run(concat!(
        "a b ! comment\n",
        "# whole line\n",
        "  ! indented\n",
        "c \\#d \\!e f#g\n",
        "h \"i # j ! k\" l # m\n",
        "n 'o # p'\n",
        "q \"\\#\"\n",
    ));
    assert_eq!(tree, "a b\nc #d !e f\nh \"i # j ! k\" l\nn 'o\nq \"\\#\"\n");
    assert_eq!(diags, "");
}

#[test]
fn quoting() {
    let (tree, diags) = run("a \"b c\"d\"e\" 'f g' \"\" \"{\" \"}\"\nx \"{ y\n");
    assert_eq!(tree, "a \"b c\" d \"e\" 'f g' \"\" \"{\" \"}\"\nx\n");
    assert_eq!(
        diags, "t.conf:2:3: error: Unterminated quote 'x \"{ y'\n",
        "the unterminated word is dropped, as keepalived does"
    );
    // A quoted brace is a word, never a block.
    let mut d = Diagnostics::new();
    let t = parse_str("a \"{\"\n\"}\"\n", "t.conf", &opts(None), &mut d);
    assert_eq!(t.nodes.len(), 2);
    assert!(t.nodes[0].block.is_none());
    assert!(t.nodes[1].words[0].quoted);
}

#[test]
fn invalid_utf8_and_nul_bytes() {
    let mut d = Diagnostics::new();
    let t = parse_bytes(b"a \xff\xfeb\nc d\0e\n", "t.conf", &opts(None), &mut d);
    assert_eq!(dump(&t), "a \u{fffd}\u{fffd}b\nc d\n");
    assert_eq!(
        d.render(&t.sources),
        "t.conf:1:3: note: invalid UTF-8 in configuration file (replaced with U+FFFD)\n"
    );
    assert_eq!(d.exit_code(), 0, "keepalived accepts any bytes");
}

#[test]
fn long_line_is_ignored_with_a_warning() {
    let long = "x".repeat(1023);
    let (tree, diags) = run(&format!("{long}\na\n{long}y\nb\n"));
    assert_eq!(tree, format!("{long}\na\nb\n"));
    assert_eq!(diags, "t.conf:3:1: warning: line too long - ignoring\n");
}

// ---------------------------------------------------------------------------------------
// @ conditionals

#[test]
fn conditional_lines() {
    let text = "@main a1\n@^main a2\n@backup b1\n@^backup b2\n@main\tc\n@mainx d\n@main\n@ e\n@Main f\n@main $P=1\n$P\n";
    let (tree, diags) = run_with(text, &opts(Some("main")));
    assert_eq!(tree, "a1\nb2\nc\n1\n");
    assert_eq!(diags, "");
    let (tree, _) = run_with(text, &opts(Some("backup")));
    assert_eq!(tree, "a2\nb1\n$P\n");
    // No config id: `@ID` never matches, `@^ID` always does.
    let (tree, _) = run_with(text, &opts(None));
    assert_eq!(tree, "a2\nb2\n$P\n");
}

#[test]
fn conditional_after_substitution() {
    let (tree, _) = run("$W=@main\n$W x\n$N=@^main\n$N y\n");
    assert_eq!(tree, "x\n");
}

// ---------------------------------------------------------------------------------------
// $ macros

#[test]
fn macros_single_line() {
    let (tree, diags) = run(concat!(
        "$IP=10.0.0.1\n",
        "$ PRIO = 1\n",
        "$EMPTY=\n",
        "$_X1=  spaced value  \n",
        "a $IP ${IP}/24 x$IP $IP, ($IP) $IPx $IP.1\n",
        "b $UNDEFINED ${UNDEF} $\n",
        "c ${_X1}!comment\n",
        "d [$EMPTY] [${EMPTY}]\n",
        "$IP=10.0.0.2\n",
        "e $IP\n",
        "$A=1 $B\n",
        "$B=2\n",
        "f $A\n",
        "g ${IP a b}\n",
    ));
    assert_eq!(
        tree,
        concat!(
            "$ PRIO = 1\n",
            "a 10.0.0.1 10.0.0.1/24 x10.0.0.1 10.0.0.1, (10.0.0.1) $IPx $IP.1\n",
            // keepalived splits the braces of an undefined `${…}` too.
            "b $UNDEFINED $ {\n  UNDEF\n}\n$\n",
            "c spaced value\n",
            "d [$EMPTY] []\n",
            "e 10.0.0.2\n",
            "f 1 2\n",
            "g $ {\n  IP a b\n}\n"
        )
    );
    assert_eq!(diags, "");
}

#[test]
fn macros_multiline() {
    let (tree, diags) = run(concat!(
        "$VIPS=10.0.0.1 \\\n",
        "  10.0.0.2   \\\n",
        "# a comment does not end it\n",
        "   \n",
        "  10.0.0.3\n",
        "virtual_ipaddress {\n",
        "  $VIPS\n",
        "}\n",
        "x $VIPS\n",
        "y $VIPS z\n",
        "$M=a \\\n",
        "b \\\n",
        "\n",
        "c\n",
        "$M\n",
        "$E=\\\n",
        "\n",
        "[${E}]\n",
    ));
    assert_eq!(
        tree,
        concat!(
            "virtual_ipaddress {\n",
            "  10.0.0.1\n",
            "  10.0.0.2\n",
            "  10.0.0.3\n",
            "}\n",
            "x 10.0.0.1\n",
            "10.0.0.2\n",
            "10.0.0.3\n",
            "y $VIPS z\n",
            "c\n",
            "a\n",
            "b\n",
            "[]\n",
        )
    );
    assert_eq!(diags, "");
}

#[test]
fn macro_containing_braces_and_comments() {
    let (tree, _) = run("$B=block {\n$B\n  inner\n}\n$H=a${_HASH}b\n$H\n\"${_HASH}\" x${_BANG}y\n");
    assert_eq!(tree, "block {\n  inner\n}\na\n\"#\" x\n");
}

#[test]
fn macro_value_starting_with_tilde_runs_seq() {
    let (tree, _) = run("$S=~SEQ(k, 2) m_$k\n$S\n");
    assert_eq!(tree, "m_1\nm_2\n");
}

#[test]
fn builtin_macros() {
    let o = LoadOptions {
        config_id: Some("lb1".into()),
        env: Some(Arc::new(|k| (k == "HOME").then(|| "/root".to_string()))),
        random_seed: 42,
        ..Default::default()
    };
    let text = "a ${_INSTANCE} $_INSTANCE ${_HASH} ${_BANG}\nb ${_ENV HOME} [${_ENV NOPE}] ${_ENV}\nc ${_RANDOM} ${_RANDOM 5 7} ${_RANDOM 100 100}\n$_INSTANCE=mine\nd $_INSTANCE\n";
    let (tree, diags) = run_with(text, &o);
    let lines: Vec<&str> = tree.lines().collect();
    // `${_HASH}` gives a `#`, which then starts a comment, as in keepalived.
    assert_eq!(lines[0], "a lb1 lb1");
    assert_eq!(lines[1], "b /root []");
    let c: Vec<&str> = lines[2].split(' ').collect();
    let r1: u32 = c[1].parse().unwrap();
    let r2: u32 = c[2].parse().unwrap();
    assert!(r1 <= 32767);
    assert!((5..=7).contains(&r2));
    assert_eq!(c[3], "100");
    assert_eq!(lines[3], "d mine");
    assert_eq!(diags, "");
    // Deterministic given the seed; different seeds differ somewhere.
    assert_eq!(run_with(text, &o).0, tree);
    let many = "x ${_RANDOM} ${_RANDOM} ${_RANDOM} ${_RANDOM}\n";
    let o2 = LoadOptions {
        random_seed: 43,
        ..o.clone()
    };
    assert_ne!(run_with(many, &o).0, run_with(many, &o2).0);
}

#[test]
fn pwd_is_the_directory_of_the_current_file() {
    let dir = TempDir::new("pwd");
    dir.write("sub/inc.conf", "in_sub ${_PWD}\n");
    let main = dir.write(
        "main.conf",
        "top $_PWD\ninclude sub/inc.conf\nafter ${_PWD}/x\n",
    );
    let (t, d) = load(&main, &opts(None));
    let canon = std::fs::canonicalize(&dir.0).unwrap().display().to_string();
    assert_eq!(
        dump(&t),
        format!("top {canon}\nin_sub {canon}/sub\nafter {canon}/x\n")
    );
    assert!(d.items.is_empty(), "{:?}", d.items);
}

#[test]
fn runaway_recursion_is_bounded() {
    let (tree, diags) = run("$A=$B\n$B=$A\n$A\nnext\n");
    assert_eq!(tree, "$B\nnext\n");
    assert_eq!(
        diags,
        "t.conf:3:1: error: Too many definition expansions (recursive definition?) on line '$B'\n"
    );
    // A growing definition stops at keepalived's line length, with its message.
    let (tree, diags) = run("$G=x $G\n$G\n");
    assert!(tree.starts_with("x x x "), "{tree}");
    assert!(tree.len() < 1100);
    assert!(
        diags.contains("would exceed maximum line length"),
        "{diags}"
    );
    // A multiline definition that references itself is bounded by the generated-line limit.
    let o = LoadOptions {
        max_generated_lines: 1000,
        ..opts(None)
    };
    let (tree, diags) = run_with("$M=a \\\n$M\n$M\nend\n", &o);
    assert!(tree.ends_with("end\n"));
    assert!(tree.lines().count() <= 1002, "{}", tree.lines().count());
    assert!(diags.contains("expansion exceeds 1000 lines"), "{diags}");
}

// ---------------------------------------------------------------------------------------
// ~SEQ and ~LST

#[test]
fn seq_forms() {
    let (tree, diags) = run(concat!(
        "~SEQ(i, 3) a$i\n",
        "~SEQ(i, -2) b$i\n",
        "~SEQ(i, 0) c$i\n",
        "~SEQ(i, 5, 3) d$i\n",
        "~SEQ (i,1,2,6) e$i\n",
        "~SEQ(i, 010, 0x3, 14) f${i}z\n",
        "$N=3\n",
        "~SEQ(i, $N) g$i\n",
        "~SEQx(h, 9, 3, 0x11) fe80::$h\n",
        "~SEQ(i, 1, 2) ~SEQ(j, 1, 2) n_${i}_$j\n",
    ));
    assert_eq!(
        tree,
        concat!(
            "a1\na2\na3\n",
            "b-1\nb-2\n",
            "c1\nc0\n",
            "d5\nd4\nd3\n",
            "e1\ne3\ne5\n",
            "f8z\nf11z\nf14z\n",
            "g1\ng2\ng3\n",
            "fe80::9\nfe80::c\nfe80::f\n",
            "n_1_1\nn_1_2\nn_2_1\nn_2_2\n",
        )
    );
    assert_eq!(diags, "");
}

#[test]
fn seq_in_blocks_with_braces() {
    let (tree, _) = run("virtual_ipaddress {\n~SEQ(i, 1, 2) 10.0.0.${i}/24\n}\n~SEQ(i,2) vrrp_instance VI_$i { virtual_router_id $i }\n");
    assert_eq!(
        tree,
        "virtual_ipaddress {\n  10.0.0.1/24\n  10.0.0.2/24\n}\nvrrp_instance VI_1 {\n  virtual_router_id 1\n}\nvrrp_instance VI_2 {\n  virtual_router_id 2\n}\n"
    );
}

#[test]
fn seq_errors() {
    let (tree, diags) = run(concat!(
        "~SEQ(i, 1, -1, 3) a\n",
        "~SEQ(i, 1, 0, 3) a\n",
        "~SEQ(,2) a\n",
        "~SEQ(i 2) a\n",
        "~SEQ(i, 2 a\n",
        "~SEQx(i,-1,2) a\n",
        "~SEQ i a\n",
        "~SEQ(i, 1 2) a\n",
        "~SEQ(i, 1,2,3,4) a\n",
        "~SEQ(i, 0x0000000000000000000000000000000000000000000000000000000000000001) a\n",
        "~SEQUENCE x\n",
        "~other x\n",
    ));
    assert_eq!(tree, "~other x\n");
    assert_eq!(
        diags,
        concat!(
            "t.conf:1:1: error: Invalid ~SEQ values '~SEQ(i, 1, -1, 3) a'\n",
            "t.conf:2:1: error: Invalid ~SEQ values '~SEQ(i, 1, 0, 3) a'\n",
            "t.conf:3:1: error: Invalid ~SEQ definition '~SEQ(,2) a'\n",
            "t.conf:4:1: error: Invalid ~SEQ definition '~SEQ(i 2) a'\n",
            "t.conf:5:1: error: Invalid ~SEQ definition '~SEQ(i, 2 a'\n",
            "t.conf:6:1: error: ~SEQx is only valid for positive numbers '~SEQx(i,-1,2) a'\n",
            "t.conf:7:1: error: Invalid ~SEQ specification '~SEQ i a'\n",
            "t.conf:8:1: error: Invalid ~SEQ definition '~SEQ(i, 1 2) a'\n",
            "t.conf:9:1: error: Invalid ~SEQ definition '~SEQ(i, 1,2,3,4) a'\n",
            "t.conf:10:1: error: ~SEQ parameter strings too long '~SEQ(i, 0x0000000000000000000000000000000000000000000000000000000000000001) a'\n",
            "t.conf:11:1: error: Invalid ~SEQ specification '~SEQUENCE x'\n",
        )
    );
}

#[test]
fn seq_output_is_bounded() {
    let o = LoadOptions {
        max_generated_lines: 5000,
        ..opts(None)
    };
    let (tree, diags) = run_with("~SEQ(i, 0x7fffffffffffffff) x$i\nafter\n", &o);
    assert_eq!(tree.lines().count(), 5001);
    assert!(tree.ends_with("after\n"));
    assert_eq!(
        diags,
        "t.conf:1:1: error: ~SEQ/~LST/multiline expansion exceeds 5000 lines - stopping\n"
    );
    // Counting to the end of the i64 range terminates instead of overflowing.
    let (tree, diags) = run("~SEQ(i, 0x7ffffffffffffffe, 0x7fffffffffffffff) x$i\n");
    assert_eq!(tree, "x9223372036854775806\nx9223372036854775807\n");
    assert_eq!(diags, "");
}

#[test]
fn lst_forms() {
    let (tree, diags) = run(concat!(
        "~LST(v, a, b, c) a_$v\n",
        "~LST ( v , x , y ) b_$v\n",
        "~LST(v, p,,q) c_${v}_\n",
        "~LST(v, ) d_${v}_\n",
        "~LST({x,y}, {1,2}, {3}, {}, q) e_${x}_${y}\n",
        "$L=m\n",
        "~LST(v, $L, n) f_$v\n",
        "~LST({x,y}, {1,2}, {3,4}) ~SEQ(i, 2) g_${x}_${y}_$i\n",
        "~SEQ(i, 2) ~LST(w, c, d) h_${i}_$w\n",
        "~LST(v, a, b) ~LST(w, c, d) i_${v}_$w\n",
    ));
    assert_eq!(
        tree,
        concat!(
            "a_a\na_b\na_c\n",
            "b_x\nb_y\n",
            "c_p_\nc__\nc_q_\n",
            "d__\n",
            "e_1_2\ne_3_\ne__\ne_q_\n",
            "f_m\nf_n\n",
            "g_1_2_1\ng_1_2_2\ng_3_4_1\ng_3_4_2\n",
            "h_1_c\nh_1_d\nh_2_c\nh_2_d\n",
            "i_a_c\ni_a_d\ni_b_c\ni_b_d\n",
        )
    );
    assert_eq!(diags, "");
}

#[test]
fn lst_errors() {
    let (tree, diags) = run(concat!(
        "~LST(v, a b, c) x\n",
        "~LST(v) x\n",
        "~LST(v, {1,2}, 3) x\n",
        "~LST({x,y}, {1,2,3}) x\n",
        "~LST({x,y}, {1,2} {3}) x\n",
        "~LST(v, a x\n",
    ));
    assert_eq!(tree, "");
    assert_eq!(
        diags,
        concat!(
            "t.conf:1:1: error: Invalid ~LST specification '~LST(v, a b, c) x'\n",
            "t.conf:2:1: error: Invalid ~LST specification '~LST(v) x'\n",
            "t.conf:3:1: error: ~LST specification has too many values '~LST(v, {1,2}, 3) x'\n",
            "t.conf:4:1: error: ~LST specification has too many values '~LST({x,y}, {1,2,3}) x'\n",
            "t.conf:5:1: error: Invalid ~LST specification '~LST({x,y}, {1,2} {3}) x'\n",
            "t.conf:6:1: error: Invalid ~LST specification '~LST(v, a x'\n",
        )
    );
}

// ---------------------------------------------------------------------------------------
// Spans

#[test]
fn spans_of_expanded_text() {
    let mut d = Diagnostics::new();
    let t = parse_str(
        "$V=10.0.0.1 10.0.0.2\n  vip $V end\n$M=m1 \\\nm2\nx ${M}\n~SEQ(i, 2)   w$i  z\n",
        "t.conf",
        &opts(None),
        &mut d,
    );
    let cols = |n: &Node| {
        n.words
            .iter()
            .map(|w| (w.span.line, w.span.col))
            .collect::<Vec<_>>()
    };
    // Substituted words take the column of the `$`; the rest keep their own.
    assert_eq!(cols(&t.nodes[0]), vec![(2, 3), (2, 7), (2, 7), (2, 10)]);
    // A multiline definition: its later lines take the reference's line and column.
    assert_eq!(cols(&t.nodes[1]), vec![(5, 1), (5, 3)]);
    assert_eq!(cols(&t.nodes[2]), vec![(5, 3)]);
    // ~SEQ lines are the text after `)`, with its columns.
    assert_eq!(cols(&t.nodes[3]), vec![(6, 14), (6, 19)]);
    assert_eq!(cols(&t.nodes[4]), vec![(6, 14), (6, 19)]);
    assert_eq!(t.nodes[4].words[0].text, "w2");
}

#[test]
fn spans_through_includes() {
    let dir = TempDir::new("spans");
    dir.write("inc/a.conf", "\n\n   kw_a  arg\n");
    let main = dir.write("main.conf", "top {\n  include inc/a.conf\n    after x\n}\n");
    let (t, d) = load(&main, &opts(None));
    assert!(d.items.is_empty(), "{:?}", d.items);
    let top = &t.nodes[0];
    let a = &top.children()[0];
    let after = &top.children()[1];
    assert_eq!(
        t.sources.render(a.span()),
        format!("{}:3:4", dir.path("inc/a.conf").display())
    );
    assert_eq!(
        t.sources.render(a.words[1].span),
        format!("{}:3:10", dir.path("inc/a.conf").display())
    );
    assert_eq!(
        t.sources.render(after.span()),
        format!("{}:3:5", main.display())
    );
    assert_eq!(
        t.sources.render(top.block.as_ref().unwrap().close.unwrap()),
        format!("{}:4:1", main.display())
    );
}

// ---------------------------------------------------------------------------------------
// include

#[test]
fn include_globs_sorted_relative_to_the_including_file() {
    let dir = TempDir::new("glob");
    dir.write("conf.d/b.conf", "b\n");
    dir.write(
        "conf.d/a.conf",
        "a\ninclude sub/{y,x}.conf\ninclude sub/[xy]?.conf\n",
    );
    dir.write("conf.d/sub/x.conf", "x\n");
    dir.write("conf.d/sub/y.conf", "y\n");
    dir.write("conf.d/sub/x1.conf", "x1\n");
    dir.write("conf.d/sub/y2.conf", "y2\n");
    dir.write("conf.d/c.txt", "not matched\n");
    dir.write("conf.d/.hidden.conf", "hidden\n");
    dir.write("other/o.conf", "o\n");
    let main = dir.write(
        "main.conf",
        "first\ninclude conf.d/*.conf\ninclude \"other/o.conf\"\ninclude conf.d/?.c[a-o]nf\nlast\n",
    );
    let (t, d) = load(&main, &opts(None));
    assert_eq!(
        dump(&t),
        "first\na\ny\nx\nx1\ny2\nb\no\na\ny\nx\nx1\ny2\nb\nlast\n"
    );
    assert!(d.items.is_empty(), "{:?}", d.items);
    // Absolute patterns work too, and the file list is recorded in the source map.
    let text = format!("include {}/conf.d/b.conf\n", dir.0.display());
    let mut d = Diagnostics::new();
    let t = parse_str(&text, "/nonexistent/t.conf", &opts(None), &mut d);
    assert_eq!(dump(&t), "b\n");
    assert_eq!(t.sources.files.len(), 2);
}

#[test]
fn include_skips_executables_and_directories() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("exec");
    dir.write("d/ok.conf", "ok\n");
    let exe = dir.write("d/run.conf", "exe\n");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(dir.path("d/sub.conf")).unwrap();
    let main = dir.write("main.conf", "include d/*.conf\n");
    let (t, d) = load(&main, &opts(None));
    assert_eq!(dump(&t), "ok\n");
    assert_eq!(
        render(&t, &d, &dir),
        "DIR/main.conf:1:9: note: Configuration file 'DIR/d/run.conf' is not a regular non-executable file - skipping\n\
         DIR/main.conf:1:9: note: Configuration file 'DIR/d/sub.conf/' is a directory - skipping\n"
    );
    assert_eq!(d.exit_code(), 0, "plain include never errors");
    // includer makes them errors.
    let main = dir.write("main2.conf", "includer d/*.conf\n");
    let (t, d) = load(&main, &opts(None));
    assert_eq!(dump(&t), "ok\n");
    assert_eq!(d.errors().count(), 2);
    assert_eq!(d.exit_code(), 5);
}

#[test]
fn include_variants_and_all_config_checks() {
    let dir = TempDir::new("variants");
    dir.write("x.conf", "x\n");
    let cases = [
        (
            "include none.conf",
            "note: Config files missing 'none.conf'.",
        ),
        (
            "includer none.conf",
            "note: Config files missing 'none.conf'.",
        ),
        (
            "includem none.conf",
            "error: Config files missing 'none.conf'.",
        ),
        ("includem none*.conf", ""),
        (
            "includew none*.conf",
            "error: No config files matched 'none*.conf'.",
        ),
        (
            "includeb none.conf",
            "note: Config files missing 'none.conf'.",
        ),
        (
            "include {x,y}.conf",
            "note: Some config files missing: \"{x,y}.conf\".",
        ),
        (
            "includeb {x,y}.conf",
            "error: Some config files missing: \"{x,y}.conf\".",
        ),
        (
            "includea {x,y}.conf",
            "error: Some config files missing: \"{x,y}.conf\".",
        ),
        (
            "includea none*.conf",
            "error: No config files matched 'none*.conf'.",
        ),
        ("includea {x,x}.conf", ""),
    ];
    for (line, want) in cases {
        let main = dir.write("main.conf", &format!("{line}\n"));
        let (t, d) = load(&main, &opts(None));
        let got = render(&t, &d, &dir);
        let want = if want.is_empty() {
            String::new()
        } else {
            format!("DIR/main.conf:1:{}: {want}\n", line.find(' ').unwrap() + 2)
        };
        assert_eq!(got, want, "{line}");
    }
    // includeb with a missing alternative reads nothing; include reads what matched.
    let main = dir.write("main.conf", "include {x,y}.conf\nincludeb {x,y}.conf\n");
    let (t, _) = load(&main, &opts(None));
    assert_eq!(dump(&t), "x\n");
    // -e turns every check on.
    let main = dir.write("main.conf", "include none*.conf\ninclude {x,y}.conf\n");
    let all = LoadOptions {
        all_config_checks: true,
        ..opts(None)
    };
    let (t, d) = load(&main, &all);
    assert_eq!(
        render(&t, &d, &dir),
        "DIR/main.conf:1:9: error: No config files matched 'none*.conf'.\n\
         DIR/main.conf:2:9: error: Some config files missing: \"{x,y}.conf\".\n"
    );
    // include_check sets the checks for later includes of the file.
    let main = dir.write(
        "main.conf",
        "global_defs {\n include_check match\n}\ninclude none.conf\n",
    );
    let (t, d) = load(&main, &opts(None));
    assert_eq!(dump(&t), "global_defs {\n  include_check match\n}\n");
    assert_eq!(
        render(&t, &d, &dir),
        "DIR/main.conf:4:9: error: Config files missing 'none.conf'.\n"
    );
}

#[test]
fn include_cycle_is_an_error() {
    let dir = TempDir::new("cycle");
    dir.write("a.conf", "in_a\ninclude sub/b.conf\n");
    dir.write("sub/b.conf", "in_b\ninclude ../a.conf\n");
    dir.write("self.conf", "s\ninclude self.conf\n");
    let main = dir.write(
        "main.conf",
        "include a.conf\ninclude self.conf\ninclude a.conf\n",
    );
    let (t, d) = load(&main, &opts(None));
    assert_eq!(dump(&t), "in_a\nin_b\ns\nin_a\nin_b\n");
    assert_eq!(
        render(&t, &d, &dir),
        "DIR/sub/b.conf:2:9: error: Configuration file 'DIR/sub/../a.conf' is already being read (include loop) - skipping\n\
         DIR/self.conf:2:9: error: Configuration file 'DIR/self.conf' is already being read (include loop) - skipping\n\
         DIR/sub/b.conf:2:9: error: Configuration file 'DIR/sub/../a.conf' is already being read (include loop) - skipping\n"
    );
}

#[test]
fn include_depth_is_bounded() {
    let dir = TempDir::new("depth");
    for i in 0..50 {
        dir.write(
            &format!("f{i}.conf"),
            &format!("l{i}\ninclude f{}.conf\n", i + 1),
        );
    }
    let o = LoadOptions {
        max_include_depth: 10,
        ..opts(None)
    };
    let (t, d) = load(&dir.path("f0.conf"), &o);
    assert_eq!(t.nodes.len(), 11);
    assert_eq!(
        render(&t, &d, &dir),
        "DIR/f10.conf:2:9: error: Include depth exceeds 10 - skipping 'f11.conf'\n"
    );
}

#[test]
fn include_inside_blocks_and_after_conditionals() {
    let dir = TempDir::new("block");
    dir.write("vips.conf", "10.0.0.1\n10.0.0.2\n");
    dir.write("main_only.conf", "m\n");
    let main = dir.write(
        "main.conf",
        "virtual_ipaddress {\n  include vips.conf\n}\nb { include vips.conf }\n@main include main_only.conf\n@other include main_only.conf\n$F=vips\ninclude ${F}.conf\n",
    );
    let (t, d) = load(&main, &opts(Some("main")));
    assert_eq!(
        dump(&t),
        "virtual_ipaddress {\n  10.0.0.1\n  10.0.0.2\n}\nb {\n  10.0.0.1\n  10.0.0.2\n}\nm\n10.0.0.1\n10.0.0.2\n"
    );
    assert!(d.items.is_empty(), "{:?}", d.items);
}

#[test]
fn unclosed_block_in_an_include_ends_with_the_file() {
    let dir = TempDir::new("unclosed");
    dir.write("part.conf", "inner {\n  x\n");
    dir.write("extra.conf", "y\n}\nz\n");
    let main = dir.write(
        "main.conf",
        "outer {\n  include part.conf\n  w\n  include extra.conf\n}\n",
    );
    let (t, d) = load(&main, &opts(None));
    assert_eq!(
        dump(&t),
        "outer {\n  inner {\n    x\n  }\n  w\n  y\n  z\n}\n"
    );
    assert_eq!(
        render(&t, &d, &dir),
        "DIR/part.conf:1:7: error: unclosed '{' of 'inner' (there are 1 missing '}'s)\n\
         DIR/extra.conf:2:1: error: Extra '}' found\n"
    );
}

#[test]
fn missing_main_file_is_fatal() {
    let dir = TempDir::new("missing");
    let (t, d) = load(&dir.path("nope.conf"), &opts(None));
    assert!(t.nodes.is_empty());
    assert_eq!(
        render(&t, &d, &dir),
        "error: Unable to find configuration file DIR/nope.conf\n"
    );
    assert_eq!(d.exit_code(), 4);
    // The main path is a glob, as in keepalived.
    dir.write("k1.conf", "one\n");
    dir.write("k2.conf", "two\n");
    let (t, d) = load(&dir.path("k*.conf"), &opts(None));
    assert_eq!(dump(&t), "one\ntwo\n");
    assert_eq!(d.items.len(), 1);
    assert_eq!(d.items[0].severity, Severity::Warning);
}

// ---------------------------------------------------------------------------------------
// Robustness: a seeded random test (our own PRNG, no `rand`).

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SNIPPETS: &[&str] = &[
    "global_defs {\n  router_id LVS_DEVEL\n  notification_email { a@b.c }\n}\n",
    "vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n priority 100\n advert_int 1\n authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n virtual_ipaddress {\n  192.168.200.16\n }\n}\n",
    "virtual_server 10.10.10.2 1358 {\n delay_loop 6\n lb_algo rr\n real_server 192.168.200.2 1358 {\n  weight 1\n  HTTP_GET { url { path /testurl/test.jsp digest 640205b7b0fc66c1ea91c463fac6334d } connect_timeout 3 }\n }\n}\n",
    "$IF=eth0\n@main $PRIO=150\n@^main $PRIO=100\n~SEQ(i, 1, 3) vrrp_instance VI_$i { interface $IF priority $PRIO }\n",
    "$M=a \\\n b \\\n c\n~LST({x,y}, {1,2}, {3}) k $x ${y} $M\n",
    "vrrp_script chk { script \"/bin/sh -c 'exit 0'\" ! comment\n interval 2 # x\n}\n",
    "~SEQx(h, 0xa, 2, 0x10) fe80::$h/64 \\# ${_HASH} ${_RANDOM 1 9} ${_ENV X} ${_PWD}\n",
];

fn samples() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = SNIPPETS.iter().map(|s| s.as_bytes().to_vec()).collect();
    if let Ok(rd) = std::fs::read_dir("/usr/share/doc/keepalived/samples") {
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if let Ok(b) = std::fs::read(&p) {
                if b.len() < 64 * 1024 {
                    out.push(b);
                }
            }
        }
    }
    out
}

const ALPHABET: &[u8] = b"{}\"'!#\\$@^~()[]*?,=_ \t\n\rSEQLSTxaA019-.";

fn mutate(rng: &mut SplitMix, src: &[u8]) -> Vec<u8> {
    let mut v = src.to_vec();
    for _ in 0..1 + rng.below(8) {
        let pos = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let p = pos.min(v.len() - 1);
                v.remove(p);
            }
            1 => v.insert(pos, ALPHABET[rng.below(ALPHABET.len())]),
            2 => v.insert(pos, rng.next() as u8),
            3 if !v.is_empty() => {
                let a = rng.below(v.len());
                let len = rng.below(40).min(v.len() - a);
                let chunk: Vec<u8> = v[a..a + len].to_vec();
                let at = pos.min(v.len());
                v.splice(at..at, chunk);
            }
            4 => {
                let s = [
                    "{",
                    "}",
                    "$X",
                    "${_RANDOM}",
                    "~SEQ(i,3) ",
                    "@main ",
                    "\\\n",
                    "\"",
                    "include x\n",
                ];
                let s = s[rng.below(s.len())].as_bytes();
                let at = pos.min(v.len());
                v.splice(at..at, s.iter().copied());
            }
            _ => {
                if !v.is_empty() {
                    let p = pos.min(v.len() - 1);
                    v[p] = ALPHABET[rng.below(ALPHABET.len())];
                }
            }
        }
    }
    v
}

fn count_nodes(nodes: &[Node]) -> usize {
    nodes.iter().map(|n| 1 + count_nodes(n.children())).sum()
}

#[test]
fn random_inputs_never_panic_and_stay_bounded() {
    let dir = TempDir::new("fuzz");
    // `include x` in mutations resolves here: a file that includes itself.
    dir.write("x", "x_line\ninclude x\n");
    let name = dir.path("fuzz.conf").display().to_string();
    let o = LoadOptions {
        config_id: Some("main".into()),
        max_generated_lines: 20_000,
        ..Default::default()
    };
    let samples = samples();
    let mut rng = SplitMix(0x5eed_0001);
    for iter in 0..10_000 {
        let input: Vec<u8> = if iter % 2 == 0 {
            let len = rng.below(300);
            (0..len)
                .map(|_| {
                    if rng.below(3) == 0 {
                        rng.next() as u8
                    } else {
                        ALPHABET[rng.below(ALPHABET.len())]
                    }
                })
                .collect()
        } else {
            let base = &samples[rng.below(samples.len())];
            mutate(&mut rng, base)
        };
        let mut d = Diagnostics::new();
        // FUZZ_TRACE=1 prints each input first, to find one that hangs.
        if std::env::var("FUZZ_TRACE").is_ok() {
            eprintln!("iter {iter}: {:?}", String::from_utf8_lossy(&input));
        }
        let t = parse_bytes(&input, &name, &o, &mut d);
        let nodes = count_nodes(&t.nodes);
        assert!(
            nodes <= 20_000 + input.len() * 4 + 64,
            "iteration {iter}: {nodes} nodes"
        );
        assert!(
            d.items.len() <= 40_000 + input.len() * 4,
            "iteration {iter}"
        );
        let _ = d.render(&t.sources);
    }
}

#[test]
fn real_samples_parse_cleanly() {
    let Ok(rd) = std::fs::read_dir("/usr/share/doc/keepalived/samples") else {
        eprintln!("SKIP: /usr/share/doc/keepalived/samples not present");
        return;
    };
    let mut n = 0;
    for e in rd.flatten() {
        let p = e.path();
        if !p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("keepalived.conf"))
        {
            continue;
        }
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        let mut d = Diagnostics::new();
        let t = parse_bytes(
            &bytes,
            &p.display().to_string(),
            &opts(Some("main")),
            &mut d,
        );
        // The samples are valid configurations: no lexical error (includes of files that
        // do not exist here are notes).
        let errs: Vec<String> = d.errors().map(|x| x.message.clone()).collect();
        assert!(errs.is_empty(), "{}: {:?}", p.display(), errs);
        assert!(!t.nodes.is_empty() || bytes.is_empty(), "{}", p.display());
        n += 1;
    }
    assert!(n > 0);
}

/// Debugging aid: `DUMP_CONF=file [CONFIG_ID=id] cargo test --test config_lexer -- --ignored
/// dump_file_from_env --nocapture` prints the tree and diagnostics of a file.
#[test]
#[ignore]
fn dump_file_from_env() {
    let Ok(path) = std::env::var("DUMP_CONF") else {
        return;
    };
    let o = LoadOptions {
        config_id: std::env::var("CONFIG_ID").ok(),
        ..Default::default()
    };
    let (t, d) = load(Path::new(&path), &o);
    print!("{}", dump(&t));
    print!("{}", d.render(&t.sources));
}
