//! `voice-server doctor wss://host:port/path` (or `tls://host:port`):
//! step-by-step connection checks that say where a `wss://`, `tls://` (or
//! plain `ws://`, `tcp://`) connection fails and why.
//!
//! Steps: URL, name resolution, TCP connect, TLS handshake (version, suite,
//! ALPN), certificate (subject, names, expiry, name match), WebSocket upgrade
//! (ws/wss only), protocol greeting. [`diagnose`] stops before the greeting;
//! [`diagnose_with_greeting`] hands an upgraded WebSocket to a caller-supplied
//! step (and runs the built-in framed greeting for `tls://` and `tcp://`);
//! [`diagnose_voice`] runs every step with this crate's greeting.

use super::client::{client_config, PinningVerifier};
use super::{
    certificate_fingerprint_sha256, certificate_names, classify_client_error_for,
    format_fingerprint, format_unix_time, name_matches, provider, response_looks_like_tls,
    unix_now, ClientTlsConfig, TlsError, TLS_TCP_ALPN,
};
use crate::types::Protocol;
use rustls::pki_types::{CertificateDer, ServerName};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long each network step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// One step of a diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorCheck {
    /// The step, e.g. `"TLS handshake"`.
    pub name: String,
    /// True if the step succeeded.
    pub ok: bool,
    /// What was found, or what failed and what to do.
    pub detail: String,
}

impl DoctorCheck {
    fn pass(name: &str, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: true,
            detail: detail.into(),
        }
    }
    fn fail(name: &str, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: false,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for DoctorCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}: {}",
            if self.ok { " ok " } else { "FAIL" },
            self.name,
            self.detail
        )
    }
}

/// A byte stream the doctor upgraded to WebSocket (TLS or plain TCP).
pub trait DoctorIo: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> DoctorIo for T {}

/// The upgraded WebSocket handed to the greeting step of [`diagnose_with_greeting`].
pub type DoctorStream = tokio_tungstenite::WebSocketStream<Box<dyn DoctorIo>>;

/// Runs the connection checks against `url` (`wss://host[:port][/path]` or
/// `tls://host[:port]`, or `ws://` / `tcp://` for a plain listener) with the
/// client trust `tls`, stopping at the first failing step, and before the
/// protocol greeting (see [`diagnose_with_greeting`], [`diagnose_voice`]). Each
/// step waits at most 5 s.
pub async fn diagnose(url: &str, tls: &ClientTlsConfig) -> Vec<DoctorCheck> {
    run(url, tls, |_stream| async { Vec::new() }, false).await
}

/// Name of the greeting check.
const GREETING: &str = "protocol greeting";

/// The STREAM_CONNECT frame of the greeting, with `nonce`.
fn greeting_hello(nonce: u64) -> Vec<u8> {
    use crate::wire::{packet, PROTOCOL_VERSION};
    let mut hello = vec![packet::STREAM_CONNECT << 4, PROTOCOL_VERSION];
    hello.extend_from_slice(&nonce.to_be_bytes());
    hello.push(2);
    hello
}

/// Judges the server's first frame in answer to [`greeting_hello`].
fn judge_greeting(nonce: u64, bytes: &[u8]) -> DoctorCheck {
    use crate::wire::packet;
    let kind = bytes.first().map(|b| b >> 4);
    let echoed = bytes.get(1..9) == Some(&nonce.to_be_bytes()[..]);
    match kind {
        Some(packet::ACCEPT) if echoed && bytes.len() >= 16 => {
            let connection = u32::from_be_bytes([bytes[9], bytes[10], bytes[11], bytes[12]]);
            let mtu = u16::from_be_bytes([bytes[13], bytes[14]]);
            DoctorCheck::pass(GREETING, format!("the server accepted: connection id {connection:#010x}, mtu {mtu}, {} channels", bytes[15]))
        }
        Some(packet::REFUSE) if echoed => DoctorCheck::fail(GREETING, format!("the server refused the connection (reason {}: 1 server full, 2 protocol version, 4 bad parameters)", bytes.get(9).copied().unwrap_or(0))),
        _ => DoctorCheck::fail(GREETING, format!("unexpected answer of {} bytes (first byte {:?}): not this protocol, or another version", bytes.len(), bytes.first())),
    }
}

