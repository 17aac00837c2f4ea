//! HTTP_GET (sans-IO): the request text, the response reader and keepalived's url and retry
//! sequencing (`check/check_http.c`, `lib/html.c`). Reference §5 (HTTP_GET row) and §2.14.
//!
//! The daemon owns the socket and the timers: for the url [`HttpMachine::current_url`] it
//! connects to the checker's target, sends [`HttpMachine::request`], feeds every byte read
//! to a [`Response`] until EOF (or a timeout, or an error), and hands the outcome to
//! [`HttpMachine::on_fetch`], which returns the result for the core (if any), the delay
//! before the next fetch and keepalived's log lines.
//!
//! What keepalived 2.2.7 does, reproduced here:
//! * The request is `GET <path> HTTP/1.<0|1>\r\nUser-Agent: KeepAliveClient\r\n`
//!   `[Connection: close\r\n]Host: <host>\r\n\r\n`, built in a 2048-byte buffer (so cut at
//!   2047 bytes). The host is the url's resolved virtualhost, else the target `IP:port`
//!   (`[IPv6]:port`); the port is always written.
//! * The response is read into a 4 KiB buffer until the end of the headers (the first
//!   `\r\n\r\n`) is found; headers that do not fit in 4095 bytes make the read end with no
//!   response ("no data"). The status code is the `atoi` of the word after the first space.
//!   The digest is the MD5 of the body, capped at `Content-Length:` when the headers hold
//!   it: keepalived looks for that exact spelling (`strstr`, case-sensitive) and so do we,
//!   so that a digest computed by `genhash` matches. No chunked decoding.
//! * A url fails on a connect error or timeout, a write or read timeout, no data, a status
//!   code outside its `status_code` set, or a digest mismatch. While the checker is up (or
//!   has not run), a failing url is retried `retry` times, `delay_before_retry` apart; then
//!   the checker goes down and the failing url is remembered and re-fetched every
//!   max(`delay_before_retry`, `delay_loop`). When it succeeds again, the cycle restarts
//!   at the first url; all urls succeeding in a row brings the checker up. Successive urls
//!   are fetched `delay_loop` apart, back to back with `fast_recovery` until the checker has
//!   run or while it is down with no failed url remembered.
//! * The retry counter starts exhausted, so the first failure at startup takes the checker
//!   down at once.
//!
//! Deliberate differences:
//! * `regex` urls: there is no PCRE2 here. [`HttpMachine::unsupported_regex`] tells the
//!   daemon to report and ignore such a checker; if it is run anyway the regex is not
//!   evaluated (neither a match nor a failure is made up).
//! * With `fast_recovery`, keepalived re-fetches a failing url of a down checker with no
//!   delay at all when no failed url is remembered (after the remembered one recovered and
//!   the cycle restarted), which is a busy loop against a server that refuses connections;
//!   that case waits `delay_before_retry` here.
//! * keepalived's `FMT_CHK` is the real server's `[IP]:proto:port`; we name the checker's
//!   target (`connect_ip`/`connect_port` when set), as TCP_CHECK does in this crate, which
//!   is the same unless those are set.
//! * keepalived's one-off "http_check for RS … content_length (…) does not match received
//!   bytes (…)" line needs the VS and RS names this engine does not have: the daemon can
//!   build it from [`Response::content_length`] and [`Response::body_len`].

use crate::config::model::lvs::{format_trio, Checker, HttpCheck, HttpProtocol, Protocol, Url};
use crate::config::model::lvs::{HTTP_STATUS_CODE_MAX, HTTP_STATUS_CODE_MIN};
use crate::wire::md5::Md5;
use std::net::SocketAddr;

/// keepalived's `GET_BUFFER_LENGTH`: the request is formatted by `snprintf` into it.
pub const GET_BUFFER_LENGTH: usize = 2048;
/// keepalived's `MAX_BUFFER_LENGTH`: its read buffer; the headers must end within its
/// first `MAX_BUFFER_LENGTH - 1` bytes.
pub const MAX_BUFFER_LENGTH: usize = 4096;
/// The most header bytes a [`Response`] keeps (keepalived's buffer less its NUL).
pub const HEADER_LIMIT: usize = MAX_BUFFER_LENGTH - 1;

/// keepalived's `FMT_CHK` for the checker: its target as `[ADDR]:tcp:PORT`.
pub fn target_name(cfg: &Checker) -> String {
    match &cfg.conn {
        Some(c) => format_trio(&c.dst_addr, Some(Protocol::Tcp), c.dst_port),
        None => String::from("[?]:tcp:0"),
    }
}

/// How one fetch of the current url ended.
#[derive(Clone, Debug)]
pub enum Fetch {
    /// The connection was refused or failed (`SO_ERROR`): "Connection failed" (what
    /// keepalived 2.2.7 logs for a refused connection, seen in a QEMU guest).
    ConnectFailed,
    /// The connection did not complete within `connect_timeout`: "Timeout connecting".
    ConnectTimeout,
    /// The request could not be written within the timeout: "Timeout WEB write".
    WriteTimeout,
    /// Nothing was received within the timeout: "Timeout WEB read".
    ReadTimeout,
    /// EOF reached (or the peer closed) with this response:
    Done(Response),
    /// `connect()` failed at once (e.g. network unreachable):
    /// "HTTP_CHECK - network unreachable".
    Unreachable,
    /// Sending the request failed: "Cannot send get request to".
    SendFailed,
    /// The read timed out after part of the response had arrived: "Timeout HTTP read".
    ReadTimeoutPartial,
    /// A read failed (other than EAGAIN/EINTR): "Read error with".
    ReadError,
    /// SSL_GET: the TLS handshake failed (an alert, a protocol error, the peer closing or
    /// resetting during it): "SSL handshake/communication error connecting to". A
    /// handshake that does not end within the timeout is [`Fetch::ConnectTimeout`], as in
    /// keepalived, whose handshake waits are its connect's.
    TlsHandshake,
    /// SSL_GET: nothing more came within the timeout after the request: "Timeout SSL read"
    /// (keepalived's SSL reader has no partial-response variant).
    TlsReadTimeout,
    /// SSL_GET: the TLS session failed while reading the response: "SSL read error from".
    TlsReadError,
}

