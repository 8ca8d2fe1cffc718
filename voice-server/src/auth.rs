//! Custom authentication against an HTTP provider.
//!
//! The name server logic emits an [`AuthJob`]; a tokio task calls the provider
//! with [`call`] and feeds the [`AuthOutcome`] back as a `ServerControl`
//! command, so the driver task never waits on HTTP.
//!
//! The HTTP client is a minimal HTTP/1.1 request over tokio's `TcpStream`
//! with `httparse` (already in the dependency tree) reading the answer: one
//! request per connection, `Connection: close`, a bounded body. It runs on the
//! runtime we already have (no blocking thread, unlike `ureq`) and adds no TLS
//! stack or connection pool we would not use; providers are expected on the
//! deployment's private network (`http://`), or behind a TLS-terminating proxy.

use crate::config::{AuthConfig, AuthMethod};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use transport::lb::auth_result;
use transport::PeerHandle;

/// Largest provider answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// One authentication to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthJob {
    /// The peer waiting.
    pub peer: PeerHandle,
    /// Job id (matches the answer to the request).
    pub job: u64,
    /// The user id the client sent, if any.
    pub user_id: Option<String>,
    /// The client's query parameters (`key=value&...`), appended to the URL.
    pub query: String,
    /// The client's POST body (JSON), if any.
    pub body: Option<Vec<u8>>,
}

/// The provider's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthOutcome {
    /// ResultCode 1.
    Accepted {
        /// UserId assigned by the provider (replaces the client's).
        user_id: Option<String>,
        /// Data to put into the token.
        data: serde_json::Value,
    },
    /// ResultCode 0, 2, 3 or another: refused.
    Rejected {
        /// The provider's Message, or a description of the code.
        message: String,
    },
    /// Unreachable, timed out, non-200 status, or not the expected JSON.
    Unavailable {
        /// What went wrong.
        reason: String,
    },
}

/// Interprets the provider's JSON answer.
pub fn parse_answer(body: &[u8]) -> AuthOutcome {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return AuthOutcome::Unavailable {
            reason: "the provider's answer is not JSON".into(),
        };
    };
    let Some(code) = json.get("ResultCode").and_then(serde_json::Value::as_i64) else {
        return AuthOutcome::Unavailable {
            reason: "the provider's answer has no integer ResultCode".into(),
        };
    };
    let message = json
        .get("Message")
        .and_then(|m| m.as_str())
        .map(str::to_owned);
    match code {
        auth_result::OK => AuthOutcome::Accepted {
            user_id: json
                .get("UserId")
                .and_then(|u| u.as_str())
                .map(str::to_owned),
            data: json.get("Data").cloned().unwrap_or(serde_json::Value::Null),
        },
        auth_result::INCOMPLETE => AuthOutcome::Rejected {
            message: message.unwrap_or_else(|| {
                "incomplete (ResultCode 0): multi-step authentication is not supported".into()
            }),
        },
        auth_result::REJECTED => AuthOutcome::Rejected {
            message: message.unwrap_or_else(|| "rejected (ResultCode 2)".into()),
        },
        auth_result::INVALID_PARAMETERS => AuthOutcome::Rejected {
            message: message.unwrap_or_else(|| "invalid parameters (ResultCode 3)".into()),
        },
        other => AuthOutcome::Rejected {
            message: message.unwrap_or_else(|| format!("unknown ResultCode {other}")),
        },
    }
}

struct Url<'a> {
    host_port: &'a str,
    path_and_query: &'a str,
}

fn parse_url(url: &str) -> Option<Url<'_>> {
    let rest = url.strip_prefix("http://")?;
    let (host_port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    (!host_port.is_empty()).then_some(Url {
        host_port,
        path_and_query: path,
    })
}