/// The protocol's greeting on an upgraded stream, as a check: sends a
/// STREAM_CONNECT frame and expects the server's ACCEPT echoing its nonce
/// (a REFUSE is reported with its reason). Pass it to
/// [`diagnose_with_greeting`] to check a voice server end to end.
pub async fn protocol_greeting(mut stream: DoctorStream) -> Vec<DoctorCheck> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let nonce: u64 = rand::random();
    if let Err(error) = stream.send(Message::binary(greeting_hello(nonce))).await {
        return vec![DoctorCheck::fail(
            GREETING,
            format!("could not send the greeting: {error}"),
        )];
    }
    let answer = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match stream.next().await {
                Some(Ok(Message::Binary(bytes))) => return Ok(bytes.to_vec()),
                Some(Ok(Message::Close(frame))) => {
                    return Err(format!("the server closed the WebSocket ({frame:?})"))
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(format!("the WebSocket failed: {error}")),
                None => return Err("the server closed the connection".to_owned()),
            }
        }
    })
    .await;
    let check = match answer {
        Err(_) => DoctorCheck::fail(GREETING, "no answer within 3 s: this port speaks WebSocket but not this protocol; check the port and path"),
        Ok(Err(reason)) => DoctorCheck::fail(GREETING, reason),
        Ok(Ok(bytes)) => judge_greeting(nonce, &bytes),
    };
    let _ = stream.close(None).await;
    vec![check]
}

/// The greeting on a length-prefixed stream (`tcp://`, or `tls://` after TLS):
/// one `u32` big-endian length and the STREAM_CONNECT frame out, one frame back.
/// A TLS record in answer on a plain stream is reported as a TLS port.
async fn framed_greeting(
    mut stream: Box<dyn DoctorIo>,
    target: &Target,
    checks: &mut Vec<DoctorCheck>,
) {
    let nonce: u64 = rand::random();
    let hello = greeting_hello(nonce);
    let mut frame = (hello.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&hello);
    let exchange = async {
        stream
            .write_all(&frame)
            .await
            .map_err(|e| format!("could not send the greeting: {e}"))?;
        stream
            .flush()
            .await
            .map_err(|e| format!("could not send the greeting: {e}"))?;
        let mut header = [0u8; 4];
        let mut filled = 0;
        while filled < header.len() {
            match stream.read(&mut header[filled..]).await {
                Ok(0) if filled > 0 && response_looks_like_tls(&header[..filled]) => break,
                Ok(0) => {
                    return Err("the server closed the connection without answering".to_owned())
                }
                Ok(n) => filled += n,
                Err(e) => return Err(format!("reading the answer failed: {e}")),
            }
        }
        if response_looks_like_tls(&header[..filled]) {
            return Ok(Err(header));
        }
        if &header == b"HTTP" {
            return Err(format!(
                "the server answered with HTTP: this is a web or WebSocket port; use ws://{}:{}/path \
                 (or wss://), or the server's {} port",
                target.host, target.port, target.protocol
            ));
        }
        let length = u32::from_be_bytes(header) as usize;
        if length > 64 * 1024 {
            return Err(format!("the answer announces a frame of {length} bytes: this port does not speak this protocol"));
        }
        let mut body = vec![0u8; length];
        stream
            .read_exact(&mut body)
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?;
        Ok(Ok(body))
    };
    match tokio::time::timeout(Duration::from_secs(3), exchange).await {
        Err(_) => checks.push(DoctorCheck::fail(GREETING, format!("no answer within 3 s: this port does not speak this protocol; check the port and scheme (the {} listener)", target.protocol))),
        Ok(Err(reason)) => checks.push(DoctorCheck::fail(GREETING, reason)),
        Ok(Ok(Err(_tls_record))) => {
            let err = TlsError::PlainClientToTlsPort {
                host: target.host.clone(),
                port: target.port,
                scheme: target.protocol,
            };
            checks.push(DoctorCheck::fail("scheme", err.to_string()));
        }
        Ok(Ok(Ok(body))) => checks.push(judge_greeting(nonce, &body)),
    }
    let _ = stream.shutdown().await;
}

/// Every step against `url` (`wss://`, `ws://`, `tls://` or `tcp://`) with the
/// client trust `tls`, including this crate's protocol greeting: what
/// `voice-server doctor` prints.
pub async fn diagnose_voice(url: &str, tls: &ClientTlsConfig) -> Vec<DoctorCheck> {
    run(url, tls, protocol_greeting, true).await
}

/// [`diagnose`], then, if the WebSocket upgrade succeeded, `greeting` runs on
/// the upgraded stream and its checks are appended (e.g. the protocol's
/// init/handshake). For `tls://` and `tcp://` (no WebSocket) the built-in
/// framed greeting of this crate's protocol runs instead.
pub async fn diagnose_with_greeting<F, Fut>(
    url: &str,
    tls: &ClientTlsConfig,
    greeting: F,
) -> Vec<DoctorCheck>
where
    F: FnOnce(DoctorStream) -> Fut,
    Fut: Future<Output = Vec<DoctorCheck>>,
{
    run(url, tls, greeting, true).await
}

