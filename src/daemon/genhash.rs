//! `genhash` (`check/check_genhash.c`): fetch one URL with the HTTP_GET engine and print
//! the MD5 of the body, the value for a url's `digest`. Reference §5 ("genhash").
//!
//! Entered as `keepalived-rs -T|--genhash …` or through an argv[0] named `genhash`. The
//! request and the response reader (digest capped at `Content-Length:`) are HTTP_GET's
//! ([`HttpMachine::request`], [`Response`]); `-S` uses SSL_GET's client context. This is a
//! one-shot command, so the I/O is a plain blocking loop with socket timeouts.
//!
//! Output as keepalived 2.2.7 prints it (checked against it on loopback): the hash on
//! stdout, exit status 0, also when the fetch fails (the reason is printed on stdout
//! instead); usage errors go to stderr with the usage text, exit status 1. `-h` prints the
//! usage and exits 1 too. With `-v`, the headers are dumped in hex and ascii, the body in hex
//! read by read, then the MD5 and the response time.
//!
//! Differences: a response that ends before its headers do prints the MD5 of nothing.

use crate::check::http::{HttpMachine, Response};
use crate::config::ast::Span;
use crate::config::model::lvs::{ConnOpts, HttpCheck, HttpProtocol, StatusCodes, Url};
use crate::os::check_socket::{connect_error, tcp_connect, Connect};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::time::Duration;

const DEFAULT_TIMEOUT_S: u64 = 5;

/// Monotonic microseconds (the scheduler's clock; a one-shot command has no engine `now`).
fn now_us() -> u64 {
    scheduler::Clock::now(&scheduler::MonotonicClock).as_micros()
}

/// Whether `args` (argv) asks for genhash: `Some(i)` when the genhash options start at
/// `args[i]`.
pub fn wanted(args: &[String]) -> Option<usize> {
    let base = args
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a))
        .unwrap_or("");
    if base == "genhash" {
        return Some(1);
    }
    args.iter()
        .skip(1)
        .position(|a| a == "-T" || a == "--genhash")
        .map(|i| i + 2)
}

/// Runs genhash; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let Some(start) = wanted(args) else {
        return 1;
    };
    let argv0 = args.first().map(String::as_str).unwrap_or("genhash");
    let prog = if start == 1 {
        argv0.to_string()
    } else {
        if start > 2 {
            eprintln!("Warning -- `-T` not used as first option, previous options ignored");
        }
        format!("{argv0} --genhash")
    };
    let opts = match parse(&args[start..]) {
        Ok(Some(o)) => o,
        Ok(None) => {
            eprint!("{}", usage(&prog));
            return 1;
        }
        Err(msg) => {
            eprintln!("{msg}");
            eprint!("{}", usage(&prog));
            return 1;
        }
    };
    run(&opts);
    0
}

/// The usage text (keepalived's, with its program name).
pub fn usage(prog: &str) -> String {
    format!(
        "Usage: {prog} COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
"
    )
}

/// The options of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opts {
    pub server: IpAddr,
    pub port: u16,
    pub url: String,
    pub ssl: bool,
    pub sni: bool,
    pub vhost: Option<String>,
    pub protocol: HttpProtocol,
    pub timeout: Duration,
    pub fwmark: u32,
    pub verbose: bool,
}

/// (short, long, takes an argument)
const OPTIONS: &[(char, &str, bool)] = &[
    ('S', "use-ssl", false),
    ('I', "use-sni", false),
    ('s', "server", true),
    ('p', "port", true),
    ('u', "url", true),
    ('V', "use-virtualhost", true),
    ('v', "verbose", false),
    ('h', "help", false),
    ('m', "fwmark", true),
    ('P', "protocol", true),
    ('t', "timeout", true),
];

