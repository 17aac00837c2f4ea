//! SSL_GET's TLS client (rustls, ring, TLS 1.2 and 1.3): the client context built from the
//! root `SSL { }` block, the server name (SNI) of a fetch, and [`TlsFetch`], one HTTP fetch
//! over a TLS session driven over any non-blocking byte stream (`WouldBlock`: wait for the
//! socket and call [`TlsFetch::pump`] again). No threads and no blocking I/O: the daemon
//! (`daemon::probe_tls`) owns the socket and the loop's read and write threads; what a
//! fetch's outcome means is decided by the HTTP engine (`check::http`).
//!
//! What keepalived 2.2.7 does, reproduced here:
//! * The server certificate is never verified. keepalived loads the `ca` file into its
//!   context but never asks OpenSSL to verify the peer (the binary imports neither
//!   `SSL_CTX_set_verify` nor `SSL_get_verify_result`, and OpenSSL's client default is
//!   `SSL_VERIFY_NONE`), so a checker's handshake succeeds whatever the certificate. The
//!   handshake's own signatures are still checked (as OpenSSL does).
//! * SNI is sent only with `enable_sni` (or `sni_name`): `sni_name`, else the url's
//!   virtualhost. A name that is not a valid DNS name (an IP literal, `host:port`) is not
//!   sent: rustls sends no IP address as SNI.
//! * Without `tls_compliant` the session ends with no close_notify (keepalived's quiet
//!   shutdown); with it, close_notify is sent when the response is complete.
//! * `certificate` (and `key`, else the key in the certificate file) is the client
//!   certificate.
//!
//! Deliberate differences:
//! * No TLS 1.0 or 1.1 (rustls has neither): a server that speaks only those fails its
//!   handshake.
//! * `password` (an encrypted key) is not supported: such a key cannot be loaded, which is
//!   logged, and the checkers run without a client certificate.
//! * A server that closes the TCP connection without close_notify ends the response (as
//!   plain HTTP's EOF does) rather than failing the read.

use crate::check::http::{Fetch, Response};
use crate::config::model::lvs::{HttpCheck, SslConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;

/// The most a fetch reads (the body is hashed as it streams; no page a checker fetches
/// comes near this): a server streaming without end is a read error.
pub const MAX_RESPONSE: usize = 64 << 20;

/// TLS records read per [`TlsFetch::pump`] before the loop gets the thread back.
const RECORDS_PER_PUMP: usize = 64;

/// keepalived's verifier: accepts any server certificate (see the module doc), checks the
/// handshake signatures.
#[derive(Debug)]
struct AnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client certificate chain and key of the `SSL { }` block, if it names one.
/// `Err`: keepalived's line for the file that cannot be loaded.
fn client_cert(
    ssl: &SslConfig,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
    let Some(cert) = &ssl.certificate else {
        return Ok(None);
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .ok()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("SSL error : Cant load certificate file... ({cert})"))?;
    let key_file = ssl.key.as_ref().unwrap_or(cert);
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("SSL error : Cant load key file... ({key_file}: {e})"))?;
    Ok(Some((chain, key)))
}

