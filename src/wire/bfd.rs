//! BFD Control packets (RFC 5880 §4.1) with the optional authentication section (§4.2-4.4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! |                       My Discriminator                        |
//! |                      Your Discriminator                       |
//! |                    Desired Min TX Interval                    |
//! |                   Required Min RX Interval                    |
//! |                 Required Min Echo RX Interval                 |
//! |   Auth Type   |   Auth Len    |    Authentication Data...     |
//! ```
//!
//! [`ControlPacket::parse`] decodes a UDP payload without allocating (the decoded value
//! borrows the input) and applies every receive check of RFC 5880 §6.8.6 that needs only the
//! packet, plus keepalived's two extra ones (P and F together, a diagnostic above 8). Each
//! failure is one [`RxError`] variant, which the engine uses as its drop counter key.
//! Session lookup, the TTL check and authentication are the engine's (`crate::bfd`); the
//! helpers it needs are here: [`verify_auth`] and [`sign`] compute the keyed MD5 / SHA1
//! digests of §6.7.3-6.7.4 over the packet with the key in place of the digest.
//!
//! [`ControlRepr::emit`] writes a packet into a caller buffer and reports its length.
//!
//! SHA-1 (RFC 3174) is written here ([`sha1`]), as MD5 is in [`super::md5`]: no dependency.
//! Neither is a secure hash today; they are here because RFC 5880 defines them.

use std::fmt;

use super::md5::Md5;
use super::{be32, room, EmitError};

/// Length of the mandatory section (RFC 5880 §4.1).
pub const HEADER_LEN: usize = 24;
/// Smallest packet with the A bit: the header plus Auth Type and Auth Len.
pub const MIN_AUTH_LEN: usize = HEADER_LEN + 2;
/// Longest Control packet we ever build or accept: the header plus the SHA1 section.
pub const MAX_LEN: usize = HEADER_LEN + SHA1_AUTH_LEN;
/// The only protocol version (RFC 5880 §4.1).
pub const VERSION: u8 = 1;
/// Auth Len of the keyed MD5 sections (RFC 5880 §4.3).
pub const MD5_AUTH_LEN: usize = 24;
/// Auth Len of the keyed SHA1 sections (RFC 5880 §4.4).
pub const SHA1_AUTH_LEN: usize = 28;
/// Longest simple password (RFC 5880 §4.2).
pub const MAX_PASSWORD_LEN: usize = 16;

/// Session state (RFC 5880 §4.1 "Sta", §6.8.1 bfd.SessionState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    AdminDown = 0,
    Down = 1,
    Init = 2,
    Up = 3,
}

impl State {
    /// The two-bit wire value.
    pub fn to_bits(self) -> u8 {
        self as u8
    }

    /// From the two-bit wire value (only the low two bits are used).
    pub fn from_bits(v: u8) -> State {
        match v & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// Diagnostic code (RFC 5880 §4.1). Values 9-31 are invalid (keepalived drops them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Diag {
    NoDiagnostic = 0,
    ControlDetectionTimeExpired = 1,
    EchoFunctionFailed = 2,
    NeighborSignaledSessionDown = 3,
    ForwardingPlaneReset = 4,
    PathDown = 5,
    ConcatenatedPathDown = 6,
    AdministrativelyDown = 7,
    ReverseConcatenatedPathDown = 8,
}

impl Diag {
    /// The five-bit wire value.
    pub fn to_bits(self) -> u8 {
        self as u8
    }

    /// From the five-bit wire value; `None` for the invalid values 9-31.
    pub fn from_bits(v: u8) -> Option<Diag> {
        Some(match v {
            0 => Diag::NoDiagnostic,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            _ => return None,
        })
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Diag::NoDiagnostic => "No Diagnostic",
            Diag::ControlDetectionTimeExpired => "Control Detection Time Expired",
            Diag::EchoFunctionFailed => "Echo Function Failed",
            Diag::NeighborSignaledSessionDown => "Neighbor Signaled Session Down",
            Diag::ForwardingPlaneReset => "Forwarding Plane Reset",
            Diag::PathDown => "Path Down",
            Diag::ConcatenatedPathDown => "Concatenated Path Down",
            Diag::AdministrativelyDown => "Administratively Down",
            Diag::ReverseConcatenatedPathDown => "Reverse Concatenated Path Down",
        })
    }
}

