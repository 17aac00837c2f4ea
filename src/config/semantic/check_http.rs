//! HTTP_GET and SSL_GET blocks with their `url { }` sub-blocks (keepalived's
//! `check/check_http.c`).

use super::check_api::{common_keywords, conn_ok, read_checker, CheckBuild};
use super::lvs::{kl_bool, kl_uint, RsBuild};
use super::{Ctx, Kw, Tier};
use crate::config::ast::Node;
use crate::config::model::lvs::*;

pub(super) fn http_get(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    read(ctx, node, b, false);
}

pub(super) fn ssl_get(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild) {
    read(ctx, node, b, true);
}

fn read(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild, tls: bool) {
    let kind = CheckerKind::Http(HttpCheck {
        tls,
        urls: Vec::new(),
        virtualhost: None,
        http_protocol: HttpProtocol::V1_0,
        enable_sni: false,
        sni_name: None,
        fast_recovery: false,
        tls_compliant: false,
    });
    read_checker(ctx, node, b, kind, &table(), end);
}

fn end(ctx: &mut Ctx<'_>, node: &Node, b: &mut RsBuild, cb: CheckBuild) {
    if let CheckerKind::Http(h) = &cb.c.kind {
        if h.urls.is_empty() {
            ctx.error(
                node.span(),
                "HTTP/SSL_GET checker has no urls specified - ignoring",
            );
            return;
        }
    }
    if let Some(co) = &cb.c.conn {
        if !conn_ok(ctx, co, node) {
            return;
        }
    }
    b.rs.checkers.push(cb.c);
}

/// Applies `f` to the HTTP part of the checker being read (this table is only used for
/// HTTP_GET and SSL_GET).
fn with_http(b: &mut CheckBuild, f: impl FnOnce(&mut HttpCheck)) {
    if let CheckerKind::Http(h) = &mut b.c.kind {
        f(h);
    }
}

fn table() -> Vec<Kw<CheckBuild>> {
    use Tier::*;
    let mut t = common_keywords(true);
    t.extend([
        Kw::accepted(
            "nb_get_retry",
            T3,
            |c: &mut Ctx<'_>, n: &Node, b: &mut CheckBuild| {
                c.warning(n.span(), "nb_get_retry is deprecated - please use 'retry'");
                if let Some(v) = kl_uint(c, n, 0, 0, u64::from(u32::MAX), |s| {
                    format!("Invalid nb_get_retry value '{s}'")
                }) {
                    b.c.timing.retry = Some(v as u32);
                }
            },
        ) as Kw<CheckBuild>,
        Kw::new("virtualhost", T2, |c, n, b| match n.args().first() {
            Some(w) => with_http(b, |h| h.virtualhost = Some(w.text.clone())),
            None => c.error(n.span(), "HTTP_GET virtualhost name missing"),
        }),
        Kw::accepted("http_protocol", T3, |c, n, b| {
            let Some(w) = n.args().first() else {
                c.error(n.span(), "Missing http_protocol version");
                return;
            };
            let p = match w.text.as_str() {
                "1.0" => HttpProtocol::V1_0,
                "1.1" => HttpProtocol::V1_1,
                "1.0C" | "1.0c" => HttpProtocol::V1_0C,
                other => {
                    c.error(w.span, format!("Invalid http_protocol version {other}"));
                    return;
                }
            };
            with_http(b, |h| h.http_protocol = p);
        }),
        Kw::accepted("enable_sni", T3, |c, n, b| {
            if let Some(v) = kl_bool(c, n, |s| format!("Invalid enable_sni parameter {s}")) {
                with_http(b, |h| h.enable_sni = v);
            }
        }),
        Kw::accepted("sni_name", T3, |_, n, b| {
            with_http(b, |h| {
                h.sni_name = n.args().first().map(|w| w.text.clone());
                h.enable_sni = true;
            });
        }),
        Kw::accepted("fast_recovery", T3, |c, n, b| {
            if let Some(v) = kl_bool(c, n, |s| format!("Invalid fast_recovery parameter {s}")) {
                with_http(b, |h| h.fast_recovery = v);
            }
        }),
        Kw::accepted("tls_compliant", T3, |c, n, b| {
            if let Some(v) = kl_bool(c, n, |s| format!("Invalid tls_compliant parameter {s}")) {
                with_http(b, |h| h.tls_compliant = v);
            }
        }),
        Kw::new("url", T1, url_handler),
    ]);
    t
}