/// Incremental response reader, fed as bytes arrive. Never panics; keeps at most
/// [`HEADER_LIMIT`] bytes of headers and a running MD5 of the body.
#[derive(Clone)]
pub struct Response {
    /// Bytes before the end of the headers is found (then emptied).
    head: Vec<u8>,
    /// Where the search for `\r\n\r\n` resumes in `head`.
    scan: usize,
    /// The headers ended; `status`, `content_length` are set.
    complete: bool,
    /// The headers did not end within [`HEADER_LIMIT`] bytes: keepalived's read buffer is
    /// full, its next read returns 0 and the response counts as no data.
    overflow: bool,
    status: i32,
    /// `Content-Length:` as keepalived reads it (`None`: absent or negative).
    content_length: Option<u64>,
    md5: Md5,
    /// Body bytes received.
    body_len: u64,
    /// Body bytes hashed (`body_len` capped at `content_length`).
    hashed: u64,
    received: usize,
}

impl Default for Response {
    fn default() -> Self {
        Response::new()
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("complete", &self.complete)
            .field("overflow", &self.overflow)
            .field("status", &self.status())
            .field("content_length", &self.content_length)
            .field("body_len", &self.body_len)
            .field("received", &self.received)
            .finish()
    }
}

impl Response {
    pub fn new() -> Response {
        Response {
            head: Vec::new(),
            scan: 0,
            complete: false,
            overflow: false,
            status: 0,
            content_length: None,
            md5: Md5::new(),
            body_len: 0,
            hashed: 0,
            received: 0,
        }
    }

    /// Takes the next bytes of the response.
    pub fn feed(&mut self, data: &[u8]) {
        self.received = self.received.saturating_add(data.len());
        if self.complete {
            self.body(data);
            return;
        }
        if self.overflow {
            return;
        }
        if self.head.capacity() == 0 {
            // keepalived's buffer, allocated once: the headers never need more.
            self.head.reserve_exact(HEADER_LIMIT);
        }
        let room = HEADER_LIMIT - self.head.len();
        let (take, rest) = data.split_at(data.len().min(room));
        self.head.extend_from_slice(take);
        let from = self.scan;
        match find_crlfcrlf(&self.head[from..]) {
            Some(i) => {
                let end = from + i + 4;
                let head = std::mem::take(&mut self.head);
                self.complete = true;
                self.status = status_code(&head[..end]);
                self.content_length = content_length(&head[..end]);
                self.body(&head[end..]);
                // Bytes beyond the header limit are body too: keepalived would have read
                // them in its next read.
                self.body(rest);
            }
            None => {
                self.scan = self.head.len().saturating_sub(3);
                if self.head.len() >= HEADER_LIMIT {
                    self.overflow = true;
                    self.head = Vec::new();
                }
            }
        }
    }

    fn body(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let len = data.len() as u64;
        let want = match self.content_length {
            Some(cl) => cl.saturating_sub(self.hashed).min(len),
            None => len,
        };
        // `want <= data.len()`, so the conversion is exact.
        self.md5.update(&data[..want as usize]);
        self.hashed += want;
        self.body_len = self.body_len.saturating_add(len);
    }

    /// The status code, once the headers are complete (`Some(0)` when keepalived's `atoi`
    /// finds no number, or one outside `u16`).
    pub fn status(&self) -> Option<u16> {
        self.complete
            .then(|| u16::try_from(self.status).unwrap_or(0))
    }

    /// The end of the headers was received.
    pub fn headers_complete(&self) -> bool {
        self.complete
    }

    /// The headers overflowed keepalived's buffer: the response counts as no data, and
    /// the daemon may end the fetch now (keepalived's next read returns 0, i.e. EOF).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// `Content-Length:` as keepalived reads it, if the headers hold it.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Body bytes received (not capped).
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// MD5 of the body (capped at `Content-Length`); of nothing before the headers end.
    pub fn body_md5(&self) -> [u8; 16] {
        self.md5.clone().finalize()
    }

    /// Bytes fed so far.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Bytes of memory the reader holds for the headers (at most about [`HEADER_LIMIT`],
    /// whatever it is fed; none once the headers are complete).
    pub fn buffered(&self) -> usize {
        self.head.capacity()
    }
}