/// Auth Type (RFC 5880 §4.1). 0 is reserved; 6-255 are unassigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthType {
    SimplePassword = 1,
    KeyedMd5 = 2,
    MeticulousKeyedMd5 = 3,
    KeyedSha1 = 4,
    MeticulousKeyedSha1 = 5,
}

impl AuthType {
    pub fn from_u8(v: u8) -> Option<AuthType> {
        Some(match v {
            1 => AuthType::SimplePassword,
            2 => AuthType::KeyedMd5,
            3 => AuthType::MeticulousKeyedMd5,
            4 => AuthType::KeyedSha1,
            5 => AuthType::MeticulousKeyedSha1,
            _ => return None,
        })
    }

    /// Whether the sequence number must increase with every packet (§6.7.3, §6.7.4).
    pub fn meticulous(self) -> bool {
        matches!(
            self,
            AuthType::MeticulousKeyedMd5 | AuthType::MeticulousKeyedSha1
        )
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthType::SimplePassword => "Simple Password",
            AuthType::KeyedMd5 => "Keyed MD5",
            AuthType::MeticulousKeyedMd5 => "Meticulous Keyed MD5",
            AuthType::KeyedSha1 => "Keyed SHA1",
            AuthType::MeticulousKeyedSha1 => "Meticulous Keyed SHA1",
        })
    }
}

/// The authentication section. Digests are copied (no allocation); the password borrows.
/// The Reserved byte of the MD5/SHA1 sections is ignored on receive and sent as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth<'a> {
    /// §4.2: 1 to 16 bytes.
    SimplePassword { key_id: u8, password: &'a [u8] },
    /// §4.3, Auth Type 2 or 3.
    KeyedMd5 {
        meticulous: bool,
        key_id: u8,
        seq: u32,
        digest: [u8; 16],
    },
    /// §4.4, Auth Type 4 or 5.
    KeyedSha1 {
        meticulous: bool,
        key_id: u8,
        seq: u32,
        hash: [u8; 20],
    },
}

impl Auth<'_> {
    pub fn auth_type(&self) -> AuthType {
        match *self {
            Auth::SimplePassword { .. } => AuthType::SimplePassword,
            Auth::KeyedMd5 {
                meticulous: false, ..
            } => AuthType::KeyedMd5,
            Auth::KeyedMd5 {
                meticulous: true, ..
            } => AuthType::MeticulousKeyedMd5,
            Auth::KeyedSha1 {
                meticulous: false, ..
            } => AuthType::KeyedSha1,
            Auth::KeyedSha1 {
                meticulous: true, ..
            } => AuthType::MeticulousKeyedSha1,
        }
    }

    pub fn key_id(&self) -> u8 {
        match *self {
            Auth::SimplePassword { key_id, .. }
            | Auth::KeyedMd5 { key_id, .. }
            | Auth::KeyedSha1 { key_id, .. } => key_id,
        }
    }

    /// The sequence number of the keyed sections.
    pub fn seq(&self) -> Option<u32> {
        match *self {
            Auth::SimplePassword { .. } => None,
            Auth::KeyedMd5 { seq, .. } | Auth::KeyedSha1 { seq, .. } => Some(seq),
        }
    }

    /// The Auth Len field.
    pub fn auth_len(&self) -> usize {
        match *self {
            Auth::SimplePassword { password, .. } => 3 + password.len(),
            Auth::KeyedMd5 { .. } => MD5_AUTH_LEN,
            Auth::KeyedSha1 { .. } => SHA1_AUTH_LEN,
        }
    }
}