/// Parses the genhash options. `Ok(None)`: print the usage (help, or a mandatory option
/// missing). `Err`: the message to print before the usage.
pub fn parse(args: &[String]) -> Result<Option<Opts>, String> {
    let mut given: Vec<(char, Option<String>)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let exact = OPTIONS.iter().find(|o| o.1 == name);
            let prefixed: Vec<_> = OPTIONS
                .iter()
                .filter(|o| !name.is_empty() && o.1.starts_with(name))
                .collect();
            let Some(&(c, _, arg)) = exact.or(if prefixed.len() == 1 {
                Some(prefixed[0])
            } else {
                None
            }) else {
                return Err(format!("Unknown option {a}"));
            };
            let val = if arg {
                match inline {
                    Some(v) => Some(v),
                    None if i < args.len() => {
                        i += 1;
                        Some(args[i - 1].clone())
                    }
                    None => return Err(format!("Missing parameter for option --{name}")),
                }
            } else {
                None
            };
            given.push((c, val));
        } else if let Some(cluster) = a.strip_prefix('-').filter(|c| !c.is_empty()) {
            for (k, c) in cluster.char_indices() {
                let Some(&(c, _, arg)) = OPTIONS.iter().find(|o| o.0 == c) else {
                    return Err(format!("Unknown option -{c}"));
                };
                if !arg {
                    given.push((c, None));
                    continue;
                }
                let rest = &cluster[k + c.len_utf8()..];
                let val = if !rest.is_empty() {
                    rest.to_string()
                } else if i < args.len() {
                    i += 1;
                    args[i - 1].clone()
                } else {
                    return Err(format!("Missing parameter for option -{c}"));
                };
                given.push((c, Some(val)));
                break;
            }
        } else {
            return Err(format!("Unknown option {a}"));
        }
    }
    let (mut server, mut port, mut url) = (None, None, None);
    let mut o = Opts {
        server: IpAddr::from([0u8; 4]),
        port: 0,
        url: String::new(),
        ssl: false,
        sni: false,
        vhost: None,
        protocol: HttpProtocol::V1_0,
        timeout: Duration::from_secs(DEFAULT_TIMEOUT_S),
        fwmark: 0,
        verbose: false,
    };
    for (c, v) in given {
        let v = v.unwrap_or_default();
        match c {
            'h' => return Ok(None),
            'S' => o.ssl = true,
            'I' => o.sni = true,
            'v' => o.verbose = true,
            's' => match v.parse::<IpAddr>() {
                Ok(ip) => server = Some(ip),
                Err(_) => return Err(format!("server should be an IP, not {v}")),
            },
            'p' => match v.parse::<u16>() {
                Ok(p) => port = Some(p),
                Err(_) => return Err(format!("invalid port number '{v}'")),
            },
            'u' => url = Some(v),
            'V' => o.vhost = Some(v),
            'm' => match v.parse::<u32>() {
                Ok(m) => o.fwmark = m,
                Err(_) => return Err(format!("invalid fwmark '{v}'")),
            },
            'P' => {
                o.protocol = match v.as_str() {
                    "1.0" => HttpProtocol::V1_0,
                    "1.0c" | "1.0C" => HttpProtocol::V1_0C,
                    "1.1" => HttpProtocol::V1_1,
                    _ => return Err(format!("invalid HTTP protocol version '{v}'")),
                }
            }
            't' => match v.parse::<u64>() {
                Ok(t) if t > 0 => o.timeout = Duration::from_secs(t),
                _ => return Err(format!("invalid timeout '{v}'")),
            },
            _ => {}
        }
    }
    match (server, port, url) {
        (Some(s), Some(p), Some(u)) => {
            o.server = s;
            o.port = p;
            o.url = u;
            Ok(Some(o))
        }
        _ => Ok(None),
    }
}

/// The HTTP_GET checker equivalent to `o`.
fn http_check(o: &Opts) -> HttpCheck {
    HttpCheck {
        tls: o.ssl,
        urls: vec![Url {
            path: o.url.clone(),
            digest: None,
            status_codes: StatusCodes::default(),
            virtualhost: o.vhost.clone(),
            configured_virtualhost: o.vhost.clone(),
            regex: None,
            tls_compliant: false,
            span: Span::default(),
        }],
        virtualhost: o.vhost.clone(),
        http_protocol: o.protocol,
        enable_sni: o.sni,
        sni_name: None,
        fast_recovery: false,
        tls_compliant: false,
    }
}

/// keepalived's `dump_buffer`: 16 bytes a line, decimal offsets from 0.
pub fn hex_dump(data: &[u8]) -> String {
    let mut s = String::new();
    for (n, line) in data.chunks(16).enumerate() {
        s.push_str(&format!("{:04}  ", n * 16));
        for j in 0..16 {
            match line.get(j) {
                Some(b) => s.push_str(&format!("{b:02x} ")),
                None => s.push_str("   "),
            }
            if j == 7 {
                s.push_str("- ");
            }
        }
        s.push_str("  ");
        for j in 0..16 {
            s.push(match line.get(j) {
                Some(&b) if (0x20..0x7f).contains(&b) => b as char,
                Some(_) => '.',
                None => ' ',
            });
        }
        s.push('\n');
    }
    s
}

const BANNER_HEADER: &str =
    "-----------------------[    HTTP Header Buffer    ]-----------------------";