/// keepalived's `extract_html`: the first `\r\n\r\n`.
fn find_crlfcrlf(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The bytes before the first NUL (keepalived handles the buffer as a C string).
fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// C's `atoi` (glibc: `(int) strtol(s, NULL, 10)`): leading white space, a sign, digits;
/// `strtol` saturates at the `long` range, the cast keeps the low 32 bits.
fn atoi(b: &[u8]) -> i32 {
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut v: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        let d = i64::from(b[i] - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
        i += 1;
    }
    v as i32
}

/// keepalived's `extract_status_code`: the word between the first and the second space.
fn status_code(head: &[u8]) -> i32 {
    let Some(sp) = head.iter().position(|&c| c == b' ') else {
        return 0;
    };
    let rest = &head[sp + 1..];
    let word = match rest.iter().position(|&c| c == b' ') {
        Some(e) => &rest[..e],
        None => rest,
    };
    atoi(c_str(word))
}

/// keepalived's `extract_content_length`: `atoi` after the first `Content-Length:`
/// (exact case, as `strstr` finds it); a negative value is a huge `size_t`, i.e. no cap.
fn content_length(head: &[u8]) -> Option<u64> {
    const TAG: &[u8] = b"Content-Length:";
    let s = c_str(head);
    let at = s.windows(TAG.len()).position(|w| w == TAG)?;
    let v = atoi(&s[at + TAG.len()..]);
    u64::try_from(v).ok()
}

/// What a step asks of the daemon and the core: the probing checkers' common step. Its
/// `result` is `Some(true)` at the end of every fully successful cycle (the core ignores
/// it when nothing changes) and `Some(false)` where keepalived marks the checker down;
/// `None` while retrying or between urls.
pub use super::probe::Step;

/// keepalived's `register_checker_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    /// The url succeeded: move on.
    New,
    /// The url failed while the checker is up (or has not run): count a retry.
    Retry,
    /// The url failed on a down checker: no retry, fetch it again.
    Failed,
}

/// The url sequencing and retry state of one HTTP_GET checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpMachine {
    /// keepalived's `url_it`: the url to fetch next.
    url_it: usize,
    /// keepalived's `failed_url`: the url that took the checker down, while remembered.
    failed_url: Option<usize>,
    /// keepalived's `retry_it`; `None` stands for `retry` (exhausted), as at startup,
    /// since the configured `retry` is only known in [`HttpMachine::on_fetch`].
    retry_it: Option<u64>,
    /// keepalived's `has_run` as far as the core cannot tell: keepalived sets it on the
    /// first failure even when that produces no result (an alpha checker down already).
    ran: bool,
}

impl HttpMachine {
    /// A checker at startup: url 0, retry counter exhausted.
    pub fn new(_check: &HttpCheck) -> HttpMachine {
        HttpMachine {
            url_it: 0,
            failed_url: None,
            retry_it: None,
            ran: false,
        }
    }

    /// A url of the checker has a `regex`, which this build cannot evaluate: the daemon
    /// should report the checker and ignore it.
    pub fn unsupported_regex(check: &HttpCheck) -> bool {
        check.urls.iter().any(|u| u.regex.is_some())
    }

    /// The index in `check.urls` of the url to fetch next.
    pub fn current_url(&self) -> usize {
        self.url_it
    }

    /// The url remembered as failed (keepalived's "Failed URL" of the dump).
    pub fn failed_url(&self) -> Option<usize> {
        self.failed_url
    }

    /// The bytes to send for `check.urls[url]` to `dst`.
    pub fn request(check: &HttpCheck, url: usize, dst: SocketAddr) -> Vec<u8> {
        let (path, vhost) = match check.urls.get(url) {
            Some(u) => (u.path.as_str(), u.virtualhost.as_deref()),
            None => ("/", None),
        };
        let minor = match check.http_protocol {
            HttpProtocol::V1_1 => 1,
            HttpProtocol::V1_0 | HttpProtocol::V1_0C => 0,
        };
        let close = match check.http_protocol {
            HttpProtocol::V1_0 => "",
            HttpProtocol::V1_0C | HttpProtocol::V1_1 => "Connection: close\r\n",
        };
        let host = match (vhost, dst) {
            (Some(v), _) => v.to_string(),
            (None, SocketAddr::V4(a)) => format!("{}:{}", a.ip(), a.port()),
            (None, SocketAddr::V6(a)) => format!("[{}]:{}", a.ip(), a.port()),
        };
        let mut out = format!(
            "GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n"
        )
        .into_bytes();
        out.truncate(GET_BUFFER_LENGTH - 1);
        out
    }