/// Why a received BFD Control packet was discarded by [`ControlPacket::parse`]: one variant
/// per drop reason (RFC 5880 §6.8.6 order, then keepalived's extra checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RxError {
    /// Fewer than 24 bytes in the UDP payload.
    Truncated { got: usize },
    /// The version is not 1.
    BadVersion { version: u8 },
    /// Length below 24, or below 26 with the A bit.
    BadLength { length: u8, auth: bool },
    /// Length larger than the UDP payload.
    LengthExceedsPayload { length: u8, payload: usize },
    /// Detect Mult is zero.
    ZeroDetectMult,
    /// The Multipoint (M) bit is set.
    Multipoint,
    /// My Discriminator is zero.
    ZeroMyDiscr,
    /// Your Discriminator is zero and the State field is Init or Up.
    ZeroYourDiscr { state: State },
    /// Poll and Final both set (keepalived discards these; RFC 5880 §6.5 forbids them).
    PollAndFinal,
    /// Diagnostic above 8 (keepalived's `BFD_VALID_DIAG`).
    BadDiag { diag: u8 },
    /// Auth Type 0 or above 5.
    UnknownAuthType { auth_type: u8 },
    /// Auth Len does not fit the Auth Type, or the Length is not 24 + Auth Len.
    BadAuthLen {
        auth_type: u8,
        auth_len: u8,
        length: u8,
    },
}

impl RxError {
    /// Number of variants (for counter arrays).
    pub const COUNT: usize = 12;
    /// Variant names, in [`RxError::index`] order.
    pub const NAMES: [&'static str; RxError::COUNT] = [
        "truncated",
        "bad_version",
        "bad_length",
        "length_exceeds_payload",
        "zero_detect_mult",
        "multipoint",
        "zero_my_discr",
        "zero_your_discr",
        "poll_and_final",
        "bad_diag",
        "unknown_auth_type",
        "bad_auth_len",
    ];

    /// A dense index per variant, for counters.
    pub fn index(&self) -> usize {
        match self {
            RxError::Truncated { .. } => 0,
            RxError::BadVersion { .. } => 1,
            RxError::BadLength { .. } => 2,
            RxError::LengthExceedsPayload { .. } => 3,
            RxError::ZeroDetectMult => 4,
            RxError::Multipoint => 5,
            RxError::ZeroMyDiscr => 6,
            RxError::ZeroYourDiscr { .. } => 7,
            RxError::PollAndFinal => 8,
            RxError::BadDiag { .. } => 9,
            RxError::UnknownAuthType { .. } => 10,
            RxError::BadAuthLen { .. } => 11,
        }
    }

    /// The counter name of this variant.
    pub fn name(&self) -> &'static str {
        RxError::NAMES[self.index()]
    }
}

impl fmt::Display for RxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RxError::Truncated { got } => write!(f, "packet is too small: {got} bytes"),
            RxError::BadVersion { version } => write!(f, "wrong version {version}"),
            RxError::BadLength { length, auth } => {
                write!(f, "invalid length {length} (auth bit {})", u8::from(auth))
            }
            RxError::LengthExceedsPayload { length, payload } => {
                write!(f, "length {length} exceeds the {payload}-byte payload")
            }
            RxError::ZeroDetectMult => f.write_str("invalid detection multiplier 0"),
            RxError::Multipoint => f.write_str("multipoint is not supported"),
            RxError::ZeroMyDiscr => f.write_str("invalid local discriminator 0"),
            RxError::ZeroYourDiscr { state } => {
                write!(f, "your discriminator 0 with state {state}")
            }
            RxError::PollAndFinal => f.write_str("both Poll and Final bits are set"),
            RxError::BadDiag { diag } => write!(f, "invalid diag {diag}"),
            RxError::UnknownAuthType { auth_type } => write!(f, "unknown auth type {auth_type}"),
            RxError::BadAuthLen {
                auth_type,
                auth_len,
                length,
            } => write!(
                f,
                "auth type {auth_type} with auth len {auth_len} in a {length}-byte packet"
            ),
        }
    }
}

impl std::error::Error for RxError {}

