//! Golden tests for the IPVS side of the semantic pass: one fixture per class of error in
//! `tests/fixtures/lvs/`, with the exact rendered diagnostics. The messages are keepalived
//! 2.2.7's (checked with `tests/fixtures/lvs/parity.sh`, which runs the real keepalived -t
//! on the same fixtures); the did-you-mean suffix and the notes are our own.

use keepalived_rs::config::diag::{Diagnostics, Severity};
use keepalived_rs::config::semantic::{self, PermissiveHost, SemanticOptions};
use keepalived_rs::config::{parse_str, LoadOptions};
use std::path::Path;

/// Loads a fixture; returns (errors and warnings rendered, notes rendered, exit code).
fn run(name: &str) -> (String, String, i32) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lvs")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut diags = Diagnostics::new();
    let tree = parse_str(&text, name, &LoadOptions::default(), &mut diags);
    let _cfg = semantic::build(
        &tree,
        &PermissiveHost,
        &SemanticOptions::default(),
        &mut diags,
    );
    let mut errs = String::new();
    let mut notes = String::new();
    for d in &diags.items {
        // The script-security verdict belongs to the scripts pass (tests of its own).
        if d.message.starts_with("SECURITY VIOLATION") {
            continue;
        }
        let line = Diagnostics::render_one(d, &tree.sources) + "\n";
        if d.severity == Severity::Note {
            notes.push_str(&line);
        } else {
            errs.push_str(&line);
        }
    }
    (errs, notes, diags.exit_code())
}

fn golden(name: &str, expected: &str) {
    let (errs, _notes, code) = run(name);
    assert_eq!(errs, expected, "diagnostics of {name}");
    if expected.is_empty() {
        assert_eq!(code, 0, "exit code of {name}");
    } else {
        // 5, or 6 when the fixture also has scripts without script security.
        assert!(code == 5 || code == 6, "exit code of {name}: {code}");
    }
}

#[test]
fn unknown_scheduler() {
    golden(
        "bad_scheduler.conf",
        "bad_scheduler.conf:2:13: error: Invalid lvs_scheduler 'rrr' - ignoring\n\
         bad_scheduler.conf:1:1: warning: Virtual server [192.0.2.10]:tcp:80: no scheduler set, setting default 'wlc'\n",
    );
}

#[test]
fn bad_lvs_method() {
    golden(
        "bad_lvs_method.conf",
        "bad_lvs_method.conf:3:16: error: PARSER : unknown [NATT] routing method for virtual server.\n\
         bad_lvs_method.conf:6:9: error: gue tunnels require port, otherwise cannot have port.\n",
    );
}

#[test]
fn tunnel_options() {
    golden(
        "tunnel_options.conf",
        "tunnel_options.conf:6:9: error: ipip tunnels do not support checksum option.\n\
         tunnel_options.conf:9:9: error: gre tunnels do not support remote checksum option.\n\
         tunnel_options.conf:12:29: error: Unknown tunnel type vxlan for real server.\n\
         tunnel_options.conf:15:29: error: number '99999' outside range [1, 65535]\n\
         tunnel_options.conf:15:29: error: Invalid gue tunnel port 99999 for real server.\n\
         tunnel_options.conf:18:24: error: Invalid tunnel option bogus for real server.\n",
    );
}

#[test]
fn vsg_cidr_with_host_bits() {
    golden(
        "vsg_cidr_host_bits.conf",
        "vsg_cidr_host_bits.conf:2:5: error: Address mask bits not empty - 192.0.2.1/24 - skipping\n",
    );
}

#[test]
fn vsg_bad_ranges() {
    golden(
        "vsg_bad_range.conf",
        "vsg_bad_range.conf:2:5: error: Address range end is not greater than address range start - 192.0.2.10-5 - skipping\n\
         vsg_bad_range.conf:3:5: error: Virtual server group range '192.0.2.10-300' end '300' too large\n\
         vsg_bad_range.conf:4:5: error: Virtual server group range '192.0.2.10-20x' has extra characters at end 'x'\n\
         vsg_bad_range.conf:5:5: error: Address range end is less than address range start - 192.0.2.10-192.0.2.2 - skipping\n",
    );
}

/// keepalived only logs an unknown group when it starts (`-t` passes), and ignores the
/// virtual server: a note here, and the server is dropped.
#[test]
fn unknown_group() {
    let (errs, notes, code) = run("unknown_group.conf");
    assert_eq!(errs, "");
    assert_eq!(code, 0);
    assert!(
        notes.contains(
            "unknown_group.conf:4:1: note: Virtual server group WBE specified but not configured - ignoring virtual server [WBE]:0\n"
        ),
        "{notes}"
    );
}

#[test]
fn url_without_path() {
    golden(
        "url_without_path.conf",
        "url_without_path.conf:7:13: error: HTTP/SSL_GET checker url has no path - ignoring\n\
         url_without_path.conf:6:9: error: HTTP/SSL_GET checker has no urls specified - ignoring\n",
    );
}