    /// One fetch of the current url ended. `is_up`/`has_run`: the checker's current state
    /// in the core. `global_log_all_failures`: `checker_log_all_failures` of global_defs.
    pub fn on_fetch(
        &mut self,
        cfg: &Checker,
        check: &HttpCheck,
        fetch: Fetch,
        is_up: bool,
        has_run: bool,
        global_log_all_failures: bool,
    ) -> Step {
        let n = check.urls.len();
        if self.url_it >= n {
            self.url_it = 0;
        }
        if self.failed_url.is_some_and(|f| f >= n) {
            self.failed_url = None;
        }
        let chk = target_name(cfg);
        let retry = u64::from(cfg.retry);
        let mut has_run = has_run || self.ran;
        let mut up = is_up;
        let mut step = Step {
            result: None,
            next_in_us: 0,
            log: Vec::new(),
        };

        // http_handle_response / timeout_epilog.
        let method = match check.urls.get(self.url_it) {
            // keepalived: no url, the server is enabled without checking.
            None => Method::New,
            Some(url) => match evaluate(url, &fetch) {
                Ok(msg) => {
                    if !up {
                        // url(%s) is the url's path.
                        step.log
                            .push(format!("{msg} success to {chk} url({})", url.path));
                    }
                    Method::New
                }
                Err(msg) => {
                    if up || !has_run {
                        if global_log_all_failures || cfg.log_all_failures {
                            step.log.push(format!("{msg} server {chk}."));
                        }
                        has_run = true;
                        self.ran = true;
                        Method::Retry
                    } else {
                        Method::Failed
                    }
                }
            },
        };

        // epilog.
        let mut next = Some(self.url_it);
        match method {
            Method::New => {
                next = (self.url_it + 1 < n).then_some(self.url_it + 1);
                self.retry_it = Some(0);
            }
            Method::Retry => self.retry_it = Some(self.retry_it.unwrap_or(retry) + 1),
            Method::Failed => {}
        }
        let retry_it = self.retry_it.unwrap_or(retry);
        if method == Method::New && next.is_none() && self.failed_url.is_none() {
            // Every url succeeded.
            if !up || !has_run {
                step.log
                    .push(format!("Remote Web server {chk} succeed on service."));
                up = true;
                has_run = true;
                self.ran = true;
            }
            step.result = Some(true);
            next = Some(0);
            self.retry_it = Some(0);
        } else if method == Method::Retry && retry_it > retry {
            if up || !has_run {
                if has_run && retry != 0 {
                    step.log.push(format!(
                        "HTTP_CHECK on service {chk} failed after {} retries.",
                        retry_it - 1
                    ));
                } else {
                    step.log
                        .push(format!("HTTP_CHECK on service {chk} failed."));
                }
                step.result = Some(false);
                up = false;
            }
            self.failed_url = next;
        } else if method == Method::New && self.failed_url.is_some() {
            // The failed url is up again: check every url from the first.
            self.failed_url = None;
            next = Some(0);
            self.retry_it = Some(0);
        }

        let delay = match method {
            Method::New => {
                if !has_run {
                    self.retry_it = None;
                }
                cfg.delay_loop_us
            }
            _ if self.failed_url.is_some() => cfg.delay_before_retry_us.max(cfg.delay_loop_us),
            _ => cfg.delay_before_retry_us,
        };
        let fast = check.fast_recovery
            && (!has_run || (!up && self.failed_url.is_none()))
            && method != Method::Failed;
        step.next_in_us = if fast { 0 } else { delay };
        self.url_it = next.unwrap_or(0);
        step
    }
}