/// A decoded, packet-level valid BFD Control packet, borrowing the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlPacket<'a> {
    pub diag: Diag,
    pub state: State,
    pub poll: bool,
    pub final_: bool,
    /// Control Plane Independent (C).
    pub cpi: bool,
    /// Demand (D).
    pub demand: bool,
    pub detect_mult: u8,
    /// The Length field (also `bytes.len()`).
    pub length: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub required_min_echo_rx_us: u32,
    /// Present if and only if the A bit is set.
    pub auth: Option<Auth<'a>>,
    /// The packet's `length` bytes (the digest is computed over these).
    pub bytes: &'a [u8],
    /// Bytes after `length` in the UDP payload (allowed by §6.8.6).
    pub trailing: &'a [u8],
}

impl<'a> ControlPacket<'a> {
    /// Decodes a UDP payload and applies the packet-level checks of RFC 5880 §6.8.6. Never
    /// panics. Without the A bit, a Length above 24 is accepted (§6.8.6 only requires >= 24)
    /// and the bytes after the mandatory section are ignored; [`ControlPacket::bytes`] keeps
    /// them.
    pub fn parse(payload: &'a [u8]) -> Result<ControlPacket<'a>, RxError> {
        if payload.len() < HEADER_LEN {
            return Err(RxError::Truncated { got: payload.len() });
        }
        let version = payload[0] >> 5;
        let diag_bits = payload[0] & 0x1f;
        let state = State::from_bits(payload[1] >> 6);
        let flags = payload[1];
        let poll = flags & 0x20 != 0;
        let final_ = flags & 0x10 != 0;
        let cpi = flags & 0x08 != 0;
        let a = flags & 0x04 != 0;
        let demand = flags & 0x02 != 0;
        let multipoint = flags & 0x01 != 0;
        let detect_mult = payload[2];
        let length = payload[3];
        let my_discr = be32(payload, 4);
        let your_discr = be32(payload, 8);
        // RFC 5880 §6.8.6, in order.
        if version != VERSION {
            return Err(RxError::BadVersion { version });
        }
        let min = if a { MIN_AUTH_LEN } else { HEADER_LEN };
        if usize::from(length) < min {
            return Err(RxError::BadLength { length, auth: a });
        }
        if usize::from(length) > payload.len() {
            return Err(RxError::LengthExceedsPayload {
                length,
                payload: payload.len(),
            });
        }
        if detect_mult == 0 {
            return Err(RxError::ZeroDetectMult);
        }
        if multipoint {
            return Err(RxError::Multipoint);
        }
        if my_discr == 0 {
            return Err(RxError::ZeroMyDiscr);
        }
        if your_discr == 0 && matches!(state, State::Init | State::Up) {
            return Err(RxError::ZeroYourDiscr { state });
        }
        // keepalived's bfd_check_packet.
        if poll && final_ {
            return Err(RxError::PollAndFinal);
        }
        let diag = Diag::from_bits(diag_bits).ok_or(RxError::BadDiag { diag: diag_bits })?;
        let bytes = &payload[..usize::from(length)];
        let auth = if a { Some(parse_auth(bytes)?) } else { None };
        Ok(ControlPacket {
            diag,
            state,
            poll,
            final_,
            cpi,
            demand,
            detect_mult,
            length,
            my_discr,
            your_discr,
            desired_min_tx_us: be32(payload, 12),
            required_min_rx_us: be32(payload, 16),
            required_min_echo_rx_us: be32(payload, 20),
            auth,
            bytes,
            trailing: &payload[usize::from(length)..],
        })
    }

    /// The owned representation (for re-encoding).
    pub fn repr(&self) -> ControlRepr<'a> {
        ControlRepr {
            diag: self.diag,
            state: self.state,
            poll: self.poll,
            final_: self.final_,
            cpi: self.cpi,
            demand: self.demand,
            detect_mult: self.detect_mult,
            my_discr: self.my_discr,
            your_discr: self.your_discr,
            desired_min_tx_us: self.desired_min_tx_us,
            required_min_rx_us: self.required_min_rx_us,
            required_min_echo_rx_us: self.required_min_echo_rx_us,
            auth: self.auth,
        }
    }
}