/// The client context of every SSL_GET checker, from the root `SSL { }` block (`None`:
/// keepalived's auto-generated context). `Err`: the context cannot be built at all. Files
/// that cannot be loaded are reported in `warnings` (keepalived's lines) and left out.
pub fn client_config(
    ssl: Option<&SslConfig>,
    warnings: &mut Vec<String>,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServerCert(provider)));
    if let Some(ca) = ssl.and_then(|s| s.ca.as_ref()) {
        // Loaded by keepalived, never used to verify: only its absence is reported.
        if std::fs::metadata(ca).is_err() {
            warnings.push(format!("SSL error : Cant load CA file... ({ca})"));
        }
    }
    let cert = match ssl.map(client_cert).transpose() {
        Ok(c) => c.flatten(),
        Err(w) => {
            warnings.push(w);
            None
        }
    };
    let config = match cert {
        Some((chain, key)) => match builder.clone().with_client_auth_cert(chain, key) {
            Ok(c) => c,
            Err(e) => {
                warnings.push(format!("SSL error : Cant load key file... ({e})"));
                builder.with_no_client_auth()
            }
        },
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The server name of a fetch of `check.urls[url]` to `dst`: the SNI name with
/// `enable_sni` (`sni_name`, else the url's virtualhost) when it is a DNS name, else the
/// target address (no SNI is sent for an address).
pub fn server_name(check: &HttpCheck, url: usize, dst: std::net::IpAddr) -> ServerName<'static> {
    let name = if check.enable_sni {
        check
            .sni_name
            .as_deref()
            .or_else(|| check.urls.get(url).and_then(|u| u.virtualhost.as_deref()))
    } else {
        None
    };
    name.and_then(|n| ServerName::try_from(n).ok())
        .filter(|n| matches!(n, ServerName::DnsName(_)))
        .map(|n| n.to_owned())
        .unwrap_or_else(|| ServerName::IpAddress(dst.into()))
}

/// Whether a fetch of `check.urls[url]` ends with close_notify (`tls_compliant` on the
/// checker or the url).
pub fn compliant(check: &HttpCheck, url: usize) -> bool {
    check.tls_compliant || check.urls.get(url).is_some_and(|u| u.tls_compliant)
}

/// What a fetch waits for next.
#[derive(Debug)]
pub enum Want {
    /// The socket to become readable.
    Read,
    /// The socket to become writable.
    Write,
    /// Nothing: the fetch is over.
    Done(Fetch),
}

/// One HTTP fetch over TLS: handshake, request, response until close.
pub struct TlsFetch {
    tls: ClientConnection,
    /// The request, until the handshake is done and it is handed to the session.
    request: Option<Vec<u8>>,
    response: Response,
    /// The peer closed the TCP connection.
    eof: bool,
    compliant: bool,
}

impl TlsFetch {
    /// A fetch sending `request` (HTTP_GET's request text) once the handshake is done.
    pub fn new(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        request: Vec<u8>,
        compliant: bool,
    ) -> Result<TlsFetch, rustls::Error> {
        Ok(TlsFetch {
            tls: ClientConnection::new(config, name)?,
            request: Some(request),
            response: Response::new(),
            eof: false,
            compliant,
        })
    }

    /// The wait of this fetch timed out: what keepalived says for its phase.
    pub fn timed_out(&self) -> Fetch {
        if self.tls.is_handshaking() {
            Fetch::ConnectTimeout
        } else if self.request.is_some() || self.tls.wants_write() {
            Fetch::WriteTimeout
        } else {
            Fetch::TlsReadTimeout
        }
    }

    /// A socket or TLS error: what keepalived says for its phase.
    fn failed(&self, writing: bool) -> Fetch {
        if self.tls.is_handshaking() {
            Fetch::TlsHandshake
        } else if writing && self.response.received() == 0 {
            Fetch::SendFailed
        } else {
            Fetch::TlsReadError
        }
    }

    /// The response is complete: close_notify if `tls_compliant` (best effort).
    fn done(&mut self, io: &mut (impl Read + Write)) -> Fetch {
        if self.compliant {
            self.tls.send_close_notify();
            while self.tls.wants_write() {
                if self.tls.write_tls(io).is_err() {
                    break;
                }
            }
        }
        Fetch::Done(std::mem::take(&mut self.response))
    }

