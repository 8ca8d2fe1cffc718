//! A small load-balancing test client over `transport::runtime::Client`, and a
//! deployment on loopback with free ports. (The real client library lives in
//! voice-client; this one only does what the tests need.)

#![allow(dead_code)]

use bytes::Bytes;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use transport::codec::{
    EventData, Limits, Message, OperationRequest, OperationResponse, Parameters, RawEvent,
    RawRouting, RawSend, ReceiverGroup, Value,
};
use transport::lb::{op, param};
use transport::runtime::{Client, ClientConfig, ClientEvents};
use transport::{ConnectionEvent, Protocol, SendOptions};
use voice_server::config::{Config, Role};
use voice_server::run::{start, Deployment, StartOptions};
use voice_server::token::UnixClock;

/// Every e2e test body runs under this guard: never hangs the suite.
pub async fn guard<F: Future<Output = ()>>(body: F) {
    tokio::time::timeout(Duration::from_secs(60), body)
        .await
        .expect("test timed out after 60 s");
}

/// How long to wait for one expected answer.
pub const WAIT: Duration = Duration::from_secs(5);

/// The embedded default on 127.0.0.1 with port 0 everywhere and no TLS.
pub fn local_config() -> Config {
    Config::loopback()
}

/// A certificate made like `voice-server gen-cert` (localhost, 127.0.0.1,
/// ::1) written to `dir/server.pem`; returns the authority file clients trust.
pub fn gen_cert(dir: &std::path::Path) -> std::path::PathBuf {
    use transport::runtime::tls::{generate_self_signed, write_generated, GenCertOptions};
    let cert = generate_self_signed(&GenCertOptions::default()).unwrap();
    let files = write_generated(&cert, &dir.join("server.pem"), None).unwrap();
    files
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with("-ca.pem"))
        .expect("gen-cert writes an authority file")
}

/// Starts a deployment of all roles.
pub async fn deploy(config: Config, clock: Option<Arc<dyn UnixClock>>) -> Deployment {
    let mut options = StartOptions::default();
    if let Some(clock) = clock {
        options.clock = clock;
    }
    start(config, options).await.expect("deployment starts")
}

/// TLS trust used by every `TestClient::connect` of this test binary (WSS tests).
pub static CLIENT_TLS: std::sync::OnceLock<transport::runtime::tls::ClientTlsConfig> =
    std::sync::OnceLock::new();

/// A connected test client.
pub struct TestClient {
    pub client: Client,
    events: ClientEvents,
    pending: VecDeque<Message>,
    pub disconnected: bool,
}

impl TestClient {
    pub async fn connect(url: &str) -> TestClient {
        let config = ClientConfig {
            tls: CLIENT_TLS.get().cloned().unwrap_or_default(),
            ..ClientConfig::default()
        };
        let (client, events) = Client::connect(url, config)
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}"));
        TestClient {
            client,
            events,
            pending: VecDeque::new(),
            disconnected: false,
        }
    }

    /// Establishes encryption and waits for it.
    pub async fn encrypt(&mut self) {
        self.client.establish_encryption();
        let deadline = tokio::time::Instant::now() + WAIT;
        while !self.client.is_encryption_established() {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ConnectionEvent::Message(m))) => {
                    if let Ok(msg) = Message::decode(&m.payload, &Limits::default()) {
                        self.pending.push_back(msg);
                    }
                }
                Ok(Some(ConnectionEvent::EncryptionEstablished)) => break,
                Ok(Some(ConnectionEvent::EncryptionFailedToEstablish(e))) => {
                    panic!("encryption failed: {e}")
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("disconnected while establishing encryption"),
                Err(_) => panic!("encryption not established in time"),
            }
        }
    }

    pub fn send_message(&self, message: &Message, options: SendOptions) {
        let mut buf = Vec::new();
        message
            .encode(&mut buf, &Limits::default())
            .expect("encodes");
        self.client
            .send(Bytes::from(buf), options)
            .expect("send queued");
    }

    pub fn send_request(&self, code: u8, parameters: Parameters, options: SendOptions) {
        self.send_message(
            &Message::Request(OperationRequest { code, parameters }),
            options,
        );
    }

    /// The next message matching `pick` (others are kept for later), or None in time.
    pub async fn next_matching<T>(
        &mut self,
        wait: Duration,
        mut pick: impl FnMut(&Message) -> Option<T>,
    ) -> Option<T> {
        if let Some(i) = self.pending.iter().position(|m| pick(m).is_some()) {
            let m = self.pending.remove(i).expect("index exists");
            return pick(&m);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ConnectionEvent::Message(m))) => {
                    match Message::decode(&m.payload, &Limits::default()) {
                        Ok(msg) => match pick(&msg) {
                            Some(t) => return Some(t),
                            None => self.pending.push_back(msg),
                        },
                        Err(e) => panic!("server sent an undecodable message: {e}"),
                    }
                }
                Ok(Some(ConnectionEvent::Disconnected(_))) | Ok(None) => {
                    self.disconnected = true;
                    return None;
                }
                Ok(Some(_)) => {}
                Err(_) => return None,
            }
        }
    }

    pub async fn response(&mut self, code: u8) -> OperationResponse {
        self.next_matching(WAIT, |m| match m {
            Message::Response(r) if r.code == code => Some(r.clone()),
            _ => None,
        })
        .await
        .unwrap_or_else(|| panic!("no response to operation {code}"))
    }

    /// Any response (e.g. to a malformed message, code 0).
    pub async fn any_response(&mut self) -> Option<OperationResponse> {
        self.next_matching(WAIT, |m| match m {
            Message::Response(r) => Some(r.clone()),
            _ => None,
        })
        .await
    }

    pub async fn request(&mut self, code: u8, parameters: Parameters) -> OperationResponse {
        self.send_request(code, parameters, SendOptions::RELIABLE);
        self.response(code).await
    }

    pub async fn request_encrypted(
        &mut self,
        code: u8,
        parameters: Parameters,
    ) -> OperationResponse {
        self.send_request(code, parameters, SendOptions::RELIABLE.encrypted(true));
        self.response(code).await
    }

    pub async fn event(&mut self, code: u8) -> EventData {
        self.try_event(code, WAIT)
            .await
            .unwrap_or_else(|| panic!("no event {code}"))
    }

    pub async fn try_event(&mut self, code: u8, wait: Duration) -> Option<EventData> {
        self.next_matching(wait, |m| match m {
            Message::Event(e) if e.code == code => Some(e.clone()),
            _ => None,
        })
        .await
    }

    pub async fn raw_event(&mut self, wait: Duration) -> Option<RawEvent> {
        self.next_matching(wait, |m| match m {
            Message::RawEvent(e) => Some(e.clone()),
            _ => None,
        })
        .await
    }

    pub fn send_raw(
        &self,
        payload: &[u8],
        receivers: ReceiverGroup,
        targets: Vec<i32>,
        options: SendOptions,
    ) {
        let raw = RawSend {
            routing: RawRouting {
                receivers,
                interest_group: 0,
                target_count: targets.len() as u8,
            },
            targets,
            payload: Bytes::copy_from_slice(payload),
        };
        self.send_message(&Message::RawSend(raw), options);
    }
}

