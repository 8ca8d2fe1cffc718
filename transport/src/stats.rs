//! Traffic statistics per connection (Photon's `TrafficStats`).

use std::time::Duration;

/// Counters of one connection. All counters only grow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Bytes of datagrams/frames sent, protocol headers included.
    pub bytes_out: u64,
    /// Bytes of datagrams/frames received, protocol headers included.
    pub bytes_in: u64,
    /// Datagrams/frames sent.
    pub datagrams_out: u64,
    /// Datagrams/frames received.
    pub datagrams_in: u64,
    /// Messages sent, by delivery mode: reliable ordered, reliable unsequenced,
    /// unreliable sequenced, unreliable unsequenced.
    pub messages_out: [u64; 4],
    /// Messages delivered to the application, by delivery mode (same order).
    pub messages_in: [u64; 4],
    /// Encrypted messages sent.
    pub encrypted_out: u64,
    /// Encrypted messages received and opened.
    pub encrypted_in: u64,
    /// Reliable commands sent again.
    pub resends: u64,
    /// Datagrams sent by us that are known or presumed lost (resent).
    pub lost_datagrams: u64,
    /// Datagrams dropped because their CRC did not match.
    pub crc_failures: u64,
    /// Messages rejected by decryption (tampered or wrong key).
    pub decrypt_failures: u64,
    /// Messages rejected as replays.
    pub replays_rejected: u64,
    /// Unreliable sequenced messages dropped because a newer one was delivered.
    pub stale_dropped: u64,
    /// Datagrams dropped by the network simulation.
    pub simulated_losses: u64,
    /// Fragments refused because the reassembly memory bound was reached
    /// (`max_reassembly_bytes`); the sender has to resend them later.
    pub reassembly_rejected: u64,
    /// Unreliable datagrams dropped unsent because too many were waiting for
    /// `poll_transmit` (the driver fell behind; realtime data, oldest first).
    pub unreliable_dropped: u64,
    /// Smoothed round-trip time.
    pub rtt: Duration,
    /// Round-trip time variance (mean deviation).
    pub rtt_variance: Duration,
}