    /// Drives the session over `io` (non-blocking; `WouldBlock` means wait) until it must
    /// wait for the socket or the fetch is over.
    pub fn pump(&mut self, io: &mut (impl Read + Write)) -> Want {
        let mut buf = [0u8; 4096];
        for _ in 0..RECORDS_PER_PUMP {
            while self.tls.wants_write() {
                match self.tls.write_tls(io) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Want::Write,
                    Err(e) => {
                        log::debug!(target: "check", "SSL_GET: write: {e}");
                        return Want::Done(self.failed(true));
                    }
                }
            }
            if !self.eof {
                match self.tls.read_tls(io) {
                    Ok(0) => self.eof = true,
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Want::Read,
                    Err(e) => {
                        log::debug!(target: "check", "SSL_GET: read: {e}");
                        return Want::Done(self.failed(false));
                    }
                }
            }
            if let Err(e) = self.tls.process_new_packets() {
                log::debug!(target: "check", "SSL_GET: {e}");
                // The alert for the peer, if it still listens.
                let _ = self.tls.write_tls(io);
                return Want::Done(self.failed(false));
            }
            if self.tls.is_handshaking() {
                if self.eof {
                    return Want::Done(Fetch::TlsHandshake);
                }
                continue;
            }
            if let Some(req) = self.request.take() {
                if self.tls.writer().write_all(&req).is_err() {
                    return Want::Done(Fetch::SendFailed);
                }
                continue;
            }
            loop {
                match self.tls.reader().read(&mut buf) {
                    // close_notify.
                    Ok(0) => return Want::Done(self.done(io)),
                    Ok(n) => {
                        self.response.feed(&buf[..n]);
                        if self.response.overflowed() {
                            return Want::Done(self.done(io));
                        }
                        if self.response.received() > MAX_RESPONSE {
                            log::warn!(
                                target: "check",
                                "SSL_GET: a response over {MAX_RESPONSE} bytes - giving up on it"
                            );
                            return Want::Done(Fetch::TlsReadError);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    // The TCP connection closed without close_notify.
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                        return Want::Done(self.done(io))
                    }
                    Err(e) => {
                        log::debug!(target: "check", "SSL_GET: read: {e}");
                        return Want::Done(Fetch::TlsReadError);
                    }
                }
            }
            if self.eof {
                // Everything the peer sent was read: its end.
                return Want::Done(self.done(io));
            }
        }
        // Budget spent: the loop gets the thread back; the socket is still ready.
        if self.tls.wants_write() {
            Want::Write
        } else {
            Want::Read
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::lvs::CheckerKind;
    use crate::lvs::engine::tests::lvs_cfg;
    use rustls::{ServerConfig, ServerConnection};
    use std::collections::VecDeque;

    const CERT: &str = include_str!("../../tests/fixtures/tls/cert.pem");
    const KEY: &str = include_str!("../../tests/fixtures/tls/key.pem");

    fn server_config() -> Arc<ServerConfig> {
        let chain = CertificateDer::pem_slice_iter(CERT.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let c = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Arc::new(c)
    }

    /// One direction of an in-memory connection; `closed`: EOF once drained.
    #[derive(Default)]
    struct Pipe {
        to_server: VecDeque<u8>,
        to_client: VecDeque<u8>,
        closed: bool,
    }

    impl Read for Pipe {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.to_client.is_empty() {
                return if self.closed {
                    Ok(0)
                } else {
                    Err(ErrorKind::WouldBlock.into())
                };
            }
            let n = buf.len().min(self.to_client.len());
            for (b, v) in buf.iter_mut().zip(self.to_client.drain(..n)) {
                *b = v;
            }
            Ok(n)
        }
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.to_server.extend(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The server side: TLS records in, records out.
    struct Server {
        tls: ServerConnection,
        got: Vec<u8>,
        peer_closed: bool,
    }

    impl Server {
        fn new() -> Server {
            Server {
                tls: ServerConnection::new(server_config()).unwrap(),
                got: Vec::new(),
                peer_closed: false,
            }
        }

        /// Takes what the client wrote, answers (`answer` once the request is complete).
        fn step(&mut self, pipe: &mut Pipe, answer: &[u8], close_notify: bool) {
            let input: Vec<u8> = pipe.to_server.drain(..).collect();
            let mut rd = &input[..];
            while !rd.is_empty() {
                self.tls.read_tls(&mut rd).unwrap();
                self.tls.process_new_packets().unwrap();
            }
            let mut buf = [0u8; 4096];
            loop {
                match self.tls.reader().read(&mut buf) {
                    Ok(0) => {
                        self.peer_closed = true;
                        break;
                    }
                    Ok(n) => {
                        self.got.extend_from_slice(&buf[..n]);
                        if self.got.ends_with(b"\r\n\r\n") {
                            self.tls.writer().write_all(answer).unwrap();
                            if close_notify {
                                self.tls.send_close_notify();
                            }
                            pipe.closed = true;
                        }
                    }
                    Err(_) => break,
                }
            }
            let mut out = Vec::new();
            while self.tls.wants_write() {
                self.tls.write_tls(&mut out).unwrap();
            }
            pipe.to_client.extend(out);
        }
    }

    fn ssl_get(body: &str) -> HttpCheck {
        let text = format!(
            "virtual_server 192.0.2.1 443 {{\n delay_loop 10\n lb_kind NAT\n protocol TCP\n \
             real_server 192.0.2.2 443 {{\n  SSL_GET {{\n{body}\n  }}\n }}\n}}\n"
        );
        let cfg = lvs_cfg(&text);
        match &cfg.virtual_servers[0].real_servers[0].checkers[0].kind {
            CheckerKind::Http(h) => h.clone(),
            other => panic!("not SSL_GET: {other:?}"),
        }
    }
    fn ip() -> std::net::IpAddr {
        "192.0.2.2".parse().unwrap()
    }

    /// Runs a fetch against `server` until it is over.
    fn run(
        check: &HttpCheck,
        server: &mut Server,
        answer: &[u8],
        close_notify: bool,
    ) -> (Fetch, Pipe) {
        let mut w = Vec::new();
        let config = client_config(None, &mut w).unwrap();
        assert!(w.is_empty());
        let req =
            crate::check::http::HttpMachine::request(check, 0, "192.0.2.2:443".parse().unwrap());
        let mut f = TlsFetch::new(
            config,
            server_name(check, 0, ip()),
            req,
            compliant(check, 0),
        )
        .unwrap();
        let mut pipe = Pipe::default();
        for _ in 0..20 {
            match f.pump(&mut pipe) {
                Want::Done(fetch) => {
                    server.step(&mut pipe, answer, close_notify);
                    return (fetch, pipe);
                }
                Want::Write => panic!("the pipe never blocks a write"),
                Want::Read => server.step(&mut pipe, answer, close_notify),
            }
        }
        panic!("the fetch did not end");
    }

    const PAGE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn fetch_over_tls() {
        let h = ssl_get("url {\n path /index.html\n }");
        for close_notify in [true, false] {
            let mut server = Server::new();
            let (fetch, _) = run(&h, &mut server, PAGE, close_notify);
            let Fetch::Done(r) = fetch else {
                panic!("{fetch:?}");
            };
            assert_eq!(r.status(), Some(200));
            assert_eq!(r.body_md5(), crate::wire::md5::md5(b"hello"));
            assert_eq!(
                server.got,
                b"GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\n\
                  Host: 192.0.2.2:443\r\n\r\n"
            );
            // No SNI without enable_sni; no close_notify without tls_compliant.
            assert_eq!(server.tls.server_name(), None);
            assert!(!server.peer_closed);
        }
    }

    #[test]
    fn sni_and_close_notify() {
        let h =
            ssl_get("url {\n path /\n virtualhost rs.example.test\n }\nenable_sni\ntls_compliant");
        let mut server = Server::new();
        let (fetch, _) = run(&h, &mut server, PAGE, true);
        assert!(matches!(fetch, Fetch::Done(_)), "{fetch:?}");
        assert_eq!(server.tls.server_name(), Some("rs.example.test"));
        assert!(server.peer_closed, "close_notify with tls_compliant");
        // sni_name wins over the virtualhost.
        let h = ssl_get("url {\n path /\n virtualhost a.example.test\n }\nsni_name b.example.test");
        assert_eq!(
            server_name(&h, 0, ip()),
            ServerName::try_from("b.example.test").unwrap()
        );
        // enable_sni with no name, or a name that is not a DNS name: the address, no SNI.
        let h = ssl_get("url {\n path /\n }\nenable_sni");
        assert_eq!(server_name(&h, 0, ip()), ServerName::IpAddress(ip().into()));
        let h = ssl_get("url {\n path /\n virtualhost www.example.test:8443\n }\nenable_sni");
        assert_eq!(server_name(&h, 0, ip()), ServerName::IpAddress(ip().into()));
        // Without enable_sni the virtualhost is only the Host header.
        let h = ssl_get("url {\n path /\n virtualhost www.example.test\n }");
        assert_eq!(server_name(&h, 0, ip()), ServerName::IpAddress(ip().into()));
    }

    #[test]
    fn handshake_failures_and_timeouts() {
        let h = ssl_get("url {\n path /\n }");
        let mut w = Vec::new();
        let config = client_config(None, &mut w).unwrap();
        let req = b"GET / HTTP/1.0\r\n\r\n".to_vec();
        let new =
            || TlsFetch::new(config.clone(), server_name(&h, 0, ip()), req.clone(), false).unwrap();
        // A plain HTTP server answers the ClientHello with its page.
        let mut f = new();
        let mut pipe = Pipe::default();
        assert!(matches!(f.pump(&mut pipe), Want::Read));
        assert!(!pipe.to_server.is_empty(), "the ClientHello");
        assert!(matches!(f.timed_out(), Fetch::ConnectTimeout));
        pipe.to_client.extend(b"HTTP/1.0 400 Bad Request\r\n\r\n");
        pipe.closed = true;
        assert!(matches!(f.pump(&mut pipe), Want::Done(Fetch::TlsHandshake)));
        // The server closes during the handshake.
        let mut f = new();
        let mut pipe = Pipe::default();
        assert!(matches!(f.pump(&mut pipe), Want::Read));
        pipe.closed = true;
        assert!(matches!(f.pump(&mut pipe), Want::Done(Fetch::TlsHandshake)));
        // Random bytes never panic and end the fetch.
        let mut rng = crate::bfd::Rng::new(7);
        for _ in 0..200 {
            let mut f = new();
            let mut pipe = Pipe::default();
            let _ = f.pump(&mut pipe);
            let n = (rng.next_u64() % 600) as usize;
            pipe.to_client.extend((0..n).map(|_| rng.next_u64() as u8));
            pipe.closed = true;
            assert!(matches!(f.pump(&mut pipe), Want::Done(_)));
        }
    }

    #[test]
    fn read_timeout_after_the_request() {
        let h = ssl_get("url {\n path /\n }");
        let mut server = Server::new();
        let mut w = Vec::new();
        let config = client_config(None, &mut w).unwrap();
        let req = b"GET / HTTP/1.0\r\n\r\n".to_vec();
        let mut f = TlsFetch::new(config, server_name(&h, 0, ip()), req, false).unwrap();
        let mut pipe = Pipe::default();
        // The server never answers the request (it is not complete for it).
        for _ in 0..5 {
            assert!(matches!(f.pump(&mut pipe), Want::Read));
            server.step(&mut pipe, b"", false);
            pipe.closed = false;
        }
        assert!(matches!(f.timed_out(), Fetch::TlsReadTimeout));
    }

    #[test]
    fn missing_ssl_files_are_reported() {
        let ssl = SslConfig {
            ca: Some("/nonexistent/ca.pem".into()),
            certificate: Some("/nonexistent/cert.pem".into()),
            ..SslConfig::default()
        };
        let mut w = Vec::new();
        assert!(client_config(Some(&ssl), &mut w).is_ok());
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("SSL error : Cant load CA file..."));
        assert!(w[1].starts_with("SSL error : Cant load certificate file..."));
        // A client certificate that loads is used.
        let ssl = SslConfig {
            certificate: Some(
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/cert.pem").into(),
            ),
            key: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/key.pem").into()),
            ..SslConfig::default()
        };
        let mut w = Vec::new();
        let c = client_config(Some(&ssl), &mut w).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert!(c.client_auth_cert_resolver.has_certs());
    }
}