/// Parses the authentication section of a packet whose length (>= 26) is `bytes.len()`.
fn parse_auth(bytes: &[u8]) -> Result<Auth<'_>, RxError> {
    let length = bytes.len() as u8;
    let auth_type = bytes[HEADER_LEN];
    let auth_len = bytes[HEADER_LEN + 1];
    let kind = AuthType::from_u8(auth_type).ok_or(RxError::UnknownAuthType { auth_type })?;
    let bad = RxError::BadAuthLen {
        auth_type,
        auth_len,
        length,
    };
    let len_ok = match kind {
        AuthType::SimplePassword => (4..=3 + MAX_PASSWORD_LEN).contains(&usize::from(auth_len)),
        AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => usize::from(auth_len) == MD5_AUTH_LEN,
        AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => {
            usize::from(auth_len) == SHA1_AUTH_LEN
        }
    };
    if !len_ok || HEADER_LEN + usize::from(auth_len) != bytes.len() {
        return Err(bad);
    }
    let sec = &bytes[HEADER_LEN..];
    let key_id = sec[2];
    Ok(match kind {
        AuthType::SimplePassword => Auth::SimplePassword {
            key_id,
            password: &sec[3..],
        },
        AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => {
            let mut digest = [0; 16];
            digest.copy_from_slice(&sec[8..24]);
            Auth::KeyedMd5 {
                meticulous: kind.meticulous(),
                key_id,
                seq: be32(sec, 4),
                digest,
            }
        }
        AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => {
            let mut hash = [0; 20];
            hash.copy_from_slice(&sec[8..28]);
            Auth::KeyedSha1 {
                meticulous: kind.meticulous(),
                key_id,
                seq: be32(sec, 4),
                hash,
            }
        }
    })
}

/// A Control packet to emit. The A bit is set if and only if `auth` is `Some`; the M bit and
/// the version are fixed (0 and 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlRepr<'a> {
    pub diag: Diag,
    pub state: State,
    pub poll: bool,
    pub final_: bool,
    pub cpi: bool,
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub required_min_echo_rx_us: u32,
    pub auth: Option<Auth<'a>>,
}

impl ControlRepr<'_> {
    /// Bytes [`ControlRepr::emit`] writes.
    pub fn len(&self) -> usize {
        HEADER_LEN + self.auth.map_or(0, |a| a.auth_len())
    }

    /// Always false: a Control packet has at least 24 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the packet. Digests are written as given; use [`sign`] afterwards to compute
    /// them. A password longer than 16 bytes is refused as [`EmitError::PayloadTooLong`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        if let Some(Auth::SimplePassword { password, .. }) = self.auth {
            if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
                return Err(EmitError::PayloadTooLong {
                    len: password.len(),
                });
            }
        }
        let len = self.len();
        room(buf, len)?;
        buf[0] = (VERSION << 5) | (self.diag.to_bits() & 0x1f);
        buf[1] = (self.state.to_bits() << 6)
            | (u8::from(self.poll) << 5)
            | (u8::from(self.final_) << 4)
            | (u8::from(self.cpi) << 3)
            | (u8::from(self.auth.is_some()) << 2)
            | (u8::from(self.demand) << 1);
        buf[2] = self.detect_mult;
        buf[3] = len as u8;
        buf[4..8].copy_from_slice(&self.my_discr.to_be_bytes());
        buf[8..12].copy_from_slice(&self.your_discr.to_be_bytes());
        buf[12..16].copy_from_slice(&self.desired_min_tx_us.to_be_bytes());
        buf[16..20].copy_from_slice(&self.required_min_rx_us.to_be_bytes());
        buf[20..24].copy_from_slice(&self.required_min_echo_rx_us.to_be_bytes());
        if let Some(auth) = self.auth {
            let sec = &mut buf[HEADER_LEN..len];
            sec[0] = auth.auth_type() as u8;
            sec[1] = auth.auth_len() as u8;
            sec[2] = auth.key_id();
            match auth {
                Auth::SimplePassword { password, .. } => sec[3..].copy_from_slice(password),
                Auth::KeyedMd5 { seq, digest, .. } => {
                    sec[3] = 0;
                    sec[4..8].copy_from_slice(&seq.to_be_bytes());
                    sec[8..24].copy_from_slice(&digest);
                }
                Auth::KeyedSha1 { seq, hash, .. } => {
                    sec[3] = 0;
                    sec[4..8].copy_from_slice(&seq.to_be_bytes());
                    sec[8..28].copy_from_slice(&hash);
                }
            }
        }
        Ok(len)
    }
}