/// A url being read, with the regex settings that are only checked at its end.
struct UrlBuild {
    url: Url,
    path: Option<String>,
    regex: Option<String>,
    options: Vec<String>,
    no_match: bool,
    min_offset: u64,
    max_offset: Option<u64>,
    stack: Option<(u64, u64)>,
}

fn url_handler(ctx: &mut Ctx<'_>, node: &Node, b: &mut CheckBuild) {
    if !super::lvs::need_block(ctx, node) {
        return;
    }
    let mut ub = UrlBuild {
        url: Url {
            path: String::new(),
            digest: None,
            status_codes: StatusCodes::empty(),
            virtualhost: None,
            configured_virtualhost: None,
            regex: None,
            tls_compliant: false,
            span: node.span(),
        },
        path: None,
        regex: None,
        options: Vec::new(),
        no_match: false,
        min_offset: 0,
        max_offset: None,
        stack: None,
    };
    ctx.dispatch(node.children(), &url_table(), &mut ub);
    // keepalived's url_check.
    let Some(path) = ub.path else {
        ctx.error(
            node.span(),
            "HTTP/SSL_GET checker url has no path - ignoring",
        );
        return;
    };
    let mut url = ub.url;
    url.path = path;
    if url.status_codes.is_empty() {
        url.status_codes = StatusCodes::default();
    }
    match ub.regex {
        Some(pattern) => {
            let (mut min, mut max) = (ub.min_offset, ub.max_offset);
            if let Some(m) = max {
                if min > m {
                    ctx.note(
                        node.span(),
                        format!("regex min offset {min} > regex_max_offset {m} - ignoring"),
                    );
                    min = 0;
                    max = None;
                }
            }
            url.regex = Some(RegexMatch {
                pattern,
                no_match: ub.no_match,
                options: ub.options,
                min_offset: min,
                max_offset: max,
                stack: ub.stack,
            });
        }
        None => {
            if !ub.options.is_empty()
                || ub.no_match
                || ub.min_offset != 0
                || ub.max_offset.is_some()
                || ub.stack.is_some()
            {
                ctx.note(node.span(), "regex parameters specified without regex");
            }
        }
    }
    with_http(b, |h| h.urls.push(url));
}

/// The PCRE2 option names keepalived knows for `regex_options`.
const REGEX_OPTIONS: &[&str] = &[
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

fn url_table() -> Vec<Kw<UrlBuild>> {
    use Tier::*;
    vec![
        Kw::new("path", T1, |c: &mut Ctx<'_>, n: &Node, u: &mut UrlBuild| {
            if let Some(w) = c.arg(n, 0, "path") {
                u.path = Some(w.text.clone());
            }
        }),
        Kw::new("digest", T2, digest_handler),
        Kw::new("status_code", T1, status_code_handler),
        Kw::new("virtualhost", T2, |c, n, u| match n.args().first() {
            Some(w) => u.url.configured_virtualhost = Some(w.text.clone()),
            None => c.error(n.span(), "Missing HTTP_GET virtualhost name"),
        }),
        Kw::accepted("regex", T3, |c, n, u| {
            if n.args().len() != 1 {
                c.note(n.span(), "regex missing or too many fields");
                return;
            }
            u.regex = Some(n.args()[0].text.clone());
        }),
        Kw::accepted("regex_no_match", T3, |_, _, u| u.no_match = true),
        Kw::accepted("regex_options", T3, |_, n, u| {
            // keepalived ignores names it does not know.
            for w in n.args() {
                if REGEX_OPTIONS.contains(&w.text.as_str()) {
                    u.options.push(w.text.clone());
                }
            }
        }),
        Kw::accepted("regex_min_offset", T3, |c, n, u| {
            if let Some(v) = regex_offset(c, n, "min") {
                u.min_offset = v;
            }
        }),
        Kw::accepted("regex_max_offset", T3, |c, n, u| {
            if let Some(v) = regex_offset(c, n, "max") {
                u.max_offset = Some(v);
            }
        }),
        Kw::accepted("regex_stack", T3, |c, n, u| {
            let a = n.args();
            if a.len() != 2 {
                c.note(n.span(), "regex_stack requires start and max values");
                return;
            }
            let (Ok(start), Ok(max)) = (a[0].text.parse::<u64>(), a[1].text.parse::<u64>()) else {
                c.note(n.span(), "regex_stack invalid start value");
                return;
            };
            if start > max {
                c.note(n.span(), "regex stack start cannot exceed max value");
                return;
            }
            u.stack = Some((start, max));
        }),
        Kw::accepted("tls_compliant", T3, |c, n, u| {
            if let Some(v) = kl_bool(c, n, |s| format!("Invalid tls_compliant parameter {s}")) {
                u.url.tls_compliant = v;
            }
        }),
    ]
}

