//! Transport configuration: plain structs with documented defaults.

use std::time::Duration;

/// Smallest MTU accepted (Photon's minimum).
pub const MIN_MTU: u16 = 576;
/// Default MTU: datagram payload bytes (Photon's default).
pub const DEFAULT_MTU: u16 = 1200;

/// Settings of one connection (both sides). Shared as `Arc<TransportConfig>`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportConfig {
    /// Largest UDP payload this side sends. Defaults to 1200 bytes; at least
    /// [`MIN_MTU`]. The smaller of both sides' values is used. Cost: larger values
    /// fragment less but risk IP fragmentation on poor routes.
    pub mtu: u16,
    /// Channels requested, each sequenced on its own. Defaults to 2. Cost: per-channel
    /// sequencing state (~100 bytes each).
    pub channel_count: u8,
    /// Idle time after which a ping is sent. Defaults to 1 s (Photon's `TimePingInterval`).
    pub ping_interval: Duration,
    /// Silence after which the peer is declared gone. Defaults to 10 s (Photon's `DisconnectTimeout`).
    pub disconnect_timeout: Duration,
    /// Times a reliable command is sent before the peer is disconnected. Defaults
    /// to 7 (Photon's `SentCountAllowance`).
    pub resend_allowance: u8,
    /// Lower bound of the resend timeout. Defaults to 50 ms.
    pub min_resend_timeout: Duration,
    /// Upper bound of the first resend timeout before backoff. Defaults to 400 ms
    /// (Photon's `InitialResendTimeMax`).
    pub max_initial_resend_timeout: Duration,
    /// Add a CRC32 to each datagram and drop mismatching ones. Defaults to off:
    /// UDP's checksum already covers most corruption. Cost: 4 bytes per datagram.
    pub crc: bool,
    /// Encrypt every datagram after its lean header once encryption is
    /// established. Defaults to off (per-message encryption on demand). Cost: 24
    /// bytes and one AES-GCM pass per datagram.
    pub encrypt_all: bool,
    /// Most reliable commands in flight per channel before further ones queue.
    /// Defaults to 512.
    pub reliable_window: u16,
    /// Most bytes of incomplete fragmented messages held per peer. Defaults to
    /// 1 MiB (two maximum-size messages). Cost: memory per peer under attack.
    pub max_reassembly_bytes: usize,
    /// Largest message accepted or sent. Defaults to 512 KiB.
    pub max_message_size: usize,
    /// Most bytes of reliable messages waiting for one peer (queued, or sent
    /// and not yet acknowledged). A peer that falls further behind is
    /// disconnected (`SendBacklogFull`, status 1030) instead of growing this
    /// side's memory without bound. Defaults to 2 MiB (four maximum-size
    /// messages); keep it at least `max_message_size`. Cost: memory per slow
    /// peer, up to this much.
    pub max_reliable_backlog: usize,
    /// How long outgoing unreliable commands may wait to share a datagram with
    /// others bound for the same peer. Defaults to zero (flush at once).
    pub flush_window: Duration,
    /// Network simulation (lag, jitter, loss) applied by this side. Defaults to off.
    pub simulation: NetworkSimulation,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            mtu: DEFAULT_MTU,
            channel_count: 2,
            ping_interval: Duration::from_secs(1),
            disconnect_timeout: Duration::from_secs(10),
            resend_allowance: 7,
            min_resend_timeout: Duration::from_millis(50),
            max_initial_resend_timeout: Duration::from_millis(400),
            crc: false,
            encrypt_all: false,
            reliable_window: 512,
            max_reassembly_bytes: 1024 * 1024,
            max_message_size: 512 * 1024,
            max_reliable_backlog: 2 * 1024 * 1024,
            flush_window: Duration::ZERO,
            simulation: NetworkSimulation::default(),
        }
    }
}

/// Built-in network simulation (Photon's `NetworkSimulationSet`), usable at run
/// time from configuration. Applied to datagrams in the sans-IO core, so it
/// works the same in tests and in production drivers.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSimulation {
    /// Master switch. Defaults to off.
    pub enabled: bool,
    /// Delay added to outgoing datagrams. Defaults to 0.
    pub outgoing_lag: Duration,
    /// Random extra delay (uniform 0..=jitter) on outgoing datagrams; reorders them. Defaults to 0.
    pub outgoing_jitter: Duration,
    /// Percentage (0-100) of outgoing datagrams dropped. Defaults to 0.
    pub outgoing_loss_percent: f32,
    /// Delay added to incoming datagrams. Defaults to 0.
    pub incoming_lag: Duration,
    /// Random extra delay on incoming datagrams. Defaults to 0.
    pub incoming_jitter: Duration,
    /// Percentage (0-100) of incoming datagrams dropped. Defaults to 0.
    pub incoming_loss_percent: f32,
    /// Seed of the simulation's random numbers. Defaults to 1.
    pub seed: u64,
}

impl Default for NetworkSimulation {
    fn default() -> Self {
        Self {
            enabled: false,
            outgoing_lag: Duration::ZERO,
            outgoing_jitter: Duration::ZERO,
            outgoing_loss_percent: 0.0,
            incoming_lag: Duration::ZERO,
            incoming_jitter: Duration::ZERO,
            incoming_loss_percent: 0.0,
            seed: 1,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The MTU is below [`MIN_MTU`].
    #[error(
        "mtu {0} is below the minimum of 576 bytes; raise it to at least 576 (1200 is the default)"
    )]
    MtuTooSmall(u16),
    /// No channels.
    #[error("channel_count must be at least 1 (2 is the default)")]
    NoChannels,
    /// A loss percentage outside 0..=100.
    #[error("loss percentage must be between 0 and 100")]
    LossOutOfRange,
    /// Disconnect timeout of zero.
    #[error("disconnect_timeout must be above zero (10 s is the default)")]
    ZeroTimeout,
}

impl TransportConfig {
    /// Checks the values and says which one is wrong and how to fix it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.mtu < MIN_MTU {
            return Err(ConfigError::MtuTooSmall(self.mtu));
        }
        if self.channel_count == 0 {
            return Err(ConfigError::NoChannels);
        }
        if self.disconnect_timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        let sim = &self.simulation;
        for loss in [sim.outgoing_loss_percent, sim.incoming_loss_percent] {
            if !(0.0..=100.0).contains(&loss) {
                return Err(ConfigError::LossOutOfRange);
            }
        }
        Ok(())
    }
}
