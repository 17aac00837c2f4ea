//! Counters: one per drop reason for the whole set (the packet-level [`RxError`] variants
//! and the engine's own reasons), receive and transmit totals, and per-session counters.

use crate::wire::bfd::RxError;

/// Why a received datagram was dropped. The first twelve mirror [`RxError`] (packet-level
/// checks of RFC 5880 §6.8.6); the rest are the engine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    Truncated,
    BadVersion,
    BadLength,
    LengthExceedsPayload,
    ZeroDetectMult,
    Multipoint,
    ZeroMyDiscr,
    ZeroYourDiscr,
    PollAndFinal,
    BadDiag,
    UnknownAuthType,
    BadAuthLen,
    /// Received on a port that is neither 3784 nor 4784.
    BadPort,
    /// No session has Your Discriminator, or (when it is 0) the source and destination.
    NoSession,
    /// The session found by Your Discriminator is single hop and the packet came to the
    /// multihop port, or the reverse.
    PortMismatch,
    /// The session found by Your Discriminator has another neighbour address.
    AddrMismatch,
    /// GTSM: received TTL / hop limit + max_hops below the session's TTL (keepalived's
    /// `bfd_check_packet_ttl`).
    Ttl,
    /// A bit set without authentication configured, clear with it, or another Auth Type
    /// (RFC 5880 §6.8.6).
    AuthMismatch,
    /// Wrong Key ID, password or digest (RFC 5880 §6.7).
    AuthFailed,
    /// Keyed MD5/SHA1 sequence number outside the accepted window (RFC 5880 §6.7.3).
    AuthSeq,
    /// The session is AdminDown (RFC 5880 §6.8.6 "discard the packet").
    AdminDown,
}

impl DropReason {
    pub const COUNT: usize = 21;
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::Truncated,
        DropReason::BadVersion,
        DropReason::BadLength,
        DropReason::LengthExceedsPayload,
        DropReason::ZeroDetectMult,
        DropReason::Multipoint,
        DropReason::ZeroMyDiscr,
        DropReason::ZeroYourDiscr,
        DropReason::PollAndFinal,
        DropReason::BadDiag,
        DropReason::UnknownAuthType,
        DropReason::BadAuthLen,
        DropReason::BadPort,
        DropReason::NoSession,
        DropReason::PortMismatch,
        DropReason::AddrMismatch,
        DropReason::Ttl,
        DropReason::AuthMismatch,
        DropReason::AuthFailed,
        DropReason::AuthSeq,
        DropReason::AdminDown,
    ];

    /// Counter name (snake case).
    pub fn name(self) -> &'static str {
        let i = self as usize;
        if i < RxError::COUNT {
            return RxError::NAMES[i];
        }
        match self {
            DropReason::BadPort => "bad_port",
            DropReason::NoSession => "no_session",
            DropReason::PortMismatch => "port_mismatch",
            DropReason::AddrMismatch => "addr_mismatch",
            DropReason::Ttl => "ttl",
            DropReason::AuthMismatch => "auth_mismatch",
            DropReason::AuthFailed => "auth_failed",
            DropReason::AuthSeq => "auth_seq",
            _ => "admin_down",
        }
    }
}

impl From<&RxError> for DropReason {
    fn from(e: &RxError) -> DropReason {
        DropReason::ALL[e.index()]
    }
}

/// Counters of a whole [`super::BfdSet`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams given to `handle`.
    pub rx_packets: u64,
    /// Datagrams that passed every check and were processed by a session.
    pub rx_accepted: u64,
    /// Packets sent (every `Action::Send`).
    pub tx_packets: u64,
    /// Of which Final replies to a Poll.
    pub tx_final: u64,
    /// State changes of all sessions.
    pub state_changes: u64,
    drops: [u64; DropReason::COUNT],
}

impl Stats {
    /// The counter of one drop reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// All drops.
    pub fn dropped_total(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Every drop counter with its name, in [`DropReason::ALL`] order.
    pub fn drops(&self) -> impl Iterator<Item = (DropReason, &'static str, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(move |&r| (r, r.name(), self.drops[r as usize]))
    }

    pub(crate) fn drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }
}

/// Counters of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionCounters {
    /// Valid packets processed by the session.
    pub rx: u64,
    pub tx: u64,
    /// Drops after the session was found (TTL, auth, AdminDown, address or port mismatch).
    pub rx_dropped: u64,
    /// Times the session entered Up.
    pub up: u64,
    /// Times the session left Up.
    pub down: u64,
    /// Detection time expiries (Init or Up to Down with diag 1).
    pub detect_expired: u64,
    /// Poll Sequences completed (Final received).
    pub polls_completed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unique_and_wire_aligned() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        assert_eq!(
            DropReason::from(&RxError::ZeroMyDiscr),
            DropReason::ZeroMyDiscr
        );
        assert_eq!(
            DropReason::from(&RxError::BadAuthLen {
                auth_type: 1,
                auth_len: 0,
                length: 26
            }),
            DropReason::BadAuthLen
        );
    }
}