#[test]
fn bad_digest() {
    golden(
        "bad_digest.conf",
        "bad_digest.conf:9:24: error: digest '9b3a0c85a887a256d6939da88aabd8c' character length should be 32 rather than 31\n\
         bad_digest.conf:13:24: error: Unable to interpret hex digit in '9b3a0c85a887a256d6939da88aabd8cz' at offset 30/31\n",
    );
}

#[test]
fn status_code_out_of_range() {
    golden(
        "status_code_range.conf",
        "status_code_range.conf:9:33: error: Invalid HTTP_GET status code '600'\n\
         status_code_range.conf:9:37: error: Invalid HTTP_GET status code '99'\n\
         status_code_range.conf:9:40: error: Invalid HTTP_GET status code '300-200'\n",
    );
}

#[test]
fn misspelled_checker_keyword() {
    golden(
        "misspelled_checker_keyword.conf",
        "misspelled_checker_keyword.conf:7:13: error: Unknown keyword 'conect_timeout' - did you mean 'connect_timeout'?\n",
    );
}

#[test]
fn weight_out_of_range() {
    golden(
        "weight_out_of_range.conf",
        "weight_out_of_range.conf:6:16: error: number '2147483648' outside range [0, 2147483647]\n\
         weight_out_of_range.conf:6:16: error: Real server weight 2147483648 is outside range 0-2147483647\n\
         weight_out_of_range.conf:9:16: error: negative number '-1'\n\
         weight_out_of_range.conf:9:16: error: Real server weight -1 is outside range 0-2147483647\n",
    );
}

#[test]
fn fwmark_with_protocol() {
    golden(
        "fwmark_protocol.conf",
        "fwmark_protocol.conf:1:1: warning: Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored\n",
    );
}

#[test]
fn sh_flags_without_sh() {
    golden(
        "sh_port_without_sh.conf",
        "sh_port_without_sh.conf:5:5: error: sh-port only applies to sh scheduler - ignoring\n\
         sh_port_without_sh.conf:10:5: error: sh-fallback only applies to sh scheduler - ignoring\n",
    );
}

#[test]
fn default_warnings() {
    golden(
        "defaults_warnings.conf",
        "defaults_warnings.conf:1:1: warning: Virtual server [192.0.2.10]:none:80: no protocol set - defaulting to UDP\n\
         defaults_warnings.conf:1:1: warning: Virtual server [192.0.2.10]:udp:80: no scheduler set, setting default 'wlc'\n\
         defaults_warnings.conf:1:1: warning: Virtual server [192.0.2.10]:udp:80: no forwarding method set, setting default NAT\n\
         defaults_warnings.conf:5:1: warning: Virtual server [192.0.2.11]:tcp:0: one packet scheduling requires UDP - resetting\n\
         defaults_warnings.conf:5:1: warning: Virtual server [192.0.2.11]:tcp:0: zero port only valid for persistent services - setting\n\
         defaults_warnings.conf:13:1: error: Virtual server [192.0.2.12]:tcp:80 has no real servers - ignoring\n",
    );
}

#[test]
fn quorum_hysteresis_duplicates() {
    golden(
        "quorum_and_duplicates.conf",
        "quorum_and_duplicates.conf:10:5: warning: VS [192.0.2.10]:tcp:80: real server [192.0.2.21]:tcp:80 is duplicated - removing second rs\n\
         quorum_and_duplicates.conf:1:1: warning: Warning - quorum 10 for [192.0.2.10]:tcp:80 exceeds total weight of real servers 5, reducing quorum to 5\n\
         quorum_and_duplicates.conf:1:1: warning: Virtual server [192.0.2.10]:tcp:80: hysteresis 20 >= quorum 5; setting hysteresis to 4\n",
    );
}

#[test]
fn dr_and_fwmark_ports() {
    golden(
        "dr_ports.conf",
        "dr_ports.conf:6:5: warning: WARNING - virtual server [192.0.2.10]:tcp:80 and real server [192.0.2.21]:tcp:8080 ports don't match - resetting\n\
         dr_ports.conf:5:5: warning: WARNING - virtual server [192.0.2.10]:tcp:80 and sorry server ports don't match - resetting\n\
         dr_ports.conf:11:1: warning: Virtual server FWM 7: cannot use ha_suspend with fwmarks - clearing ha_suspend\n\
         dr_ports.conf:15:5: warning: WARNING - fwmark virtual server FWM 7, real server [192.0.2.21]:none:80 has port specified - clearing\n",
    );
}

