//! The game server's link to a master running in another process: a
//! transport client that sends every [`GameReport`] as a
//! `GameServerReport` (200) request authenticated by a server token, and
//! reconnects (then re-sends a full report) when the link drops.

use crate::game::GameCommand;
use crate::report::{GameReport, SERVER_APP_ID};
use crate::token::{TokenClaims, TokenKey, UnixClock};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use transport::codec::{Limits, Message};
use transport::runtime::{Client, ClientConfig, ServerControl};
use transport::{ConnectionEvent, Protocol, SendOptions};

/// Pause between connection attempts.
const RETRY: Duration = Duration::from_secs(1);

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

    fn server_token(&self) -> Vec<u8> {
        let now = self.clock.unix_ms(Instant::now());
        self.key.seal(&TokenClaims {
            user_id: self.server_id.clone(),
            app_id: SERVER_APP_ID.into(),
            app_version: String::new(),
            auth_values: String::new(),
            issued_ms: now,
            expires_ms: now + 60_000,
            data: serde_json::Value::Null,
        })
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
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let connected = tokio::select! {
                c = Client::connect(&url, ClientConfig::default()) => c,
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
            tracing::info!(%url, server_id = %self.server_id, "linked to the master");
            warned = false;
            let _ = self.game.command(GameCommand::ReportAll);
            loop {
                tokio::select! {
                    report = reports.recv() => {
                        let Some(report) = report else { return Ok(()) };
                        let mut buf = Vec::new();
                        let request = Message::Request(report.to_request(self.server_token()));
                        if let Err(e) = request.encode(&mut buf, &Limits::default()) {
                            tracing::warn!(%e, "report not encodable; dropped");
                            continue;
                        }
                        if client.send(Bytes::from(buf), SendOptions::RELIABLE).is_err() {
                            break;
                        }
                    }
                    event = events.recv() => match event {
                        None | Some(ConnectionEvent::Disconnected(_)) => break,
                        Some(ConnectionEvent::Message(m)) => {
                            if let Ok(Message::Response(r)) = Message::decode(&m.payload, &Limits::default()) {
                                tracing::warn!(code = r.return_code, message = ?r.debug_message, "the master refused a report");
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
