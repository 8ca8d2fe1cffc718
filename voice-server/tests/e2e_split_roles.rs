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

/// The local test configuration with a deployment secret that separate
/// deployments share (they read each other's tokens and reports).
fn shared_config() -> voice_server::config::Config {
    let mut config = local_config();
    config.token.secret = "a shared deployment secret, long enough".into();
    config
}

/// Options that run only `roles` (as a process with `--role` would).
fn only(roles: &[Role]) -> StartOptions {
    StartOptions {
        roles: roles.to_vec(),
        ..StartOptions::default()
    }
}

#[tokio::test]
async fn game_server_in_another_deployment_reports_over_a_link() {
    guard(async {
        let config = shared_config();
        let front = start(config.clone(), only(&[Role::Name, Role::Master]))
            .await
            .unwrap();
        // The game deployment learns the master's server-to-server port from
        // its configuration ([cluster] listeners, at the master's public host).
        let mut game_config = config.clone();
        for l in &mut game_config.cluster.listeners {
            let bound = front
                .listeners
                .iter()
                .find(|b| b.for_servers && b.protocol == l.effective_protocol())
                .unwrap();
            l.port = bound.local.port();
        }
        let back = start(game_config, only(&[Role::Game])).await.unwrap();

        // Until the link is up the master has no game server (ServerFull).
        assert!(
            master_has_a_game_server(&front, "probe").await,
            "the game server linked to the master"
        );

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
        let (master_url, token) = authenticate(&front, Protocol::Udp, "watcher").await;
        let mut m = master(&master_url, &token).await;
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

/// Waits (bounded, 5 s) until the master places rooms on a game server;
/// false if it never does.
async fn master_has_a_game_server(front: &voice_server::run::Deployment, user: &str) -> bool {
    let (master_url, token) = authenticate(front, Protocol::Udp, user).await;
    let mut m = master(&master_url, &token).await;
    for attempt in 0..50 {
        let r = m
            .request(
                op::JOIN_GAME,
                Parameters::new()
                    .with(param::ROOM_NAME, format!("probe{attempt}"))
                    .with(param::JOIN_MODE, 1u8),
            )
            .await;
        if r.return_code == 0 {
            return true;
        }
        assert_eq!(r.return_code, error::SERVER_FULL, "{r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn game_server_links_to_the_master_over_tls_trusting_its_ca() {
    guard(async {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = gen_cert(dir.path());
        let mut config = shared_config();
        // The master gets a TLS-over-TCP server-to-server listener with the
        // generated certificate.
        let mut tls: voice_server::config::ListenerSpec =
            toml::from_str("protocol = \"tls\"").unwrap();
        tls.address = "127.0.0.1".parse().unwrap();
        tls.certificate_path = Some(dir.path().to_string_lossy().into_owned());
        config.cluster.listeners.push(tls);
        let front = start(config.clone(), only(&[Role::Name, Role::Master]))
            .await
            .unwrap();
        let master_tls = front
            .server_link_url(Protocol::Tls)
            .expect("a tls server-to-server listener");
        assert_eq!(
            front.url(Role::Master, Protocol::Tls),
            None,
            "the server-to-server listener is not a client listener"
        );
        let game_config = |ca: &str| {
            let mut c = config.clone();
            c.cluster.master_url = master_tls.clone();
            c.cluster.master_ca_file = ca.into();
            c
        };

        // Without the CA the link cannot trust the master: no game server.
        let untrusting = start(game_config(""), only(&[Role::Game])).await.unwrap();
        assert!(
            !master_has_a_game_server(&front, "probe1").await,
            "a link that does not trust the master's certificate never registers"
        );
        untrusting.shutdown().await;

        // A missing CA file stops the start with a message naming the key.
        let e = start(game_config("/nonexistent/ca.pem"), only(&[Role::Game]))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("cluster.master_ca_file"), "{e}");

        // Trusting the generated CA, the link registers and rooms work.
        let back = start(game_config(&ca_file.to_string_lossy()), only(&[Role::Game]))
            .await
            .unwrap();
        assert!(
            master_has_a_game_server(&front, "probe2").await,
            "linked over tls://"
        );
        let (mut a, _) = enter_room(
            &front,
            Protocol::Udp,
            "alice",
            op::CREATE_GAME,
            "tls-linked",
        )
        .await;
        let (b, _) = enter_room(&front, Protocol::Udp, "bob", op::JOIN_GAME, "tls-linked").await;
        b.send_request(
            op::RAISE_EVENT,
            Parameters::new().with(param::CODE, 4u8),
            SendOptions::RELIABLE,
        );
        assert_eq!(a.event(4).await.sender, 2);
        back.shutdown().await;
        front.shutdown().await;
    })
    .await;
}

/// The master's server-to-server listener serves game servers alone, and while
/// it exists reports on client listeners are refused; each refusal says where
/// to go instead.
#[tokio::test]
async fn server_listener_serves_game_servers_only() {
    guard(async {
        let config = shared_config();
        let front = start(config.clone(), only(&[Role::Name, Role::Master]))
            .await
            .unwrap();
        let server_link = front
            .server_link_url(Protocol::Tcp)
            .expect("tcp server listener");
        let server_port = server_link.rsplit(':').next().unwrap().to_owned();

        // The name server never hands the server listener to clients.
        let (master_url, token) = authenticate(&front, Protocol::Tcp, "alice").await;
        assert_ne!(master_url, server_link);

        // A client on the server listener: every client operation refused.
        let mut stray = TestClient::connect(&server_link).await;
        let r = stray
            .request(
                op::AUTHENTICATE,
                Parameters::new().with(param::TOKEN, token.clone()),
            )
            .await;
        assert_eq!(
            r.return_code,
            error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
            "{r:?}"
        );
        let message = r.debug_message.clone().unwrap_or_default();
        assert!(message.contains("server-to-server listener"), "{message}");
        assert!(message.contains("name server"), "{message}");

        // A report on a client listener: refused, naming the server port.
        let mut client = master(&master_url, &token).await;
        let r = client
            .request(op::GAME_SERVER_REPORT, Parameters::new())
            .await;
        assert_eq!(
            r.return_code,
            error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
            "{r:?}"
        );
        let message = r.debug_message.clone().unwrap_or_default();
        assert!(
            message.contains(&format!("port {server_port}")),
            "{message}"
        );
        assert!(message.contains("cluster.master_url"), "{message}");
        // ... and the same master keeps serving that client.
        let r = client.request(op::JOIN_LOBBY, Parameters::new()).await;
        assert_eq!(r.return_code, 0, "{r:?}");

        // A game server pointed at a client listener never registers ...
        let mut misdirected = config.clone();
        misdirected.cluster.master_url = master_url.clone();
        let back = start(misdirected, only(&[Role::Game])).await.unwrap();
        assert!(
            !master_has_a_game_server(&front, "probe1").await,
            "reports through a client listener are refused"
        );
        back.shutdown().await;
        // ... and pointed at the server listener it does.
        let mut linked = config.clone();
        linked.cluster.master_url = server_link.clone();
        let back = start(linked, only(&[Role::Game])).await.unwrap();
        assert!(
            master_has_a_game_server(&front, "probe2").await,
            "linked through the server listener"
        );
        back.shutdown().await;
        front.shutdown().await;
    })
    .await;
}