#[test]
fn checker_errors() {
    golden(
        "checker_errors.conf",
        "checker_errors.conf:6:9: error: No script path has been specified for MISC_CHECKER - skipping\n\
         checker_errors.conf:10:18: error: Unknown DNS check type BOGUS - ignoring\n\
         checker_errors.conf:11:18: error: DNS_CHECK name 'example..com' has empty label - ignoring\n\
         checker_errors.conf:14:13: error: Invalid hex string for UDP_CHECK payload\n\
         checker_errors.conf:13:9: warning: UDP_CHECK min_reply length 300 > max_reply_length 100 - will always fail\n\
         checker_errors.conf:18:9: error: Checker link local address fe80::1 requires a bind_if\n\
         checker_errors.conf:23:20: error: bindto address 2001:db8::1 does not match address family of connect_ip - skipping\n\
         checker_errors.conf:24:24: error: number '0' outside range [0.000001, 18446744073709.551614]\n\
         checker_errors.conf:24:24: error: delay_loop '0' is invalid - ignoring\n\
         checker_errors.conf:25:19: error: invalid number 'x'\n\
         checker_errors.conf:25:19: error: Invalid retry connection value 'x'\n\
         checker_errors.conf:28:27: error: Invalid http_protocol version 2.0\n\
         checker_errors.conf:29:24: error: Invalid enable_sni parameter maybe\n\
         checker_errors.conf:27:9: error: HTTP/SSL_GET checker has no urls specified - ignoring\n",
    );
}

#[test]
fn virtual_and_real_server_values() {
    golden(
        "vs_values.conf",
        "vs_values.conf:4:5: warning: SSL cafile already specified - replacing\n\
         vs_values.conf:9:14: error: Unknown protocol FOO - ignoring\n\
         vs_values.conf:11:25: error: number '0' outside range [1, 2678400]\n\
         vs_values.conf:11:25: error: persistence_timeout invalid\n\
         vs_values.conf:12:12: error: number '0' outside range [1, 4294967295]\n\
         vs_values.conf:12:12: error: Quorum 0 must be in [1, 4294967295]. Setting to 1.\n\
         vs_values.conf:13:11: error: number '0' outside range [1, 4294967295]\n\
         vs_values.conf:13:11: error: retry value invalid - 0\n\
         vs_values.conf:14:12: error: number '0' outside range [1, 2147483647]\n\
         vs_values.conf:14:12: error: Virtual server weight 0 is outside range 1-2147483647\n\
         vs_values.conf:15:16: error: invalid number 'x'\n\
         vs_values.conf:15:16: error: virtual server delay loop 'x' invalid - ignoring\n\
         vs_values.conf:16:5: error: Ignoring sorry_server inhibit used before or without sorry_server\n\
         vs_values.conf:17:15: error: Virtual server specified family inet6 conflicts with server family\n\
         vs_values.conf:18:17: error: Invalid real server ip address/port 192.0.2.300/80 - skipping\n\
         vs_values.conf:20:5: error: Address family of virtual server and real server 2001:db8::1 don't match - skipping real server.\n\
         vs_values.conf:23:20: error: negative number '-5'\n\
         vs_values.conf:23:20: error: Invalid real_server uthreshold '-5' - ignoring\n\
         vs_values.conf:24:28: error: Invalid inhibit_on_failure parameter maybe\n\
         vs_values.conf:26:9: error: ((null)) notify_up script already specified - ignoring /bin/false\n\
         vs_values.conf:29:16: error: Invalid virtual server IP address/port 192.0.2.300/80 - skipping\n\
         vs_values.conf:31:16: error: negative number '-1'\n\
         vs_values.conf:31:16: error: virtual server fwmark '-1' must be in [0, 4294967295] - ignoring\n",
    );
}

/// T3 keywords are accepted; those not implemented are reported once each as a note (which
/// does not fail `-t`), and those the IPVS engine applies are not.
#[test]
fn t3_keywords_the_engine_applies_are_not_notes() {
    // quorum and hysteresis are T3 keywords the IPVS engine applies: no "not implemented".
    let (_errs, notes, _) = run("quorum_and_duplicates.conf");
    assert!(!notes.contains("'quorum' is accepted"), "{notes}");
    assert!(!notes.contains("'hysteresis' is accepted"), "{notes}");
}

/// FILE_CHECK and BFD_CHECK refer to a `track_file` and a `bfd_instance` that must exist
/// (reported after the parse messages: we check once everything is read).
#[test]
fn file_and_bfd_references() {
    golden(
        "file_bfd_checks.conf",
        "file_bfd_checks.conf:17:22: error: unknown track file weight option sideways - ignoring\n\
         file_bfd_checks.conf:16:9: error: FILE_CHECK has no track_file specified - ignoring\n\
         file_bfd_checks.conf:22:9: error: ([192.0.2.21]:tcp:80) No name has been specified for BFD_CHECKER - skipping\n\
         file_bfd_checks.conf:13:9: error: track_file NOPE not found\n\
         file_bfd_checks.conf:13:9: error: FILE_CHECK has no track_file specified - ignoring\n\
         file_bfd_checks.conf:19:9: error: ([192.0.2.21]:tcp:80) BFD_CHECK - BFD B2 not configured\n",
    );
}
