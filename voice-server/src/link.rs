//! The game server's link to a master running in another process.
//!
//! A transport client that, once connected, establishes encryption (X25519 +
//! AES-256-GCM per message; TLS already counts on `tls://` and `wss://`), then
//! sends every [`GameReport`] as a `GameServerReport` (200) request, encrypted,
//! whose only parameter is the report sealed under the deployment secret
//! ([`GameReport::to_request`]). The master thus knows the sender holds the
//! secret, nobody on the path can read or forge a report, and a replayed one
//! is refused (`issued_ms` strictly increases). The game logic reports its
//! load every second, so a master that hears nothing for its
//! `game_server_timeout` retires this server. When the link drops it
//! reconnects every second and re-sends a full report.

use crate::game::GameCommand;
use crate::report::GameReport;
use crate::token::{TokenKey, UnixClock};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use transport::codec::{Limits, Message};
use transport::runtime::{Client, ClientConfig, ClientEvents, ServerControl};
use transport::{ConnectionEvent, Protocol, SendOptions};

/// Pause between connection attempts.
const RETRY: Duration = Duration::from_secs(1);
/// How long the key exchange may take before the link gives up and reconnects.
const ENCRYPTION_DEADLINE: Duration = Duration::from_secs(5);

/// What the link needs.
pub struct MasterLink {
    /// The master's URLs by protocol (TCP preferred, then WS, then UDP).
    pub master_urls: Vec<(Protocol, String)>,
    /// This game server's id (must match its reports).
    pub server_id: String,
    /// Seals server tokens.
    pub key: TokenKey,
    /// Wall clock of tokens.
    pub clock: Arc<dyn UnixClock>,
    /// Asks the game logic for a full report after (re)connecting.
    pub game: ServerControl<GameCommand>,
    /// Transport settings of the link (TLS trust for `tls://`/`wss://` masters).
    pub client: ClientConfig,
}

impl MasterLink {
    fn url(&self) -> Option<String> {
        [Protocol::Tcp, Protocol::Ws, Protocol::Udp, Protocol::Wss]
            .into_iter()
            .find_map(|p| {
                self.master_urls
                    .iter()
                    .find(|(q, _)| *q == p)
                    .map(|(_, u)| u.clone())
            })
    }

    /// `issued_ms` of the next report: the wall clock, but always after the last.
    fn next_issued_ms(&self, last: &mut u64) -> u64 {
        let now = self.clock.unix_ms(Instant::now()).max(*last + 1);
        *last = now;
        now
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(
        self,
        mut reports: mpsc::UnboundedReceiver<GameReport>,
        mut shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let Some(url) = self.url() else {
            tracing::warn!("no master address configured: room reports go nowhere; add [[master.listeners]] to the configuration");
            let _ = shutdown.wait_for(|v| *v).await;
            return Ok(());
        };
        let mut warned = false;
        let mut last_issued_ms = 0;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let connected = tokio::select! {
                c = Client::connect(&url, self.client.clone()) => c,
                _ = shutdown.wait_for(|v| *v) => return Ok(()),
            };
            let (client, mut events) = match connected {
                Ok(c) => c,
                Err(e) => {
                    if !warned {
                        tracing::warn!(%url, %e, "cannot reach the master; retrying every second");
                        warned = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY) => continue,
                        _ = shutdown.wait_for(|v| *v) => return Ok(()),
                    }
                }
            };
            if !wait_for_encryption(&client, &mut events).await {
                tracing::warn!(%url, "the master link could not establish encryption; reconnecting");
                client.disconnect();
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => continue,
                    _ = shutdown.wait_for(|v| *v) => return Ok(()),
                }
            }
            tracing::info!(%url, server_id = %self.server_id, "linked to the master (encrypted)");
            warned = false;
            // Reports queued while disconnected are stale: the full one replaces them.
            while reports.try_recv().is_ok() {}
            let _ = self.game.command(GameCommand::ReportAll);
            loop {
                tokio::select! {
                    report = reports.recv() => {
                        let Some(report) = report else { return Ok(()) };
                        let mut buf = Vec::new();
                        let issued_ms = self.next_issued_ms(&mut last_issued_ms);
                        let request = Message::Request(report.to_request(&self.key, issued_ms));
                        if let Err(e) = request.encode(&mut buf, &Limits::default()) {
                            tracing::warn!(%e, "report not encodable; dropped");
                            continue;
                        }
                        if client.send(Bytes::from(buf), SendOptions::RELIABLE.encrypted(true)).is_err() {
                            break;
                        }
                    }
                    event = events.recv() => match event {
                        None | Some(ConnectionEvent::Disconnected(_)) => break,
                        Some(ConnectionEvent::Message(m)) => {
                            if let Ok(Message::Response(r)) = Message::decode(&m.payload, &Limits::default()) {
                                let wants_full = r.return_code == 0
                                    && r.parameters.get(transport::lb::param::DATA).and_then(|v| v.as_str())
                                        == Some(crate::master::FULL_REPORT_PLEASE);
                                if wants_full {
                                    let _ = self.game.command(GameCommand::ReportAll);
                                } else {
                                    tracing::warn!(code = r.return_code, message = ?r.debug_message, "the master refused a report");
                                }
                            }
                        }
                        Some(_) => {}
                    },
                    _ = shutdown.wait_for(|v| *v) => {
                        client.disconnect();
                        return Ok(());
                    }
                }
            }
            tracing::warn!(%url, "link to the master lost; reconnecting");
            tokio::select! {
                _ = tokio::time::sleep(RETRY) => {}
                _ = shutdown.wait_for(|v| *v) => return Ok(()),
            }
        }
    }
}

/// Starts the key exchange and waits (bounded) until encrypted sends are possible.
async fn wait_for_encryption(client: &Client, events: &mut ClientEvents) -> bool {
    client.establish_encryption();
    let deadline = tokio::time::Instant::now() + ENCRYPTION_DEADLINE;
    while !client.is_encryption_established() {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(ConnectionEvent::Disconnected(_))) | Ok(None) | Err(_) => return false,
            Ok(Some(_)) => {}
        }
    }
    true
}
