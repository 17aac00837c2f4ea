//! Random-input robustness of the HTTP_GET response reader ([`Response`]): seeded random
//! responses (plain random bytes, and plausible status lines and headers with random
//! bodies) fed whole and in random chunkings never panic, keep bounded memory, and read
//! the same whatever the chunking. Set CHECK_HTTP_SEED to replay another seed; the seed is
//! printed on failure.

mod common;

use common::rng::{Rng, TestRng};
use keepalived_rs::check::http::{Response, HEADER_LIMIT, MAX_BUFFER_LENGTH};

/// A response that often gets past the header parsing.
fn shaped(rng: &mut Rng) -> Vec<u8> {
    let mut b = Vec::new();
    let status = ["HTTP/1.1 ", "HTTP/1.0 ", "", " ", "HTTP/1.1  "][rng.below(5)];
    b.extend_from_slice(status.as_bytes());
    b.extend_from_slice(rng.below(700).to_string().as_bytes());
    b.extend_from_slice([&b" OK\r\n"[..], b"\r\n", b" \r\n", b"\n"][rng.below(4)]);
    for _ in 0..rng.below(6) {
        match rng.below(4) {
            0 => {
                let v = [
                    rng.below(300).to_string(),
                    String::from("-1"),
                    String::from("x"),
                    String::from("99999999999999999999"),
                ][rng.below(4)]
                .clone();
                b.extend_from_slice(format!("Content-Length: {v}\r\n").as_bytes());
            }
            1 => b.extend_from_slice(b"content-length: 3\r\n"),
            2 => {
                let mut h = vec![0u8; rng.below(200)];
                rng.fill(&mut h);
                b.extend_from_slice(&h);
                b.extend_from_slice(b"\r\n");
            }
            _ => b.extend_from_slice(b"Server: x\r\n"),
        }
    }
    if rng.below(8) != 0 {
        b.extend_from_slice(b"\r\n");
    }
    let mut body = vec![0u8; rng.below(3000)];
    rng.fill(&mut body);
    b.extend_from_slice(&body);
    b
}

/// Feeds `data` in random chunks (sometimes empty ones).
fn feed_chunked(rng: &mut Rng, data: &[u8]) -> Response {
    let mut r = Response::new();
    let mut at = 0;
    while at < data.len() {
        let max = [1, 3, 17, 512, 5000][rng.below(5)];
        let n = rng.below(max + 1).min(data.len() - at);
        r.feed(&data[at..at + n]);
        assert!(r.buffered() <= MAX_BUFFER_LENGTH);
        at += n;
    }
    r.feed(&[]);
    r
}

#[test]
fn random_responses_never_panic() {
    let seed = std::env::var("CHECK_HTTP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6874_7470_5f67_6574u64);
    let mut rng = Rng::new(seed);
    let mut complete = 0;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for i in 0..2_000 {
            let data = match i % 4 {
                0 => {
                    let mut b = vec![0u8; rng.below(10_000)];
                    rng.fill(&mut b);
                    b
                }
                1 => {
                    let mut b = vec![0u8; rng.below(64)];
                    rng.fill(&mut b);
                    b
                }
                _ => shaped(&mut rng),
            };
            let mut whole = Response::new();
            whole.feed(&data);
            assert!(whole.buffered() <= MAX_BUFFER_LENGTH);
            let parts = feed_chunked(&mut rng, &data);
            assert_eq!(whole.received(), data.len());
            assert_eq!(parts.received(), data.len());
            assert_eq!(parts.status(), whole.status(), "input {i}");
            assert_eq!(parts.headers_complete(), whole.headers_complete());
            assert_eq!(parts.overflowed(), whole.overflowed());
            assert_eq!(parts.content_length(), whole.content_length());
            assert_eq!(parts.body_len(), whole.body_len());
            assert_eq!(parts.body_md5(), whole.body_md5(), "input {i}");
            if whole.headers_complete() {
                complete += 1;
                assert_eq!(whole.buffered(), 0);
                assert!(whole.body_len() < data.len() as u64);
            } else {
                assert_eq!(whole.body_len(), 0);
                assert!(whole.overflowed() == (data.len() >= HEADER_LIMIT));
            }
        }
    }));
    if let Err(e) = result {
        eprintln!("check_http: failing seed {seed} (CHECK_HTTP_SEED={seed})");
        std::panic::resume_unwind(e);
    }
    // The shaped inputs reach the body.
    assert!(complete > 500, "only {complete} complete responses");
}
