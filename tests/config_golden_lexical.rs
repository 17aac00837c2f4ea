//! Golden diagnostics for every lexical error class, rendered exactly as `keepalived-rs -t`
//! prints them (`file:line:col: severity: message`). The configurations are in
//! `tests/fixtures/lexer/`; paths are shown relative to that directory. The message texts
//! are keepalived's where keepalived has one; ours (unclosed blocks, include loops, runaway
//! recursion, expansion bounds) where keepalived hangs or says less.

use keepalived_rs::config::diag::Diagnostics;
use keepalived_rs::config::{load_file, LoadOptions};
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lexer")
}

/// Loads a fixture and renders its diagnostics with the fixture directory stripped from
/// paths; also returns the `-t` exit code they give.
fn render(name: &str) -> (String, i32) {
    render_with(name, &LoadOptions::default())
}

fn render_with(name: &str, opts: &LoadOptions) -> (String, i32) {
    let mut d = Diagnostics::new();
    let t = load_file(&fixture_dir().join(name), opts, &mut d);
    let prefix = format!("{}/", fixture_dir().display());
    (d.render(&t.sources).replace(&prefix, ""), d.exit_code())
}

#[test]
fn unclosed_brace_points_at_the_opening_block() {
    assert_eq!(
        render("unclosed_brace.conf"),
        (
            "unclosed_brace.conf:6:20: error: unclosed '{' of 'vrrp_instance VI_1' \
             (there are 1 missing '}'s)\n"
                .to_string(),
            5
        )
    );
    assert_eq!(
        render("unclosed_nested.conf").0,
        "unclosed_nested.conf:2:1: error: unclosed '{' of 'vrrp_instance VI_1' (there are 2 missing '}'s)\n\
         unclosed_nested.conf:3:23: error: unclosed '{' of 'virtual_ipaddress' (there are 2 missing '}'s)\n"
    );
}

#[test]
fn extra_closing_brace() {
    assert_eq!(
        render("extra_brace.conf"),
        (
            "extra_brace.conf:4:1: error: Extra '}' found\n\
             extra_brace.conf:5:37: error: Extra '}' found\n"
                .to_string(),
            5
        )
    );
}

#[test]
fn stray_opening_brace() {
    assert_eq!(
        render("stray_brace.conf"),
        (
            "stray_brace.conf:1:1: warning: Unexpected '{' - ignoring\n\
             stray_brace.conf:5:1: warning: Unexpected '{' - ignoring\n\
             stray_brace.conf:7:5: warning: Unexpected '{' - ignoring\n"
                .to_string(),
            5
        )
    );
}

#[test]
fn missing_includes() {
    assert_eq!(
        render("include_missing.conf"),
        (
            "include_missing.conf:1:10: error: Config files missing 'missing.conf'.\n\
             include_missing.conf:3:10: error: No config files matched 'missing_*.conf'.\n\
             include_missing.conf:4:9: note: Config files missing 'missing.conf'.\n\
             include_missing.conf:5:10: error: Some config files missing: \"include_missing_{a,b}.part\".\n\
             include_missing.conf:6:9: note: Some config files missing: \"include_missing_{a,b}.part\".\n"
                .to_string(),
            5
        )
    );
    // Plain `include` only logs: a configuration with nothing else wrong passes -t.
    let all = LoadOptions {
        all_config_checks: true,
        ..Default::default()
    };
    let (_, code) = render_with("include_missing.conf", &all);
    assert_eq!(code, 5);
}

#[test]
fn skipped_include_files() {
    assert_eq!(
        render("include_skipped.conf"),
        (
            "include_skipped.conf:1:10: error: Configuration file 'include_skipped_exec.part' is not a regular non-executable file - skipping\n\
             include_skipped.conf:2:10: error: Configuration file 'include_skipped_dir.part/' is a directory - skipping\n\
             include_skipped.conf:3:9: note: Configuration file 'include_skipped_dir.part/' is a directory - skipping\n\
             include_skipped.conf:3:9: note: Configuration file 'include_skipped_exec.part' is not a regular non-executable file - skipping\n"
                .to_string(),
            5
        )
    );
}