/// keepalived only logs bad regex offsets (they do not fail `-t`).
fn regex_offset(ctx: &mut Ctx<'_>, node: &Node, which: &str) -> Option<u64> {
    if node.args().len() != 1 {
        ctx.note(
            node.span(),
            format!("Missing or too may options for regex_{which}_offset"),
        );
        return None;
    }
    let w = &node.args()[0];
    match w.text.parse::<u64>() {
        Ok(v) => Some(v),
        Err(_) => {
            ctx.note(
                w.span,
                format!("Invalid regex_{which}_offset {} specified", w.text),
            );
            None
        }
    }
}

fn digest_handler(ctx: &mut Ctx<'_>, node: &Node, u: &mut UrlBuild) {
    let Some(w) = ctx.arg(node, 0, "digest") else {
        return;
    };
    let d = w.text.as_str();
    if u.url.digest.is_some() {
        ctx.error(w.span, format!("Digest '{d}' is a duplicate"));
        return;
    }
    if d.len() != 32 {
        ctx.error(
            w.span,
            format!(
                "digest '{d}' character length should be 32 rather than {}",
                d.len()
            ),
        );
        return;
    }
    let mut out = [0u8; 16];
    // keepalived decodes from the end and reports the last bad pair it meets first.
    for i in (0..16).rev() {
        let pair = &d.as_bytes()[2 * i..2 * i + 2];
        match std::str::from_utf8(pair)
            .ok()
            .and_then(|p| u8::from_str_radix(p, 16).ok())
        {
            Some(v) if pair.iter().all(u8::is_ascii_hexdigit) => out[i] = v,
            _ => {
                ctx.error(
                    w.span,
                    format!(
                        "Unable to interpret hex digit in '{d}' at offset {}/{}",
                        2 * i,
                        2 * i + 1
                    ),
                );
                return;
            }
        }
    }
    u.url.digest = Some(out);
}

fn status_code_handler(ctx: &mut Ctx<'_>, node: &Node, u: &mut UrlBuild) {
    for w in node.args() {
        match parse_status_range(&w.text) {
            Some((lo, hi)) => u.url.status_codes.insert_range(lo, hi),
            None => ctx.error(w.span, format!("Invalid HTTP_GET status code '{}'", w.text)),
        }
    }
}

/// `N` or `N-M`, both within 100..=599 and N <= M.
fn parse_status_range(s: &str) -> Option<(u16, u16)> {
    let num = |t: &str| -> Option<u16> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse::<u16>().ok()
    };
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let v = num(s)?;
            (v, v)
        }
    };
    let ok = |v: u16| (HTTP_STATUS_CODE_MIN..=HTTP_STATUS_CODE_MAX).contains(&v);
    (ok(lo) && ok(hi) && lo <= hi).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::parse_status_range;

    #[test]
    fn status_ranges() {
        assert_eq!(parse_status_range("200"), Some((200, 200)));
        assert_eq!(parse_status_range("404-410"), Some((404, 410)));
        assert_eq!(parse_status_range("100-599"), Some((100, 599)));
        assert_eq!(parse_status_range("600"), None);
        assert_eq!(parse_status_range("99"), None);
        assert_eq!(parse_status_range("300-200"), None);
        assert_eq!(parse_status_range("abc"), None);
        assert_eq!(parse_status_range("2x0"), None);
        assert_eq!(parse_status_range("-200"), None);
    }
}