/// Calls the provider and returns its verdict (never panics, bounded in time).
pub async fn call(config: &AuthConfig, job: &AuthJob) -> AuthOutcome {
    let timeout = Duration::from_millis(config.timeout_ms);
    match tokio::time::timeout(timeout, request(config, job)).await {
        Ok(Ok(body)) => parse_answer(&body),
        Ok(Err(reason)) => AuthOutcome::Unavailable { reason },
        Err(_) => AuthOutcome::Unavailable {
            reason: format!("no answer within {} ms", config.timeout_ms),
        },
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn request(config: &AuthConfig, job: &AuthJob) -> Result<Vec<u8>, String> {
    let url = parse_url(&config.url)
        .ok_or_else(|| format!("auth.url {:?} is not an http:// URL", config.url))?;
    let mut target = url.path_and_query.to_owned();
    let mut extra = job.query.clone();
    if let Some(user) = &job.user_id {
        if !extra.is_empty() {
            extra.push('&');
        }
        extra.push_str("userid=");
        extra.push_str(&percent_encode(user));
    }
    if !extra.is_empty() {
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&extra);
    }
    let mut stream = tokio::net::TcpStream::connect(url.host_port)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", url.host_port))?;
    let (method, body) = match config.method {
        AuthMethod::Get => ("GET", Vec::new()),
        AuthMethod::Post => ("POST", job.body.clone().unwrap_or_else(|| b"{}".to_vec())),
    };
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: voice-server\r\nAccept: application/json\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        url.host_port,
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream.write_all(&body).await.map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
        if answer.len() > MAX_ANSWER {
            return Err(format!("the provider's answer exceeds {MAX_ANSWER} bytes"));
        }
        if let Some(body) = complete_body(&answer)? {
            return Ok(body);
        }
    }
    match complete_body(&answer)? {
        Some(body) => Ok(body),
        None => {
            // Without Content-Length the body ends at EOF.
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&answer) {
                Ok(httparse::Status::Complete(len)) => Ok(answer[len..].to_vec()),
                _ => Err("the provider closed the connection before answering".into()),
            }
        }
    }
}

/// The body once the head and `Content-Length` bytes arrived.
fn complete_body(answer: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(answer) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("the provider's answer is not HTTP: {e}")),
    };
    let code = response.code.unwrap_or(0);
    if code != 200 {
        return Err(format!("the provider answered HTTP {code}"));
    }
    let content_length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        });
    match content_length {
        Some(n) if answer.len() >= len + n => Ok(Some(answer[len..len + n].to_vec())),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(
            parse_answer(br#"{"ResultCode":1,"UserId":"u1","Data":{"k":"v"}}"#),
            AuthOutcome::Accepted {
                user_id: Some("u1".into()),
                data: serde_json::json!({"k":"v"})
            }
        );
        assert!(
            matches!(parse_answer(br#"{"ResultCode":2,"Message":"bad password"}"#), AuthOutcome::Rejected { message } if message == "bad password")
        );
        assert!(matches!(
            parse_answer(br#"{"ResultCode":0}"#),
            AuthOutcome::Rejected { .. }
        ));
        assert!(matches!(
            parse_answer(b"<html>"),
            AuthOutcome::Unavailable { .. }
        ));
        assert!(matches!(
            parse_answer(br#"{"ok":true}"#),
            AuthOutcome::Unavailable { .. }
        ));
    }

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:8080/auth?app=1").unwrap();
        assert_eq!(u.host_port, "127.0.0.1:8080");
        assert_eq!(u.path_and_query, "/auth?app=1");
        assert!(parse_url("https://x/").is_none());
        assert_eq!(percent_encode("a b&c"), "a%20b%26c");
    }

    #[tokio::test]
    async fn call_against_local_server_and_down_endpoint() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let body = r#"{"ResultCode":1,"UserId":"granted","Data":{"team":"red"}}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(answer.as_bytes()).await.unwrap();
            request
        });
        let config = AuthConfig {
            url: format!("http://{addr}/auth"),
            ..AuthConfig::default()
        };
        let job = AuthJob {
            peer: PeerHandle(1),
            job: 1,
            user_id: Some("alice".into()),
            query: "token=abc".into(),
            body: None,
        };
        let outcome = call(&config, &job).await;
        assert_eq!(
            outcome,
            AuthOutcome::Accepted {
                user_id: Some("granted".into()),
                data: serde_json::json!({"team":"red"})
            }
        );
        let request = server.await.unwrap();
        assert!(
            request.starts_with("GET /auth?token=abc&userid=alice HTTP/1.1"),
            "{request}"
        );
        // Nothing listens there any more.
        let outcome = call(&config, &job).await;
        assert!(
            matches!(outcome, AuthOutcome::Unavailable { .. }),
            "{outcome:?}"
        );
    }
}