const BANNER_ASCII: &str =
    "-----------------------[ HTTP Header Ascii Buffer ]-----------------------";
const BANNER_HTML: &str =
    "-----------------------[        HTML Buffer        ]-----------------------";
const BANNER_HASH: &str =
    "-----------------------[    HTML hash resulting    ]-----------------------";
const BANNER_FINAL: &str =
    "-----------------------[ HTML hash final resulting ]-----------------------";

/// Reads the response, dumping it with `-v`.
struct Reader {
    verbose: bool,
    response: Response,
    /// Bytes received before the end of the headers (for the verbose dump).
    pre: Vec<u8>,
    out: Vec<u8>,
}

impl Reader {
    fn feed(&mut self, data: &[u8]) {
        let was_complete = self.response.headers_complete();
        self.response.feed(data);
        if !self.verbose {
            return;
        }
        if was_complete {
            self.out.extend_from_slice(hex_dump(data).as_bytes());
            return;
        }
        self.pre.extend_from_slice(data);
        if !self.response.headers_complete() {
            if self.pre.len() > crate::check::http::MAX_BUFFER_LENGTH {
                // Overflowed headers: only the last bytes matter for the search.
                let cut = self.pre.len() - 3;
                self.pre.drain(..cut);
            }
            return;
        }
        let pre = std::mem::take(&mut self.pre);
        let end = pre
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(pre.len(), |i| i + 4);
        let (head, body) = pre.split_at(end);
        self.out.extend_from_slice(
            format!("{BANNER_HEADER}\n{}{BANNER_ASCII}\n", hex_dump(head)).as_bytes(),
        );
        self.out.extend_from_slice(head);
        self.out.push(b'\n');
        if !body.is_empty() {
            self.out
                .extend_from_slice(format!("{BANNER_HTML}\n{}", hex_dump(body)).as_bytes());
        }
    }

    fn flush(&mut self) {
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(&self.out);
        let _ = so.flush();
        self.out.clear();
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Connects (with the fwmark) within the timeout.
fn connect(o: &Opts) -> Result<TcpStream, &'static str> {
    let c = ConnOpts {
        dst_addr: o.server,
        dst_port: o.port,
        connect_ip: None,
        connect_port: None,
        bind_addr: None,
        bind_port: None,
        bind_if: None,
        fwmark: o.fwmark,
        connect_timeout_us: o.timeout.as_micros() as u64,
    };
    let fd = match tcp_connect(&c) {
        Ok(Connect::Done(fd)) => fd,
        Ok(Connect::InProgress(fd)) => {
            use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
            let deadline = now_us().saturating_add(o.timeout.as_micros() as u64);
            loop {
                let left_ms = deadline.saturating_sub(now_us()).div_ceil(1000);
                let ms = i32::try_from(left_ms).unwrap_or(i32::MAX);
                let t = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
                let mut p = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
                match poll(&mut p, t) {
                    Ok(0) => return Err("Timeout connecting"),
                    Ok(_) => break,
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => return Err("Connection failed"),
                }
            }
            if connect_error(&fd).is_err() {
                return Err("Connection failed");
            }
            fd
        }
        Err(_) => return Err("Connection failed"),
    };
    let s = TcpStream::from(fd);
    let ok = s.set_nonblocking(false).is_ok()
        && s.set_read_timeout(Some(o.timeout)).is_ok()
        && s.set_write_timeout(Some(o.timeout)).is_ok();
    if ok {
        Ok(s)
    } else {
        Err("Connection failed")
    }
}

/// Sends the request and reads the response until EOF. `Err`: keepalived's message.
fn fetch(o: &Opts, rd: &mut Reader) -> Result<(), &'static str> {
    let check = http_check(o);
    let dst = SocketAddr::new(o.server, o.port);
    let request = HttpMachine::request(&check, 0, dst);
    let mut tcp = connect(o)?;
    if o.ssl {
        let mut warnings = Vec::new();
        let config = crate::os::tls::client_config(None, &mut warnings)
            .map_err(|_| "SSL handshake/communication error connecting to")?;
        let name = crate::os::tls::server_name(&check, 0, o.server);
        let mut tls = rustls::ClientConnection::new(config, name)
            .map_err(|_| "SSL handshake/communication error connecting to")?;
        while tls.is_handshaking() {
            if let Err(e) = tls.complete_io(&mut tcp) {
                return Err(if is_timeout(&e) {
                    "Timeout connecting"
                } else {
                    "SSL handshake/communication error connecting to"
                });
            }
        }
        let mut s = rustls::StreamOwned::new(tls, tcp);
        if let Err(e) = s.write_all(&request).and_then(|_| s.flush()) {
            return Err(if is_timeout(&e) {
                "Timeout WEB write"
            } else {
                "Cannot send get request to"
            });
        }
        read_all(
            &mut s,
            rd,
            "Timeout SSL read",
            "Timeout SSL read",
            "SSL read error from",
        )
    } else {
        if let Err(e) = tcp.write_all(&request) {
            return Err(if is_timeout(&e) {
                "Timeout WEB write"
            } else {
                "Cannot send get request to"
            });
        }
        read_all(
            &mut tcp,
            rd,
            "Timeout WEB read",
            "Timeout HTTP read",
            "Read error with",
        )
    }
}

