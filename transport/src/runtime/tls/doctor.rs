//! `voice-server doctor wss://host:port/path`: step-by-step connection checks
//! that say where a `wss://` (or `ws://`) connection fails and why.
//!
//! Steps: URL, name resolution, TCP connect, TLS handshake (version, suite),
//! certificate (subject, names, expiry, name match), WebSocket upgrade. The
//! protocol greeting is not checked here: [`diagnose`] stops after the upgrade;
//! [`diagnose_with_greeting`] hands the upgraded stream to a caller-supplied
//! step (the extension point for the protocol handshake).

use super::client::{client_config, InspectOnlyVerifier};
use super::{
    certificate_fingerprint_sha256, certificate_names, classify_client_error, format_fingerprint,
    format_unix_time, name_matches, provider, response_looks_like_tls, unix_now, ClientTlsConfig,
    TlsError,
};
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

/// Runs the connection checks against `url` (`wss://host[:port][/path]`, or
/// `ws://` for a plain listener) with the client trust `tls`, stopping at the
/// first failing step, and after the WebSocket upgrade (the protocol greeting is
/// not checked; see [`diagnose_with_greeting`]). Each step waits at most 5 s.
pub async fn diagnose(url: &str, tls: &ClientTlsConfig) -> Vec<DoctorCheck> {
    diagnose_with_greeting(url, tls, |_stream| async { Vec::new() }).await
}

/// The protocol's greeting on an upgraded stream, as a check: sends a
/// STREAM_CONNECT frame and expects the server's ACCEPT echoing its nonce
/// (a REFUSE is reported with its reason). Pass it to
/// [`diagnose_with_greeting`] to check a voice server end to end.
pub async fn protocol_greeting(mut stream: DoctorStream) -> Vec<DoctorCheck> {
    use crate::wire::{packet, PROTOCOL_VERSION};
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    const NAME: &str = "protocol greeting";
    let nonce: u64 = rand::random();
    let mut hello = vec![packet::STREAM_CONNECT << 4, PROTOCOL_VERSION];
    hello.extend_from_slice(&nonce.to_be_bytes());
    hello.push(2);
    if let Err(error) = stream.send(Message::binary(hello)).await {
        return vec![DoctorCheck::fail(
            NAME,
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
        Err(_) => DoctorCheck::fail(NAME, "no answer within 3 s: this port speaks WebSocket but not this protocol; check the port and path"),
        Ok(Err(reason)) => DoctorCheck::fail(NAME, reason),
        Ok(Ok(bytes)) => {
            let kind = bytes.first().map(|b| b >> 4);
            let echoed = bytes.get(1..9) == Some(&nonce.to_be_bytes()[..]);
            match kind {
                Some(packet::ACCEPT) if echoed && bytes.len() >= 16 => {
                    let connection = u32::from_be_bytes([bytes[9], bytes[10], bytes[11], bytes[12]]);
                    let mtu = u16::from_be_bytes([bytes[13], bytes[14]]);
                    DoctorCheck::pass(NAME, format!("the server accepted: connection id {connection:#010x}, mtu {mtu}, {} channels", bytes[15]))
                }
                Some(packet::REFUSE) if echoed => DoctorCheck::fail(NAME, format!("the server refused the connection (reason {}: 1 server full, 2 protocol version, 4 bad parameters)", bytes.get(9).copied().unwrap_or(0))),
                _ => DoctorCheck::fail(NAME, format!("unexpected answer of {} bytes (first byte {:?}): not this protocol, or another version", bytes.len(), bytes.first())),
            }
        }
    };
    let _ = stream.close(None).await;
    vec![check]
}

/// [`diagnose`], then, if the upgrade succeeded, `greeting` runs on the upgraded
/// stream and its checks are appended (e.g. the protocol's init/handshake).
pub async fn diagnose_with_greeting<F, Fut>(
    url: &str,
    tls: &ClientTlsConfig,
    greeting: F,
) -> Vec<DoctorCheck>
where
    F: FnOnce(DoctorStream) -> Fut,
    Fut: Future<Output = Vec<DoctorCheck>>,
{
    let mut checks = Vec::new();
    let target = match parse_url(url) {
        Ok(target) => {
            checks.push(DoctorCheck::pass(
                "URL",
                format!(
                    "{} host {} port {} path {}",
                    if target.secure { "wss" } else { "ws" },
                    target.host,
                    target.port,
                    target.path
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

    if !target.secure {
        let stream: Box<dyn DoctorIo> = Box::new(tcp);
        if let Some(ws) = upgrade(stream, &target, &mut checks).await {
            checks.extend(greeting(ws).await);
        } else if probe_is_tls(address).await {
            let err = TlsError::PlainClientToTlsPort {
                host: target.host.clone(),
                port: target.port,
            };
            checks.push(DoctorCheck::fail("scheme", err.to_string()));
        }
        return checks;
    }

    // TLS.
    let config = match client_config(tls) {
        // Offer ALPN http/1.1 as browsers do for wss://, to show what the server picks.
        Ok(config) => {
            let mut config = (*config).clone();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
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
            let classified = classify_client_error(&e, &target.host, target.port);
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
                format!("no TLS answer within {STEP_TIMEOUT:?}: the port may not speak TLS (use ws:// for a plain port) or a firewall drops traffic"),
            ));
            return checks;
        }
    };
    let stream: Box<dyn DoctorIo> = Box::new(stream);
    if let Some(ws) = upgrade(stream, &target, &mut checks).await {
        checks.extend(greeting(ws).await);
    }
    checks
}

#[derive(Debug)]
struct Target {
    secure: bool,
    host: String,
    port: u16,
    path: String,
    url: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let usage = "expected wss://host[:port][/path] (or ws:// for a plain port), e.g. wss://voice.example.com:19093/Master";
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} has no scheme; {usage}"))?;
    let secure = match scheme.to_ascii_lowercase().as_str() {
        "wss" | "https" => true,
        "ws" | "http" => false,
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
        None if secure => 19093,
        None => 9093,
    };
    let host_in_url = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let url = format!(
        "{}://{host_in_url}:{port}{path}",
        if secure { "wss" } else { "ws" }
    );
    Ok(Target {
        secure,
        host,
        port,
        path,
        url,
    })
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
            "{}; check the port (defaults: ws 9093, wss 19093), that the server runs, and the firewall",
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
/// a TLS record (the port expects wss://).
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
        .with_custom_certificate_verifier(Arc::new(InspectOnlyVerifier { provider }))
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
        assert!(t.secure);
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("voice.example.test", 19093, "/Master")
        );
        let t = parse_url("ws://[::1]:9000").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str(), t.url.as_str()),
            ("::1", 9000, "/", "ws://[::1]:9000/")
        );
        assert!(parse_url("udp://x:1").unwrap_err().contains("wss://"));
        assert!(parse_url("voice.example.test").is_err());
        assert!(parse_url("wss://host:99999").is_err());
    }
}