/// keepalived's verdict on one fetch of `url`: the success message ("HTTP status code",
/// "MD5 digest") or the failure message handed to `timeout_epilog`.
fn evaluate(url: &Url, fetch: &Fetch) -> Result<&'static str, &'static str> {
    let resp = match fetch {
        Fetch::ConnectFailed => return Err("Connection failed"),
        Fetch::ConnectTimeout => return Err("Timeout connecting"),
        Fetch::Unreachable => return Err("HTTP_CHECK - network unreachable"),
        Fetch::WriteTimeout => return Err("Timeout WEB write"),
        Fetch::SendFailed => return Err("Cannot send get request to"),
        Fetch::ReadTimeout => return Err("Timeout WEB read"),
        Fetch::ReadTimeoutPartial => return Err("Timeout HTTP read"),
        Fetch::ReadError => return Err("Read error with"),
        Fetch::TlsHandshake => return Err("SSL handshake/communication error connecting to"),
        Fetch::TlsReadTimeout => return Err("Timeout SSL read"),
        Fetch::TlsReadError => return Err("SSL read error from"),
        Fetch::Done(r) => r,
    };
    if !resp.complete {
        // keepalived's message ends with a space, before its " server %s.".
        return Err("Read, no data received from ");
    }
    let code = resp.status;
    let ok = (i32::from(HTTP_STATUS_CODE_MIN)..=i32::from(HTTP_STATUS_CODE_MAX)).contains(&code)
        && url.status_codes.contains(code as u16);
    if !ok {
        return Err("HTTP status code error to");
    }
    match url.digest {
        Some(d) if d != resp.body_md5() => Err("MD5 digest error to"),
        Some(_) => Ok("MD5 digest"),
        None => Ok("HTTP status code"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::lvs::CheckerKind;
    use crate::lvs::engine::tests::lvs_cfg;
    use crate::wire::md5::md5;

    /// The first checker of `checker` (an HTTP_GET block's body) on real server
    /// `rs` (`IP PORT`) of a TCP virtual server (of the same family) with `delay_loop 10`.
    fn http(rs: &str, body: &str) -> (Checker, HttpCheck) {
        let vs = if rs.contains(':') {
            "2001:db8::1"
        } else {
            "10.0.0.1"
        };
        let text = format!(
            "virtual_server {vs} 80 {{\n delay_loop 10\n lb_algo rr\n lb_kind NAT\n\
             protocol TCP\n real_server {rs} {{\n  HTTP_GET {{\n{body}\n  }}\n }}\n}}\n"
        );
        let cfg = lvs_cfg(&text);
        let c = cfg.virtual_servers[0].real_servers[0].checkers[0].clone();
        let CheckerKind::Http(h) = c.kind.clone() else {
            panic!("not HTTP_GET: {:?}", c.kind);
        };
        (c, h)
    }

    fn dst(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn req(check: &HttpCheck, url: usize, to: &str) -> String {
        String::from_utf8(HttpMachine::request(check, url, dst(to))).unwrap()
    }

    #[test]
    fn request_versions() {
        let (_, mut h) = http("10.0.0.2 80", "url {\n path /index.html\n }");
        assert_eq!(h.http_protocol, HttpProtocol::V1_0);
        assert_eq!(
            req(&h, 0, "10.0.0.2:80"),
            "GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\n\
             Host: 10.0.0.2:80\r\n\r\n"
        );
        let (_, h10c) = http("10.0.0.2 80", "url {\n path /\n }\nhttp_protocol 1.0C");
        assert_eq!(h10c.http_protocol, HttpProtocol::V1_0C);
        assert_eq!(
            req(&h10c, 0, "10.0.0.2:8080"),
            "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n\
             Host: 10.0.0.2:8080\r\n\r\n"
        );
        h.http_protocol = HttpProtocol::V1_1;
        assert_eq!(
            req(&h, 0, "10.0.0.2:80"),
            "GET /index.html HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n\
             Host: 10.0.0.2:80\r\n\r\n"
        );
    }

    #[test]
    fn request_hosts() {
        let (_, h) = http(
            "10.0.0.2 80",
            "virtualhost www.example.com\nurl {\n path /a\n }\n\
             url {\n path /b\n virtualhost b.example.com\n }",
        );
        assert_eq!(
            req(&h, 0, "10.0.0.2:80"),
            "GET /a HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: www.example.com\r\n\r\n"
        );
        assert_eq!(
            req(&h, 1, "[2001:db8::2]:80"),
            "GET /b HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: b.example.com\r\n\r\n"
        );
        let (_, h6) = http("2001:db8::2 443", "url {\n path /\n }");
        assert_eq!(
            req(&h6, 0, "[2001:db8::2]:443"),
            "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [2001:db8::2]:443\r\n\r\n"
        );
        // A url that does not exist does not panic.
        assert!(req(&h6, 9, "10.0.0.2:80").starts_with("GET / HTTP/1.0\r\n"));
        // keepalived's 2048-byte buffer.
        let mut hl = h6.clone();
        hl.urls[0].path = format!("/{}", "x".repeat(3000));
        assert_eq!(HttpMachine::request(&hl, 0, dst("10.0.0.2:80")).len(), 2047);
    }

    fn resp(parts: &[&[u8]]) -> Response {
        let mut r = Response::new();
        for p in parts {
            r.feed(p);
        }
        r
    }

    #[test]
    fn response_status_line() {
        let r = resp(&[b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nhello"]);
        assert_eq!(r.status(), Some(200));
        assert_eq!(r.body_md5(), md5(b"hello"));
        assert_eq!(r.body_len(), 5);
        assert_eq!(r.received(), 35);
        assert_eq!(
            resp(&[b"HTTP/1.0 404 Not Found\r\n\r\n"]).status(),
            Some(404)
        );
        // No reason phrase: atoi stops at the CR.
        assert_eq!(
            resp(&[b"HTTP/1.1 503\r\nA: b c\r\n\r\n"]).status(),
            Some(503)
        );
        // Not a number.
        assert_eq!(resp(&[b"HTTP/1.1 OK\r\n\r\n"]).status(), Some(0));
        assert_eq!(resp(&[b"garbage\r\n\r\n"]).status(), Some(0));
        // Incomplete headers: no status.
        let r = resp(&[b"HTTP/1.1 200 OK\r\n"]);
        assert_eq!(r.status(), None);
        assert!(!r.headers_complete());
        assert_eq!(r.body_md5(), md5(b""));
        assert_eq!(Response::default().status(), None);
    }

    #[test]
    fn response_content_length_caps_digest() {
        let r = resp(&[b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"]);
        assert_eq!(r.content_length(), Some(3));
        assert_eq!(r.body_md5(), md5(b"abc"));
        assert_eq!(r.body_len(), 6);
        // Across feeds.
        let r = resp(&[
            b"HTTP/1.1 200 OK\r\nContent-Length:  4\r\n\r\nab",
            b"cd",
            b"ef",
        ]);
        assert_eq!(r.body_md5(), md5(b"abcd"));
        // keepalived's strstr is case-sensitive.
        let r = resp(&[b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabcdef"]);
        assert_eq!(r.content_length(), None);
        assert_eq!(r.body_md5(), md5(b"abcdef"));
        // Negative: no cap; not a number: 0.
        let r = resp(&[b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc"]);
        assert_eq!(r.body_md5(), md5(b"abc"));
        let r = resp(&[b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nabc"]);
        assert_eq!(r.content_length(), Some(0));
        assert_eq!(r.body_md5(), md5(b""));
        // Longer than the body.
        let r = resp(&[b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"]);
        assert_eq!(r.body_md5(), md5(b"abc"));
        // In the body, not a header.
        let r = resp(&[b"HTTP/1.1 200 OK\r\n\r\nContent-Length: 1\r\n"]);
        assert_eq!(r.content_length(), None);
    }

    #[test]
    fn response_every_split() {
        let msg: &[u8] =
            b"HTTP/1.1 302 Found\r\nContent-Length: 10\r\nX: y\r\n\r\n0123456789tail\r\n\r\n";
        let whole = resp(&[msg]);
        assert_eq!(whole.status(), Some(302));
        assert_eq!(whole.body_md5(), md5(b"0123456789"));
        for i in 0..=msg.len() {
            for j in i..=msg.len() {
                let r = resp(&[&msg[..i], &msg[i..j], &msg[j..]]);
                assert_eq!(r.status(), Some(302), "split {i} {j}");
                assert_eq!(r.body_md5(), whole.body_md5(), "split {i} {j}");
                assert_eq!(r.body_len(), whole.body_len());
                assert_eq!(r.received(), msg.len());
            }
        }
        // Byte by byte.
        let mut r = Response::new();
        for b in msg {
            r.feed(std::slice::from_ref(b));
        }
        assert_eq!(r.body_md5(), whole.body_md5());
    }

    #[test]
    fn response_garbage_and_overflow() {
        let mut r = Response::new();
        r.feed(&[0u8; 10_000]);
        assert!(r.overflowed());
        assert_eq!(r.status(), None);
        r.feed(b"\r\n\r\nbody");
        assert_eq!(r.status(), None);
        assert_eq!(r.received(), 10_008);
        // Headers ending exactly at the limit are accepted.
        let mut h = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        h.resize(HEADER_LIMIT - 4, b'a');
        h.extend_from_slice(b"\r\n\r\nxyz");
        let r = resp(&[&h]);
        assert_eq!(r.status(), Some(200));
        assert_eq!(r.body_md5(), md5(b"xyz"));
        let mut h2 = h.clone();
        h2.insert(20, b'a');
        assert!(resp(&[&h2]).overflowed());
        // Odd bytes.
        for junk in [
            &b"\r\n\r\n"[..],
            b" ",
            b"  \r\n\r\n",
            b"HTTP/1.1 99999999999999999999 x\r\n\r\n",
            b"HTTP/1.1 -200 x\r\n\r\n",
            b"\0\0 \0 200\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nab",
        ] {
            let r = resp(&[junk]);
            let _ = (r.status(), r.body_md5(), format!("{r:?}"));
        }
        assert_eq!(resp(&[b"HTTP/1.1 -200 x\r\n\r\n"]).status(), Some(0));
    }

    const ONE_URL: &str = "url {\n path /\n }\nretry 2\ndelay_before_retry 3";

    /// A successful response, with status `code`.
    fn ok(code: u16) -> Fetch {
        Fetch::Done(resp(
            &[format!("HTTP/1.1 {code} OK\r\n\r\nbody").as_bytes()],
        ))
    }

    /// Runs `fetch` through `m` with the core state `(up, has_run)`, which it updates from
    /// the result as the core does.
    fn run(
        m: &mut HttpMachine,
        c: &Checker,
        h: &HttpCheck,
        st: &mut (bool, bool),
        fetch: Fetch,
    ) -> Step {
        let s = m.on_fetch(c, h, fetch, st.0, st.1, false);
        if let Some(up) = s.result {
            *st = (up, true);
        }
        s
    }

    const S: u64 = 1_000_000;

    #[test]
    fn startup_first_failure_is_down_at_once() {
        let (c, h) = http("10.0.0.2 80", ONE_URL);
        assert_eq!(
            (c.retry, c.delay_loop_us, c.delay_before_retry_us),
            (2, 10 * S, 3 * S)
        );
        let mut m = HttpMachine::new(&h);
        let mut st = (true, false);
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectFailed);
        assert_eq!(s.result, Some(false));
        // keepalived marks has_run before the retry test, so it counts the retries.
        assert_eq!(
            s.log,
            vec!["HTTP_CHECK on service [10.0.0.2]:tcp:80 failed after 2 retries."]
        );
        assert_eq!(s.next_in_us, 10 * S);
        assert_eq!(m.failed_url(), Some(0));
        // Down: no retry, the failed url every max(delay_before_retry, delay_loop).
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectTimeout);
        assert_eq!((s.result, s.next_in_us, s.log.len()), (None, 10 * S, 0));
        // It succeeds: the cycle restarts, logged, the failed url is forgotten.
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(s.result, None);
        assert_eq!(
            s.log,
            vec!["HTTP status code success to [10.0.0.2]:tcp:80 url(/)"]
        );
        assert_eq!((s.next_in_us, m.failed_url()), (10 * S, None));
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(s.result, Some(true));
        assert_eq!(
            s.log,
            vec![
                "HTTP status code success to [10.0.0.2]:tcp:80 url(/)",
                "Remote Web server [10.0.0.2]:tcp:80 succeed on service."
            ]
        );
        assert_eq!(st, (true, true));
    }

    #[test]
    fn startup_retry_zero_and_success() {
        let (c, h) = http("10.0.0.2 80", "url {\n path /\n }\nretry 0");
        let mut m = HttpMachine::new(&h);
        let s = m.on_fetch(&c, &h, Fetch::WriteTimeout, true, false, true);
        assert_eq!(
            s.log,
            vec![
                "Timeout WEB write server [10.0.0.2]:tcp:80.",
                "HTTP_CHECK on service [10.0.0.2]:tcp:80 failed."
            ]
        );
        assert_eq!(s.result, Some(false));
        // First success at startup: up, logged even though the checker was up.
        let mut m = HttpMachine::new(&h);
        let s = m.on_fetch(&c, &h, ok(204), true, false, false);
        assert_eq!(s.result, Some(true));
        assert_eq!(
            s.log,
            vec!["Remote Web server [10.0.0.2]:tcp:80 succeed on service."]
        );
        assert_eq!(s.next_in_us, 10 * S);
        // Steady state: Some(true), nothing logged.
        let s = m.on_fetch(&c, &h, ok(200), true, true, false);
        assert_eq!(
            (s.result, s.log.len(), s.next_in_us),
            (Some(true), 0, 10 * S)
        );
    }

    #[test]
    fn up_checker_retries() {
        let (c, h) = http("10.0.0.2 80", ONE_URL);
        let mut m = HttpMachine::new(&h);
        let mut st = (true, false);
        assert_eq!(run(&mut m, &c, &h, &mut st, ok(200)).result, Some(true));
        // Two failures are retried, then a success: never down.
        for fetch in [Fetch::ReadTimeout, ok(500)] {
            let s = run(&mut m, &c, &h, &mut st, fetch);
            assert_eq!((s.result, s.next_in_us, s.log.len()), (None, 3 * S, 0));
        }
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!((s.result, s.next_in_us), (Some(true), 10 * S));
        assert!(s.log.is_empty());
        // Three failures: down after 2 retries.
        for _ in 0..2 {
            let s = m.on_fetch(&c, &h, ok(404), true, true, true);
            assert_eq!(s.result, None);
            assert_eq!(
                s.log,
                vec!["HTTP status code error to server [10.0.0.2]:tcp:80."]
            );
        }
        let s = run(&mut m, &c, &h, &mut st, Fetch::Done(Response::new()));
        assert_eq!(s.result, Some(false));
        assert_eq!(
            s.log,
            vec!["HTTP_CHECK on service [10.0.0.2]:tcp:80 failed after 2 retries."]
        );
        assert_eq!(s.next_in_us, 10 * S);
        // Down: failures are not logged even with log_all_failures.
        let s = m.on_fetch(&c, &h, Fetch::ConnectFailed, false, true, true);
        assert_eq!((s.result, s.log.len()), (None, 0));
    }

    #[test]
    fn failure_messages() {
        let (c, h) = http(
            "10.0.0.2 80",
            "url {\n path /\n digest 5d41402abc4b2a76b9719d911017c592\n }\nretry 20",
        );
        let good = Fetch::Done(resp(&[b"HTTP/1.0 200 OK\r\n\r\nhello"]));
        let mut m = HttpMachine::new(&h);
        let s = m.on_fetch(&c, &h, good.clone(), true, false, false);
        assert_eq!(s.result, Some(true));
        let cases = [
            (Fetch::ConnectFailed, "Connection failed server"),
            (Fetch::ConnectTimeout, "Timeout connecting server"),
            (
                Fetch::Unreachable,
                "HTTP_CHECK - network unreachable server",
            ),
            (Fetch::WriteTimeout, "Timeout WEB write server"),
            (Fetch::SendFailed, "Cannot send get request to server"),
            (Fetch::ReadTimeout, "Timeout WEB read server"),
            (Fetch::ReadTimeoutPartial, "Timeout HTTP read server"),
            (Fetch::ReadError, "Read error with server"),
            (
                Fetch::TlsHandshake,
                "SSL handshake/communication error connecting to server",
            ),
            (Fetch::TlsReadTimeout, "Timeout SSL read server"),
            (Fetch::TlsReadError, "SSL read error from server"),
            (
                Fetch::Done(Response::new()),
                "Read, no data received from  server",
            ),
            (ok(200), "MD5 digest error to server"),
        ];
        for (f, msg) in cases {
            let s = m.on_fetch(&c, &h, f, true, true, true);
            assert_eq!(s.log, vec![format!("{msg} [10.0.0.2]:tcp:80.")]);
        }
        // The right body: success (the digest of "hello").
        let s = m.on_fetch(&c, &h, good.clone(), true, true, false);
        assert_eq!((s.result, s.log.len()), (Some(true), 0));
        // Logged as a digest success while down.
        let s = m.on_fetch(&c, &h, good, false, true, false);
        assert_eq!(s.log[0], "MD5 digest success to [10.0.0.2]:tcp:80 url(/)");
    }

    #[test]
    fn multi_url_cycle() {
        let (c, h) = http(
            "10.0.0.2 80",
            "url {\n path /a\n }\nurl {\n path /b\n status_code 301\n }\n\
             url {\n path /c\n }\nretry 1\ndelay_before_retry 20",
        );
        let mut m = HttpMachine::new(&h);
        let mut st = (true, false);
        // Startup: urls delay_loop apart, one result at the end.
        for (i, code) in [(0, 200), (1, 301)] {
            assert_eq!(m.current_url(), i);
            let s = run(&mut m, &c, &h, &mut st, ok(code));
            assert_eq!((s.result, s.next_in_us, s.log.len()), (None, 10 * S, 0));
        }
        assert_eq!(m.current_url(), 2);
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(s.result, Some(true));
        assert_eq!(m.current_url(), 0);
        // Url /b fails: retried on /b, then down; the failed url every
        // max(delay_before_retry, delay_loop).
        run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(m.current_url(), 1);
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!((s.result, s.next_in_us, m.current_url()), (None, 20 * S, 1));
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(s.result, Some(false));
        assert_eq!(
            s.log,
            vec!["HTTP_CHECK on service [10.0.0.2]:tcp:80 failed after 1 retries."]
        );
        assert_eq!(
            (s.next_in_us, m.current_url(), m.failed_url()),
            (20 * S, 1, Some(1))
        );
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectFailed);
        assert_eq!((s.result, s.next_in_us, m.current_url()), (None, 20 * S, 1));
        // /b recovers: every url again from /a, then up.
        let s = run(&mut m, &c, &h, &mut st, ok(301));
        assert_eq!(
            s.log,
            vec!["HTTP status code success to [10.0.0.2]:tcp:80 url(/b)"]
        );
        assert_eq!((s.result, s.next_in_us, m.current_url()), (None, 10 * S, 0));
        run(&mut m, &c, &h, &mut st, ok(200));
        run(&mut m, &c, &h, &mut st, ok(301));
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(s.result, Some(true));
        assert_eq!(
            s.log,
            vec![
                "HTTP status code success to [10.0.0.2]:tcp:80 url(/c)",
                "Remote Web server [10.0.0.2]:tcp:80 succeed on service."
            ]
        );
        assert_eq!((m.current_url(), st), (0, (true, true)));
    }

    #[test]
    fn fast_recovery() {
        let (c, h) = http(
            "10.0.0.2 80",
            "url {\n path /a\n }\nurl {\n path /b\n }\nretry 0\nfast_recovery",
        );
        assert!(h.fast_recovery);
        let mut m = HttpMachine::new(&h);
        let mut st = (true, false);
        // Before the first result: back to back.
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!((s.result, s.next_in_us), (None, 0));
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!((s.result, s.next_in_us), (Some(true), 10 * S));
        // Up: delay_loop between urls.
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(s.next_in_us, 10 * S);
        // Down with a failed url: no fast path.
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectFailed);
        assert_eq!((s.result, s.next_in_us), (Some(false), 10 * S));
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectFailed);
        assert_eq!(s.next_in_us, 10 * S);
        // Recovering (failed url ok again): back to back.
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!((s.next_in_us, m.current_url()), (0, 0));
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!((s.result, s.next_in_us), (None, 0));
        // A failure now (no failed url remembered): keepalived would spin; we wait.
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectFailed);
        assert_eq!((s.result, s.next_in_us, m.current_url()), (None, 3 * S, 1));
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!((s.result, s.next_in_us), (Some(true), 10 * S));
    }

    #[test]
    fn alpha_checker() {
        let (c, h) = http("10.0.0.2 80", "url {\n path /\n }\nalpha\nretry 1");
        assert!(c.alpha);
        // Down at start: its first failure sets nothing in the core (keepalived marks
        // has_run before testing it), and remembers the failed url.
        let mut m = HttpMachine::new(&h);
        let mut st = (false, false);
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectFailed);
        assert_eq!((s.result, s.log.len(), s.next_in_us), (None, 0, 10 * S));
        assert_eq!(m.failed_url(), Some(0));
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectFailed);
        assert_eq!((s.result, s.next_in_us), (None, 10 * S));
        // A first success while down: logged, up.
        let mut m = HttpMachine::new(&h);
        let mut st = (false, false);
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(s.result, Some(true));
        assert_eq!(s.log.len(), 2);
    }

    /// keepalived 2.2.7's lines for a status-code url going down and recovering, as
    /// captured from it in a QEMU guest (retry 1): the startup failure says "after 1
    /// retries" with no retry run, and recovery takes two successes.
    #[test]
    fn keepalived_sequences() {
        let (c, h) = http("10.0.0.2 8083", "url {\n path /index.html\n }\nretry 1");
        let chk = "[10.0.0.2]:tcp:8083";
        // Startup failure: down at once.
        let mut m = HttpMachine::new(&h);
        let mut st = (true, false);
        let s = run(&mut m, &c, &h, &mut st, ok(404));
        assert_eq!(s.result, Some(false));
        assert_eq!(
            s.log,
            vec![format!(
                "HTTP_CHECK on service {chk} failed after 1 retries."
            )]
        );
        // Recovery: the first success logs the url line only, the second brings it up.
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(s.result, None);
        assert_eq!(
            s.log,
            vec![format!(
                "HTTP status code success to {chk} url(/index.html)"
            )]
        );
        let s = run(&mut m, &c, &h, &mut st, ok(200));
        assert_eq!(s.result, Some(true));
        assert_eq!(
            s.log,
            vec![
                format!("HTTP status code success to {chk} url(/index.html)"),
                format!("Remote Web server {chk} succeed on service."),
            ]
        );
        // Up, then a failure and its retry (no line without log_all_failures), down.
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectFailed);
        assert_eq!((s.result, s.log.len()), (None, 0));
        let s = run(&mut m, &c, &h, &mut st, Fetch::ConnectFailed);
        assert_eq!(s.result, Some(false));
        assert_eq!(
            s.log,
            vec![format!(
                "HTTP_CHECK on service {chk} failed after 1 retries."
            )]
        );
    }

    #[test]
    fn regex_is_unsupported() {
        let (_, h) = http("10.0.0.2 80", "url {\n path /\n }");
        assert!(!HttpMachine::unsupported_regex(&h));
        let (_, h) = http(
            "10.0.0.2 80",
            "url {\n path /\n }\nurl {\n path /x\n regex \"ok\"\n }",
        );
        assert!(HttpMachine::unsupported_regex(&h));
    }

    #[test]
    fn connect_ip_names_the_target() {
        let (c, h) = http(
            "10.0.0.2 80",
            "url {\n path /\n }\nconnect_ip 10.0.0.9\nconnect_port 8080",
        );
        assert_eq!(target_name(&c), "[10.0.0.9]:tcp:8080");
        let mut m = HttpMachine::new(&h);
        let s = m.on_fetch(&c, &h, ok(200), true, false, false);
        assert_eq!(
            s.log,
            vec!["Remote Web server [10.0.0.9]:tcp:8080 succeed on service."]
        );
    }
}