#[test]
fn include_loop() {
    assert_eq!(
        render("include_cycle.conf"),
        (
            "include_cycle_b.part:2:9: error: Configuration file 'include_cycle.conf' is already \
             being read (include loop) - skipping\n"
                .to_string(),
            5
        )
    );
}

#[test]
fn missing_main_file_is_fatal() {
    assert_eq!(
        render("does_not_exist.conf"),
        (
            "error: Unable to find configuration file does_not_exist.conf\n".to_string(),
            4
        )
    );
}

#[test]
fn bad_seq_and_lst() {
    assert_eq!(
        render("bad_seq.conf"),
        (
            "bad_seq.conf:1:1: error: Invalid ~SEQ values '~SEQ(i, 1, -1, 3) wrong_direction_$i'\n\
             bad_seq.conf:2:1: error: Invalid ~SEQ values '~SEQ(i, 1, 0, 3) zero_step_$i'\n\
             bad_seq.conf:3:1: error: Invalid ~SEQ definition '~SEQ(, 3) no_variable'\n\
             bad_seq.conf:4:1: error: Invalid ~SEQ definition '~SEQ(i, 3 no_close'\n\
             bad_seq.conf:5:1: error: ~SEQx is only valid for positive numbers '~SEQx(i, -1, 2) negative_hex_$i'\n\
             bad_seq.conf:6:1: error: Invalid ~SEQ specification '~SEQ i, 3'\n\
             bad_seq.conf:7:1: error: ~SEQ parameter strings too long '~SEQ(i, 0x0000000000000000000000000000000000000000000000000000000000000003) too_long'\n\
             bad_seq.conf:10:1: error: Invalid ~SEQ definition '~SEQ(i, $M) multiline_param'\n\
             bad_seq.conf:11:1: error: Invalid ~LST specification '~LST(v) no_values'\n\
             bad_seq.conf:12:1: error: Invalid ~LST specification '~LST(v, a b) blank_in_value'\n\
             bad_seq.conf:13:1: error: ~LST specification has too many values '~LST({x,y}, {1,2,3}) too_many_values'\n"
                .to_string(),
            5
        )
    );
}

#[test]
fn seq_output_bound() {
    let opts = LoadOptions {
        max_generated_lines: 1000,
        ..Default::default()
    };
    assert_eq!(
        render_with("seq_bound.conf", &opts),
        (
            "seq_bound.conf:1:1: error: ~SEQ/~LST/multiline expansion exceeds 1000 lines - \
             stopping\n"
                .to_string(),
            5
        )
    );
}

#[test]
fn runaway_macro_recursion() {
    let (out, code) = render("recursion.conf");
    let grown = format!("{}$G", "x ".repeat(510));
    assert_eq!(
        out,
        format!(
            "recursion.conf:3:11: error: Too many definition expansions (recursive definition?) \
             on line 'router_id $B'\n\
             recursion.conf:5:1: warning: Parameter substitution on line '{grown}' would exceed \
             maximum line length\n"
        )
    );
    assert_eq!(code, 5);
}

#[test]
fn line_too_long() {
    assert_eq!(
        render("long_line.conf"),
        (
            "long_line.conf:2:1: warning: line too long - ignoring\n".to_string(),
            5
        )
    );
}

#[test]
fn unterminated_and_unmatched_quotes() {
    // keepalived drops the unterminated word and the rest of the line.
    assert_eq!(
        render("unterminated_quote.conf"),
        (
            "unterminated_quote.conf:2:29: error: Unterminated quote 'notification_email_from \"lb1@example.com'\n\
             unterminated_quote.conf:3:15: error: Unterminated quote 'router_id \"lb1 # not a comment inside quotes'\n\
             unterminated_quote.conf:6:5: error: Unmatched quote: 'smtp_server 10.0.0.1\\\"x'\n"
                .to_string(),
            5
        )
    );
}

#[test]
fn invalid_utf8_is_a_note() {
    assert_eq!(
        render("invalid_utf8.conf"),
        (
            "invalid_utf8.conf:2:18: note: invalid UTF-8 in configuration file (replaced with \
             U+FFFD)\n"
                .to_string(),
            0
        )
    );
}