/// Computes the digest of a keyed MD5/SHA1 packet (`packet` = exactly its Length bytes) with
/// `key` (zero padded to 16 or 20 bytes, RFC 5880 §6.7.3/§6.7.4) in place of the digest.
/// `None` if the packet holds no keyed section or the key is too long.
fn keyed_digest(packet: &[u8], key: &[u8]) -> Option<([u8; 20], usize)> {
    if packet.len() < MIN_AUTH_LEN || packet[1] & 0x04 == 0 {
        return None;
    }
    let kind = AuthType::from_u8(packet[HEADER_LEN])?;
    let (dlen, total) = match kind {
        AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => (16, HEADER_LEN + MD5_AUTH_LEN),
        AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => (20, HEADER_LEN + SHA1_AUTH_LEN),
        AuthType::SimplePassword => return None,
    };
    if packet.len() != total || key.len() > dlen {
        return None;
    }
    let mut tmp = [0u8; MAX_LEN];
    tmp[..total].copy_from_slice(packet);
    let at = HEADER_LEN + 8;
    tmp[at..at + dlen].fill(0);
    tmp[at..at + key.len()].copy_from_slice(key);
    let mut out = [0u8; 20];
    if dlen == 16 {
        let mut h = Md5::new();
        h.update(&tmp[..total]);
        out[..16].copy_from_slice(&h.finalize());
    } else {
        out = sha1::sha1(&tmp[..total]);
    }
    Some((out, dlen))
}

/// Fills in the digest of an emitted keyed MD5/SHA1 packet (`packet` = its Length bytes).
/// Returns false (and leaves the packet alone) for other packets or a key that is too long.
pub fn sign(packet: &mut [u8], key: &[u8]) -> bool {
    match keyed_digest(packet, key) {
        Some((d, dlen)) => {
            let at = HEADER_LEN + 8;
            packet[at..at + dlen].copy_from_slice(&d[..dlen]);
            true
        }
        None => false,
    }
}