/// The steps; `framed` enables the built-in greeting on `tls://` and `tcp://`.
async fn run<F, Fut>(
    url: &str,
    tls: &ClientTlsConfig,
    greeting: F,
    framed: bool,
) -> Vec<DoctorCheck>
where
    F: FnOnce(DoctorStream) -> Fut,
    Fut: Future<Output = Vec<DoctorCheck>>,
{
    let mut checks = Vec::new();
    let target = match parse_url(url) {
        Ok(target) => {
            let path = if target.protocol.is_websocket() {
                format!(" path {}", target.path)
            } else {
                String::new()
            };
            checks.push(DoctorCheck::pass(
                "URL",
                format!(
                    "{} host {} port {}{path}",
                    target.protocol, target.host, target.port,
                ),
            ));
            target
        }
        Err(reason) => {
            checks.push(DoctorCheck::fail("URL", reason));
            return checks;
        }
    };

    // Resolve.
    let addresses = match tokio::time::timeout(
        STEP_TIMEOUT,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await
    {
        Ok(Ok(addresses)) => addresses.collect::<Vec<SocketAddr>>(),
        Ok(Err(e)) => {
            checks.push(DoctorCheck::fail(
                "resolve",
                format!("{:?} does not resolve ({e}): check the name, or add it to /etc/hosts for a development domain", target.host),
            ));
            return checks;
        }
        Err(_) => {
            checks.push(DoctorCheck::fail(
                "resolve",
                format!(
                    "resolving {:?} took over {STEP_TIMEOUT:?}: check the DNS settings",
                    target.host
                ),
            ));
            return checks;
        }
    };
    let list: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    checks.push(DoctorCheck::pass(
        "resolve",
        format!("{} -> {}", target.host, list.join(", ")),
    ));

    // TCP.
    let Some((tcp, address)) = connect_any(&addresses, &mut checks).await else {
        return checks;
    };

    if target.protocol == Protocol::Tcp {
        if framed {
            framed_greeting(Box::new(tcp), &target, &mut checks).await;
        }
        return checks;
    }
    if target.protocol == Protocol::Ws {
        let stream: Box<dyn DoctorIo> = Box::new(tcp);
        if let Some(ws) = upgrade(stream, &target, &mut checks).await {
            checks.extend(greeting(ws).await);
        } else if probe_is_tls(address).await {
            let err = TlsError::PlainClientToTlsPort {
                host: target.host.clone(),
                port: target.port,
                scheme: Protocol::Ws,
            };
            checks.push(DoctorCheck::fail("scheme", err.to_string()));
        }
        return checks;
    }

    // TLS.
    let config = match client_config(tls) {
        // Offer ALPN: http/1.1 as browsers do for wss://, this crate's id for
        // tls://, to show what the server picks.
        Ok(config) => {
            let mut config = (*config).clone();
            config.alpn_protocols = match target.protocol {
                Protocol::Tls => vec![TLS_TCP_ALPN.as_bytes().to_vec()],
                _ => vec![b"http/1.1".to_vec()],
            };
            Arc::new(config)
        }
        Err(e) => {
            checks.push(DoctorCheck::fail("TLS configuration", e.to_string()));
            return checks;
        }
    };
    let server_name = match ServerName::try_from(target.host.clone()) {
        Ok(name) => name,
        Err(e) => {
            checks.push(DoctorCheck::fail(
                "TLS handshake",
                format!("{:?} is not a valid TLS server name: {e}", target.host),
            ));
            return checks;
        }
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    let handshake =
        tokio::time::timeout(STEP_TIMEOUT, connector.connect(server_name.clone(), tcp)).await;
    let stream = match handshake {
        Ok(Ok(stream)) => {
            let (_, connection) = stream.get_ref();
            let version = connection
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default();
            let suite = connection
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default();
            let alpn = connection
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned());
            checks.push(DoctorCheck::pass(
                "TLS handshake",
                format!(
                    "{version}, {suite}{}",
                    alpn.map(|p| format!(", ALPN {p}")).unwrap_or_default()
                ),
            ));
            if let Some(cert) = connection.peer_certificates().and_then(|c| c.first()) {
                checks.push(certificate_check(cert, &target.host, true));
            }
            stream
        }
        Ok(Err(e)) => {
            let classified =
                classify_client_error_for(&e, target.protocol, &target.host, target.port);
            checks.push(DoctorCheck::fail("TLS handshake", classified.to_string()));
            if !matches!(classified, TlsError::WrongScheme { .. }) {
                if let Some(cert) = inspect_certificate(address, server_name).await {
                    checks.push(certificate_check(&cert, &target.host, false));
                }
            }
            return checks;
        }
        Err(_) => {
            checks.push(DoctorCheck::fail(
                "TLS handshake",
                format!(
                    "no TLS answer within {STEP_TIMEOUT:?}: the port may not speak TLS (use {}:// for a plain port) or a firewall drops traffic",
                    target.protocol.without_tls()
                ),
            ));
            return checks;
        }
    };
    let stream: Box<dyn DoctorIo> = Box::new(stream);
    if target.protocol == Protocol::Tls {
        if framed {
            framed_greeting(stream, &target, &mut checks).await;
        }
    } else if let Some(ws) = upgrade(stream, &target, &mut checks).await {
        checks.extend(greeting(ws).await);
    }
    checks
}

#[derive(Debug)]
struct Target {
    protocol: Protocol,
    host: String,
    port: u16,
    path: String,
    url: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let usage = "expected wss://host[:port][/path] or tls://host[:port] (or ws://, tcp:// for a plain port), e.g. wss://voice.example.com:19093/Master";
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} has no scheme; {usage}"))?;
    let protocol = match scheme.to_ascii_lowercase().as_str() {
        "wss" | "https" => Protocol::Wss,
        "ws" | "http" => Protocol::Ws,
        "tls" => Protocol::Tls,
        "tcp" => Protocol::Tcp,
        other => {
            return Err(format!(
                "scheme {other:?} is not checked by the doctor; {usage}"
            ))
        }
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    if !protocol.is_websocket() && path != "/" {
        return Err(format!(
            "a path ({path}) is only meaningful for ws:// and wss://; {usage}"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("unclosed '[' in {url:?}; {usage}"))?;
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("{url:?} has no host; {usage}"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("port {p:?} is not a number 1-65535; {usage}"))?,
        None => default_name_port(protocol),
    };
    let host_in_url = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let (path, shown_path) = if protocol.is_websocket() {
        (path.clone(), path)
    } else {
        (String::new(), String::new())
    };
    let url = format!("{protocol}://{host_in_url}:{port}{shown_path}");
    Ok(Target {
        protocol,
        host,
        port,
        path,
        url,
    })
}

/// The name server's default port of a scheme (Photon's; 14533 for tls://).
fn default_name_port(protocol: Protocol) -> u16 {
    match protocol {
        Protocol::Wss => 19093,
        Protocol::Ws => 9093,
        Protocol::Tls => 14533,
        Protocol::Tcp => 4533,
        Protocol::Udp => 5058,
    }
}

async fn connect_any(
    addresses: &[SocketAddr],
    checks: &mut Vec<DoctorCheck>,
) -> Option<(TcpStream, SocketAddr)> {
    let mut failures = Vec::new();
    for address in addresses {
        match tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(tcp)) => {
                checks.push(DoctorCheck::pass(
                    "TCP connect",
                    format!("connected to {address}"),
                ));
                return Some((tcp, *address));
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                failures.push(format!("{address}: refused (nothing listens there)"))
            }
            Ok(Err(e)) => failures.push(format!("{address}: {e}")),
            Err(_) => failures.push(format!(
                "{address}: no answer within {STEP_TIMEOUT:?} (firewall?)"
            )),
        }
    }
    checks.push(DoctorCheck::fail(
        "TCP connect",
        format!(
            "{}; check the port (name server defaults: ws 9093, wss 19093, tcp 4533, tls 14533), that the server runs, and the firewall",
            failures.join("; ")
        ),
    ));
    None
}