pub fn str_param(r: &OperationResponse, key: u8) -> &str {
    r.parameters
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("parameter {key} in {r:?}"))
}

pub fn bytes_param(r: &OperationResponse, key: u8) -> Vec<u8> {
    r.parameters
        .get(key)
        .and_then(Value::as_bytes)
        .unwrap_or_else(|| panic!("parameter {key} in {r:?}"))
        .to_vec()
}

/// Name server authentication over `protocol`; returns (master URL, token).
pub async fn authenticate(d: &Deployment, protocol: Protocol, user: &str) -> (String, Vec<u8>) {
    let mut name = TestClient::connect(&d.url(Role::Name, protocol).expect("name listener")).await;
    name.encrypt().await;
    let params = Parameters::new()
        .with(param::APPLICATION_ID, "app")
        .with(param::APP_VERSION, "1")
        .with(param::USER_ID, user);
    let r = name.request_encrypted(op::AUTHENTICATE, params).await;
    assert_eq!(r.return_code, 0, "{r:?}");
    let result = (
        str_param(&r, param::ADDRESS).to_owned(),
        bytes_param(&r, param::TOKEN),
    );
    name.client.disconnect();
    result
}

/// Connects to the master with a token.
pub async fn master(url: &str, token: &[u8]) -> TestClient {
    let mut m = TestClient::connect(url).await;
    let r = m
        .request(
            op::AUTHENTICATE,
            Parameters::new().with(param::TOKEN, token.to_vec()),
        )
        .await;
    assert_eq!(r.return_code, 0, "{r:?}");
    m
}

/// Name server, then the master's answer to `code` (create or join `room`):
/// the game server's address and token, or an error code.
pub async fn master_answer(
    d: &Deployment,
    protocol: Protocol,
    user: &str,
    code: u8,
    room: &str,
) -> OperationResponse {
    let (master_url, token) = authenticate(d, protocol, user).await;
    let mut m = master(&master_url, &token).await;
    let r = m
        .request(code, Parameters::new().with(param::ROOM_NAME, room))
        .await;
    m.client.disconnect();
    r
}

/// Full flow: name → master → `code` (create or join `room`) → game server,
/// joined. Returns the game client and the actor number.
pub async fn enter_room(
    d: &Deployment,
    protocol: Protocol,
    user: &str,
    code: u8,
    room: &str,
) -> (TestClient, i32) {
    let (_, g, actor) = enter_room_at(d, protocol, user, code, room).await;
    (g, actor)
}

/// [`enter_room`], also returning the game server's URL.
pub async fn enter_room_at(
    d: &Deployment,
    protocol: Protocol,
    user: &str,
    code: u8,
    room: &str,
) -> (String, TestClient, i32) {
    let r = master_answer(d, protocol, user, code, room).await;
    assert_eq!(r.return_code, 0, "{r:?}");
    let game_url = str_param(&r, param::ADDRESS).to_owned();
    assert!(
        game_url.starts_with(protocol.scheme()),
        "{game_url} for {protocol}"
    );
    let token = bytes_param(&r, param::TOKEN);
    let mut g = TestClient::connect(&game_url).await;
    let r = g
        .request(
            code,
            Parameters::new()
                .with(param::ROOM_NAME, room)
                .with(param::TOKEN, token),
        )
        .await;
    assert_eq!(r.return_code, 0, "{r:?}");
    let actor = r
        .parameters
        .get(param::ACTOR_NR)
        .and_then(Value::as_i64)
        .unwrap() as i32;
    (game_url, g, actor)
}