/// Checks the authentication data of a received packet against `key` (RFC 5880 §6.7.2-6.7.4):
/// the password for simple password, the digest for keyed MD5/SHA1. Sequence numbers and the
/// Key ID are the engine's business. Compares without early exit.
pub fn verify_auth(pkt: &ControlPacket<'_>, key: &[u8]) -> bool {
    match pkt.auth {
        None => false,
        Some(Auth::SimplePassword { password, .. }) => ct_eq(password, key),
        Some(Auth::KeyedMd5 { digest, .. }) => match keyed_digest(pkt.bytes, key) {
            Some((d, 16)) => ct_eq(&d[..16], &digest),
            _ => false,
        },
        Some(Auth::KeyedSha1 { hash, .. }) => match keyed_digest(pkt.bytes, key) {
            Some((d, 20)) => ct_eq(&d, &hash),
            _ => false,
        },
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// SHA-1 (RFC 3174), streaming, allocation-free, never panics. Only for RFC 5880 keyed SHA1.
pub mod sha1 {
    /// Length of a SHA-1 digest.
    pub const DIGEST_LEN: usize = 20;
    use crate::wire::block_hash::{Blocks, BLOCK_LEN};

    /// A streaming SHA-1 computation.
    #[derive(Clone)]
    pub struct Sha1 {
        h: [u32; 5],
        blocks: Blocks,
    }

    impl Default for Sha1 {
        fn default() -> Self {
            Sha1::new()
        }
    }

    impl Sha1 {
        pub fn new() -> Sha1 {
            Sha1 {
                h: [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0],
                blocks: Blocks::default(),
            }
        }

        pub fn update(&mut self, data: &[u8]) {
            let h = &mut self.h;
            self.blocks.update(data, &mut |b| compress(h, b));
        }

        /// Pads (the bit length big-endian) and returns the digest.
        pub fn finalize(mut self) -> [u8; DIGEST_LEN] {
            let h = &mut self.h;
            self.blocks.pad(true, &mut |b| compress(h, b));
            let mut out = [0; DIGEST_LEN];
            for (chunk, word) in out.chunks_mut(4).zip(self.h) {
                chunk.copy_from_slice(&word.to_be_bytes());
            }
            out
        }
    }

    /// SHA-1 of `data` in one call.
    pub fn sha1(data: &[u8]) -> [u8; DIGEST_LEN] {
        let mut h = Sha1::new();
        h.update(data);
        h.finalize()
    }

    /// One 64-byte block into `h` (RFC 3174 §6.1).
    fn compress(h: &mut [u32; 5], block: &[u8; BLOCK_LEN]) {
        let mut w = [0u32; 80];
        for (i, c) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = *h;
        for (t, wt) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(*wt)
                .wrapping_add(k);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (x, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(v);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn hex(d: &[u8]) -> String {
            d.iter().map(|b| format!("{b:02x}")).collect()
        }

        /// RFC 3174 §7.3 test vectors.
        #[test]
        fn rfc3174_vectors() {
            assert_eq!(
                hex(&sha1(b"abc")),
                "a9993e364706816aba3e25717850c26c9cd0d89d"
            );
            assert_eq!(
                hex(&sha1(
                    b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
                )),
                "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
            );
            let mut h = Sha1::new();
            for _ in 0..1_000_000 / 1000 {
                h.update(&[b'a'; 1000]);
            }
            assert_eq!(
                hex(&h.finalize()),
                "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
            );
            let mut h = Sha1::new();
            for _ in 0..10 {
                h.update(b"0123456701234567012345670123456701234567012345670123456701234567");
            }
            assert_eq!(
                hex(&h.finalize()),
                "dea356a2cddd90c7a7ecedc5ebb563934f460452"
            );
            assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ControlRepr<'static> {
        ControlRepr {
            diag: Diag::NoDiagnostic,
            state: State::Down,
            poll: false,
            final_: false,
            cpi: false,
            demand: false,
            detect_mult: 3,
            my_discr: 1,
            your_discr: 0,
            desired_min_tx_us: 1_000_000,
            required_min_rx_us: 10_000,
            required_min_echo_rx_us: 0,
            auth: None,
        }
    }

    #[test]
    fn roundtrip_plain_and_keyed() {
        let mut buf = [0u8; MAX_LEN];
        let n = base().emit(&mut buf).unwrap();
        assert_eq!(n, 24);
        let p = ControlPacket::parse(&buf[..n]).unwrap();
        assert_eq!(p.repr(), base());
        for (auth, key) in [
            (
                Auth::KeyedMd5 {
                    meticulous: true,
                    key_id: 2,
                    seq: 7,
                    digest: [0; 16],
                },
                &b"secret"[..],
            ),
            (
                Auth::KeyedSha1 {
                    meticulous: false,
                    key_id: 9,
                    seq: 70,
                    hash: [0; 20],
                },
                &b"sha-secret"[..],
            ),
        ] {
            let r = ControlRepr {
                auth: Some(auth),
                ..base()
            };
            let n = r.emit(&mut buf).unwrap();
            assert!(sign(&mut buf[..n], key));
            let p = ControlPacket::parse(&buf[..n]).unwrap();
            assert!(verify_auth(&p, key));
            assert!(!verify_auth(&p, b"other"));
        }
    }
}
