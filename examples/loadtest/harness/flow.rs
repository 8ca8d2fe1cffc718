//! One bot through the real flow: name server (encryption, Authenticate) →
//! master (Authenticate with the token, JoinGame join-or-create) → game server
//! (encryption with `--encrypt`, JoinGame with the token). See `transport::lb`.

use bytes::Bytes;
use std::time::Duration;
use transport::codec::{Limits, Message, OperationRequest, OperationResponse, Parameters, Value};
use transport::lb::{error, join_mode, op, param};
use transport::runtime::{Client, ClientConfig, ClientEvents};
use transport::{ConnectionEvent, SendOptions};

/// How long one answer (or the key exchange) may take.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// What a bot needs to enter its room.
#[derive(Debug, Clone)]
pub struct FlowSettings {
    /// Name server URL (`udp://host:5058`, `ws://host:9093/NameServer`, ...).
    pub name_url: String,
    /// Application id sent to the name server.
    pub app_id: String,
    /// Application version.
    pub app_version: String,
    /// Establish encryption on the game server (for encrypted frames).
    pub encrypt_game: bool,
    /// Transport client settings (TLS trust for WSS, connect timeout).
    pub client: ClientConfig,
}

/// A bot in its room.
#[derive(Debug)]
pub struct Joined {
    /// The game server connection.
    pub client: Client,
    /// Its events (voice frames arrive here).
    pub events: ClientEvents,
    /// The bot's actor number.
    pub actor: i32,
}

/// A connection with the messages it received, decoded.
struct Link {
    client: Client,
    events: ClientEvents,
    what: &'static str,
}

impl Link {
    async fn connect(url: &str, config: &ClientConfig, what: &'static str) -> Result<Link, String> {
        let (client, events) = Client::connect(url, config.clone())
            .await
            .map_err(|e| format!("{what} {url}: {e}"))?;
        Ok(Link {
            client,
            events,
            what,
        })
    }

    async fn encrypt(&mut self) -> Result<(), String> {
        if self.client.protocol().is_secure() {
            return Ok(());
        }
        self.client.establish_encryption();
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        while !self.client.is_encryption_established() {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ConnectionEvent::EncryptionEstablished)) => break,
                Ok(Some(ConnectionEvent::EncryptionFailedToEstablish(e))) => {
                    return Err(format!("{}: encryption failed: {e}", self.what))
                }
                Ok(Some(ConnectionEvent::Disconnected(reason))) => {
                    return Err(format!(
                        "{}: disconnected during the key exchange: {reason:?}",
                        self.what
                    ))
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err(format!("{}: disconnected", self.what)),
                Err(_) => {
                    return Err(format!(
                        "{}: no key exchange answer within {ANSWER_TIMEOUT:?}",
                        self.what
                    ))
                }
            }
        }
        Ok(())
    }

    /// Sends a request and waits for its response (other messages are skipped:
    /// join events, lobby lists).
    async fn request(
        &mut self,
        code: u8,
        parameters: Parameters,
        encrypt: bool,
    ) -> Result<OperationResponse, String> {
        let mut buf = Vec::new();
        Message::Request(OperationRequest { code, parameters })
            .encode(&mut buf, &Limits::default())
            .map_err(|e| format!("{}: encoding {}: {e}", self.what, op::name(code)))?;
        self.client
            .send(Bytes::from(buf), SendOptions::RELIABLE.encrypted(encrypt))
            .map_err(|e| format!("{}: sending {}: {e}", self.what, op::name(code)))?;
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ConnectionEvent::Message(m))) => {
                    if let Ok(Message::Response(r)) =
                        Message::decode(&m.payload, &Limits::default())
                    {
                        if r.code == code {
                            if r.return_code != 0 {
                                return Err(format!(
                                    "{}: {} refused: {} ({}): {}",
                                    self.what,
                                    op::name(code),
                                    error::name(r.return_code),
                                    r.return_code,
                                    r.debug_message.as_deref().unwrap_or("")
                                ));
                            }
                            return Ok(r);
                        }
                    }
                }
                Ok(Some(ConnectionEvent::Disconnected(reason))) => {
                    return Err(format!(
                        "{}: disconnected waiting for {}: {reason:?}",
                        self.what,
                        op::name(code)
                    ))
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err(format!("{}: disconnected", self.what)),
                Err(_) => {
                    return Err(format!(
                        "{}: no answer to {} within {ANSWER_TIMEOUT:?}",
                        self.what,
                        op::name(code)
                    ))
                }
            }
        }
    }
}

fn string_param(r: &OperationResponse, key: u8, what: &str) -> Result<String, String> {
    r.parameters
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("{what}: answer without parameter {key}"))
}

fn bytes_param(r: &OperationResponse, key: u8, what: &str) -> Result<Vec<u8>, String> {
    r.parameters
        .get(key)
        .and_then(Value::as_bytes)
        .map(|b| b.to_vec())
        .ok_or_else(|| format!("{what}: answer without parameter {key}"))
}

/// Runs the whole flow for one bot: returns its game connection in `room`.
pub async fn enter_room(settings: &FlowSettings, user: &str, room: &str) -> Result<Joined, String> {
    // 1. Name server: encryption, then Authenticate (encrypted).
    let mut name = Link::connect(&settings.name_url, &settings.client, "name server").await?;
    name.encrypt().await?;
    let auth = Parameters::new()
        .with(param::APPLICATION_ID, settings.app_id.as_str())
        .with(param::APP_VERSION, settings.app_version.as_str())
        .with(param::USER_ID, user);
    let r = name.request(op::AUTHENTICATE, auth, true).await?;
    let master_url = string_param(&r, param::ADDRESS, "name server")?;
    let token = bytes_param(&r, param::TOKEN, "name server")?;
    name.client.disconnect();

    // 2. Master: Authenticate with the token, JoinGame (join or create).
    let mut master = Link::connect(&master_url, &settings.client, "master").await?;
    master
        .request(
            op::AUTHENTICATE,
            Parameters::new().with(param::TOKEN, token),
            false,
        )
        .await?;
    let join = Parameters::new()
        .with(param::ROOM_NAME, room)
        .with(param::JOIN_MODE, join_mode::CREATE_IF_NOT_EXISTS);
    let r = master.request(op::JOIN_GAME, join, false).await?;
    let game_url = string_param(&r, param::ADDRESS, "master")?;
    let token = bytes_param(&r, param::TOKEN, "master")?;
    master.client.disconnect();

    // 3. Game server: encryption if frames are encrypted, JoinGame with the token.
    let mut game = Link::connect(&game_url, &settings.client, "game server").await?;
    if settings.encrypt_game {
        game.encrypt().await?;
    }
    let join = Parameters::new()
        .with(param::ROOM_NAME, room)
        .with(param::JOIN_MODE, join_mode::CREATE_IF_NOT_EXISTS)
        .with(param::TOKEN, token);
    let r = game.request(op::JOIN_GAME, join, false).await?;
    let actor = r
        .parameters
        .get(param::ACTOR_NR)
        .and_then(Value::as_i64)
        .ok_or("game server: join answer without an actor number")? as i32;
    Ok(Joined {
        client: game.client,
        events: game.events,
        actor,
    })
}
