//! Tokens end to end on a controllable clock: expiry at the master, refresh
//! while raising events, forged tokens, and the encrypted-authentication rule.

mod common;

use common::*;
use std::sync::Arc;
use std::time::Duration;
use transport::codec::{Parameters, Value};
use transport::lb::{error, event, op, param};
use transport::{Protocol, SendOptions};
use voice_server::config::Role;
use voice_server::token::{OffsetClock, UnixClock};

#[tokio::test]
async fn expired_token_at_the_master_then_reauthentication() {
    guard(async {
        let clock = Arc::new(OffsetClock::system());
        let d = deploy(local_config(), Some(clock.clone() as Arc<dyn UnixClock>)).await;
        let (master_url, token) = authenticate(&d, Protocol::Udp, "alice").await;
        clock.advance(Duration::from_secs(3601));
        let mut m = TestClient::connect(&master_url).await;
        let r = m
            .request(
                op::AUTHENTICATE,
                Parameters::new().with(param::TOKEN, token),
            )
            .await;
        assert_eq!(r.return_code, error::AUTHENTICATION_TICKET_EXPIRED, "{r:?}");
        assert!(r.debug_message.unwrap().contains("authenticate again"));
        // The client re-authenticates at the name server and is let in.
        let (_, fresh) = authenticate(&d, Protocol::Udp, "alice").await;
        let r = m
            .request(
                op::AUTHENTICATE,
                Parameters::new().with(param::TOKEN, fresh),
            )
            .await;
        assert_eq!(r.return_code, 0);
        d.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn token_is_refreshed_while_raising_events_and_the_refreshed_one_outlives_the_first() {
    guard(async {
        let clock = Arc::new(OffsetClock::system());
        let d = deploy(local_config(), Some(clock.clone() as Arc<dyn UnixClock>)).await;
        let (mut a, _) = enter_room(&d, Protocol::Udp, "alice", op::CREATE_GAME, "r").await;
        clock.advance(Duration::from_secs(301));
        a.send_request(
            op::RAISE_EVENT,
            Parameters::new().with(param::CODE, 1u8),
            SendOptions::RELIABLE,
        );
        let auth = a.event(event::AUTH_EVENT).await;
        let refreshed = auth
            .parameters
            .get(param::TOKEN)
            .and_then(Value::as_bytes)
            .unwrap()
            .to_vec();
        // An hour after the first token: only the refreshed one still works.
        clock.advance(Duration::from_secs(3400));
        let master_url = d.url(Role::Master, Protocol::Udp).unwrap();
        let mut m = TestClient::connect(&master_url).await;
        let r = m
            .request(
                op::AUTHENTICATE,
                Parameters::new().with(param::TOKEN, refreshed),
            )
            .await;
        assert_eq!(r.return_code, 0, "{r:?}");
        d.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn forged_tokens_are_refused_everywhere() {
    guard(async {
        let d = deploy(local_config(), None).await;
        let (master_url, mut token) = authenticate(&d, Protocol::Tcp, "mallory").await;
        let last = token.len() - 1;
        token[last] ^= 1;
        let mut m = TestClient::connect(&master_url).await;
        let r = m
            .request(
                op::AUTHENTICATE,
                Parameters::new().with(param::TOKEN, token.clone()),
            )
            .await;
        assert_eq!(r.return_code, error::INVALID_AUTHENTICATION);
        let r = m.request(op::CREATE_GAME, Parameters::new()).await;
        assert_eq!(
            r.return_code,
            error::INVALID_AUTHENTICATION,
            "still not authenticated"
        );
        let mut g = TestClient::connect(&d.url(Role::Game, Protocol::Tcp).unwrap()).await;
        let r = g
            .request(
                op::CREATE_GAME,
                Parameters::new()
                    .with(param::ROOM_NAME, "x")
                    .with(param::TOKEN, token),
            )
            .await;
        assert_eq!(r.return_code, error::INVALID_AUTHENTICATION);
        d.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn clear_authentication_is_refused_over_udp_tcp_and_ws() {
    guard(async {
        let d = deploy(local_config(), None).await;
        for protocol in [Protocol::Udp, Protocol::Tcp, Protocol::Ws] {
            let mut name = TestClient::connect(&d.url(Role::Name, protocol).unwrap()).await;
            let r = name
                .request(
                    op::AUTHENTICATE,
                    Parameters::new().with(param::APPLICATION_ID, "app"),
                )
                .await;
            assert_eq!(r.return_code, error::INVALID_AUTHENTICATION, "{protocol}");
            assert!(r
                .debug_message
                .unwrap()
                .contains("call establish_encryption first"));
        }
        d.shutdown().await;
    })
    .await;
}
