//! Roles in separate deployments (as separate processes would run them): the
//! game server reports to the master over a server-to-server link.

mod common;

use common::*;
use std::time::Duration;
use transport::codec::Parameters;
use transport::lb::{error, op, param};
use transport::{Protocol, SendOptions};
use voice_server::config::Role;
use voice_server::run::{start, StartOptions};

#[tokio::test]
async fn game_server_in_another_deployment_reports_over_a_link() {
    guard(async {
        let mut config = local_config();
        config.token.secret = "a shared deployment secret, long enough".into();
        let front = start(
            config.clone(),
            StartOptions {
                roles: vec![Role::Name, Role::Master],
                ..StartOptions::default()
            },
        )
        .await
        .unwrap();
        // The game deployment learns the master's ports from its configuration.
        let mut game_config = config.clone();
        for l in &mut game_config.master.listeners {
            let bound = front
                .listeners
                .iter()
                .find(|b| b.role == Role::Master && b.protocol == l.effective_protocol())
                .unwrap();
            l.port = bound.local.port();
        }
        let back = start(
            game_config,
            StartOptions {
                roles: vec![Role::Game],
                ..StartOptions::default()
            },
        )
        .await
        .unwrap();

        // Until the link is up the master has no game server (ServerFull).
        let (master_url, token) = authenticate(&front, Protocol::Udp, "probe").await;
        let mut m = master(&master_url, &token).await;
        let mut linked = false;
        for _ in 0..50 {
            let r = m
                .request(
                    op::JOIN_GAME,
                    Parameters::new()
                        .with(param::ROOM_NAME, "probe")
                        .with(param::JOIN_MODE, 1u8),
                )
                .await;
            if r.return_code == 0 {
                linked = true;
                break;
            }
            assert_eq!(r.return_code, error::SERVER_FULL, "{r:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(linked, "the game server linked to the master");

        let (mut a, _) = enter_room(&front, Protocol::Tcp, "alice", op::CREATE_GAME, "split").await;
        // The second client finds the room through the master: the report arrived.
        let (b, _) = enter_room(&front, Protocol::Udp, "bob", op::JOIN_GAME, "split").await;
        b.send_request(
            op::RAISE_EVENT,
            Parameters::new().with(param::CODE, 3u8),
            SendOptions::RELIABLE,
        );
        assert_eq!(a.event(3).await.sender, 2);

        // The game deployment stops: the master forgets its rooms.
        back.shutdown().await;
        let mut gone = false;
        for _ in 0..50 {
            let r = m
                .request(
                    op::JOIN_GAME,
                    Parameters::new().with(param::ROOM_NAME, "split"),
                )
                .await;
            if r.return_code == error::GAME_DOES_NOT_EXIST {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(gone, "rooms of a vanished game server are forgotten");
        front.shutdown().await;
    })
    .await;
}