async fn upgrade(
    stream: Box<dyn DoctorIo>,
    target: &Target,
    checks: &mut Vec<DoctorCheck>,
) -> Option<DoctorStream> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match tokio::time::timeout(
        STEP_TIMEOUT,
        tokio_tungstenite::client_async(target.url.as_str(), stream),
    )
    .await
    {
        Ok(Ok((ws, response))) => {
            let protocol = response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok())
                .map(|p| format!(", subprotocol {p}"))
                .unwrap_or_default();
            checks.push(DoctorCheck::pass(
                "WebSocket upgrade",
                format!("HTTP {} on {}{protocol}", response.status(), target.path),
            ));
            Some(ws)
        }
        Ok(Err(WsError::Http(response))) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned())
                .unwrap_or_default();
            let hint = match response.status().as_u16() {
                404 => "; check the path (e.g. /Master, /Game, /NameServer)",
                400 | 426 => "; the server did not accept the upgrade request",
                _ => "",
            };
            checks.push(DoctorCheck::fail(
                "WebSocket upgrade",
                format!(
                    "the server answered HTTP {} instead of 101 Switching Protocols{hint}. {body}",
                    response.status()
                ),
            ));
            None
        }
        Ok(Err(e)) => {
            checks.push(DoctorCheck::fail(
                "WebSocket upgrade",
                format!("{e}; the port may serve another protocol (TCP instead of WebSocket?)"),
            ));
            None
        }
        Err(_) => {
            checks.push(DoctorCheck::fail(
                "WebSocket upgrade",
                format!(
                    "no HTTP answer within {STEP_TIMEOUT:?}; the port may serve another protocol"
                ),
            ));
            None
        }
    }
}