fn read_all(
    s: &mut impl Read,
    rd: &mut Reader,
    timeout_none: &'static str,
    timeout_partial: &'static str,
    error: &'static str,
) -> Result<(), &'static str> {
    let mut buf = vec![0u8; crate::check::http::MAX_BUFFER_LENGTH];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                rd.feed(&buf[..n]);
                rd.flush();
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // A TLS peer closing without close_notify: the end of the response.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) if is_timeout(&e) => {
                return Err(if rd.response.received() == 0 {
                    timeout_none
                } else {
                    timeout_partial
                })
            }
            Err(_) => return Err(error),
        }
    }
}

/// Fetches the url and prints the outcome.
pub fn run(o: &Opts) {
    let start = now_us();
    let mut rd = Reader {
        verbose: o.verbose,
        response: Response::new(),
        pre: Vec::new(),
        out: Vec::new(),
    };
    let mut out = String::new();
    match fetch(o, &mut rd) {
        Ok(()) => {
            let md5 = rd.response.body_md5();
            let hex: String = md5.iter().map(|b| format!("{b:02x}")).collect();
            if o.verbose {
                out.push_str(&format!(
                    "\n{BANNER_HASH}\n{}{BANNER_FINAL}\n",
                    hex_dump(&md5)
                ));
            }
            out.push_str(&format!("{hex}\n"));
        }
        Err(msg) => out.push_str(&format!("{msg}\n")),
    }
    if o.verbose {
        out.push_str(&format!(
            "\nGlobal response time for [{}] = {} usecs\n",
            o.url,
            now_us().saturating_sub(start)
        ));
    }
    rd.flush();
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(out.as_bytes());
    let _ = so.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dispatch() {
        assert_eq!(wanted(&v(&["/x/genhash", "-s"])), Some(1));
        assert_eq!(wanted(&v(&["keepalived-rs", "-T", "-s"])), Some(2));
        assert_eq!(wanted(&v(&["keepalived-rs", "-l", "--genhash"])), Some(3));
        assert_eq!(wanted(&v(&["keepalived-rs", "-l"])), None);
    }

    #[test]
    fn options() {
        let o = parse(&v(&[
            "-s",
            "127.0.0.1",
            "-p80",
            "--url=/a",
            "-SIv",
            "--use-virt",
            "h",
            "-P",
            "1.1",
            "-t",
            "2",
            "-m",
            "7",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            (o.port, o.url.as_str(), o.ssl, o.sni, o.verbose),
            (80, "/a", true, true, true)
        );
        assert_eq!(o.vhost.as_deref(), Some("h"));
        assert_eq!(o.protocol, HttpProtocol::V1_1);
        assert_eq!((o.timeout, o.fwmark), (Duration::from_secs(2), 7));
        assert_eq!(parse(&v(&["-s", "127.0.0.1", "-p", "80"])), Ok(None));
        assert_eq!(parse(&v(&["-h"])), Ok(None));
        assert_eq!(parse(&v(&["-z"])), Err("Unknown option -z".into()));
        assert_eq!(
            parse(&v(&["-u"])),
            Err("Missing parameter for option -u".into())
        );
        assert_eq!(
            parse(&v(&["-s", "foo"])),
            Err("server should be an IP, not foo".into())
        );
        assert_eq!(
            parse(&v(&["-p", "70000"])),
            Err("invalid port number '70000'".into())
        );
        assert_eq!(
            parse(&v(&["-P", "2.0"])),
            Err("invalid HTTP protocol version '2.0'".into())
        );
    }

    #[test]
    fn dump() {
        assert_eq!(
            hex_dump(b"ab"),
            "0000  61 62                   -                           ab              \n"
        );
        assert_eq!(
            hex_dump(b"hello world\n"),
            "0000  68 65 6c 6c 6f 20 77 6f - 72 6c 64 0a               hello world.    \n"
        );
    }
}
