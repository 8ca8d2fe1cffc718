//! Custom authentication against a local HTTP provider: accept, reject, down.

mod common;

use common::*;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use transport::codec::Parameters;
use transport::lb::{auth_type, error, op, param};
use transport::Protocol;
use voice_server::config::{Config, Role, WhenUnavailable};

/// A provider accepting `user=good` (as "provider-id") and rejecting the rest.
async fn provider() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let body = if head.contains("user=good") {
                    r#"{"ResultCode":1,"UserId":"provider-id","Data":{"tier":"gold"}}"#
                } else {
                    r#"{"ResultCode":2,"Message":"unknown user"}"#
                };
                let answer = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    (addr, task)
}

fn config_with(url: String, when: WhenUnavailable) -> Config {
    let mut config = local_config();
    config.auth.url = url;
    config.auth.when_unavailable = when;
    config.auth.timeout_ms = 2000;
    config
}

async fn try_auth(
    d: &voice_server::run::Deployment,
    query: &str,
) -> transport::codec::OperationResponse {
    let mut name = TestClient::connect(&d.url(Role::Name, Protocol::Udp).unwrap()).await;
    name.encrypt().await;
    let params = Parameters::new()
        .with(param::APPLICATION_ID, "app")
        .with(param::CLIENT_AUTHENTICATION_TYPE, auth_type::CUSTOM)
        .with(param::CLIENT_AUTHENTICATION_PARAMS, query);
    name.request_encrypted(op::AUTHENTICATE, params).await
}

#[tokio::test]
async fn provider_accepts_and_rejects() {
    guard(async {
        let (addr, task) = provider().await;
        let d = deploy(
            config_with(format!("http://{addr}/auth"), WhenUnavailable::Reject),
            None,
        )
        .await;
        let r = try_auth(&d, "user=good&pass=x").await;
        assert_eq!(r.return_code, 0, "{r:?}");
        assert_eq!(str_param(&r, param::USER_ID), "provider-id");
        // The token from the provider's verdict works at the master.
        let token = bytes_param(&r, param::TOKEN);
        master(str_param(&r, param::ADDRESS), &token).await;
        let r = try_auth(&d, "user=evil").await;
        assert_eq!(r.return_code, error::CUSTOM_AUTHENTICATION_FAILED);
        assert!(r.debug_message.unwrap().contains("unknown user"));
        task.abort();
        d.shutdown().await;
    })
    .await;
}

async fn closed_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}

#[tokio::test]
async fn provider_down_rejects_or_allows_as_configured() {
    guard(async {
        let addr = closed_port().await;
        let d = deploy(
            config_with(format!("http://{addr}/auth"), WhenUnavailable::Reject),
            None,
        )
        .await;
        let r = try_auth(&d, "user=good").await;
        assert_eq!(r.return_code, error::CUSTOM_AUTHENTICATION_FAILED);
        assert!(r.debug_message.unwrap().contains("unavailable"));
        d.shutdown().await;
        let d = deploy(
            config_with(format!("http://{addr}/auth"), WhenUnavailable::Allow),
            None,
        )
        .await;
        let r = try_auth(&d, "user=good").await;
        assert_eq!(r.return_code, 0, "{r:?}");
        d.shutdown().await;
    })
    .await;
}