/// Sends an HTTP request on a fresh connection and reports whether the answer is
/// a TLS record (the port expects wss:// or tls://).
async fn probe_is_tls(address: SocketAddr) -> bool {
    let probe = async {
        let mut tcp = TcpStream::connect(address).await.ok()?;
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: probe\r\n\r\n")
            .await
            .ok()?;
        let mut buf = [0u8; 8];
        let n = tcp.read(&mut buf).await.ok()?;
        Some(response_looks_like_tls(&buf[..n]))
    };
    matches!(
        tokio::time::timeout(STEP_TIMEOUT, probe).await,
        Ok(Some(true))
    )
}

/// Repeats the handshake accepting any certificate, only to show it.
async fn inspect_certificate(
    address: SocketAddr,
    name: ServerName<'static>,
) -> Option<CertificateDer<'static>> {
    let provider = provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinningVerifier::inspect_only(provider)))
        .with_no_client_auth();
    let inspect = async {
        let tcp = TcpStream::connect(address).await.ok()?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .ok()?;
        stream
            .get_ref()
            .1
            .peer_certificates()?
            .first()
            .map(|c| c.clone().into_owned())
    };
    tokio::time::timeout(STEP_TIMEOUT, inspect)
        .await
        .ok()
        .flatten()
}

fn certificate_check(der: &CertificateDer<'_>, host: &str, trusted: bool) -> DoctorCheck {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return DoctorCheck::fail(
            "certificate",
            "the server sent a certificate that does not parse",
        );
    };
    let names = certificate_names(&cert);
    let matches = names.iter().any(|n| name_matches(n, host));
    let not_after = cert.validity().not_after.timestamp();
    let days_left = (not_after - unix_now()) / 86_400;
    let expired = not_after < unix_now();
    let detail = format!(
        "subject {}; issuer {}; names {}; valid until {} ({}); {}; {}; SHA-256 {}",
        cert.subject(),
        cert.issuer(),
        if names.is_empty() {
            "(none)".to_string()
        } else {
            names.join(", ")
        },
        format_unix_time(not_after),
        if expired {
            "EXPIRED: renew it".to_string()
        } else if days_left < super::EXPIRY_WARNING_DAYS {
            format!("{days_left} days left, renew it soon")
        } else {
            format!("{days_left} days left")
        },
        if matches {
            format!("valid for {host:?}")
        } else {
            format!("NOT valid for {host:?}")
        },
        if trusted {
            "trusted"
        } else {
            "not accepted by this client's trust settings"
        },
        format_fingerprint(&certificate_fingerprint_sha256(der)),
    );
    DoctorCheck {
        name: "certificate".into(),
        ok: trusted && matches && !expired,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing() {
        let t = parse_url("wss://voice.example.test/Master").unwrap();
        assert_eq!(t.protocol, Protocol::Wss);
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("voice.example.test", 19093, "/Master")
        );
        let t = parse_url("ws://[::1]:9000").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str(), t.url.as_str()),
            ("::1", 9000, "/", "ws://[::1]:9000/")
        );
        let t = parse_url("tls://voice.example.test").unwrap();
        assert_eq!(
            (t.protocol, t.port, t.url.as_str()),
            (Protocol::Tls, 14533, "tls://voice.example.test:14533")
        );
        let t = parse_url("TCP://127.0.0.1:4530/").unwrap();
        assert_eq!((t.protocol, t.port), (Protocol::Tcp, 4530));
        assert!(parse_url("tls://h:1/Master")
            .unwrap_err()
            .contains("only meaningful"));
        assert!(parse_url("udp://x:1").unwrap_err().contains("tls://"));
        assert!(parse_url("voice.example.test").is_err());
        assert!(parse_url("wss://host:99999").is_err());
    }
}
