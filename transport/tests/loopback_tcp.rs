//! Loopback over TCP: a full session, refusal, and garbage from one stream.

mod loopback_support;

use loopback_support::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use transport::runtime::{Client, ConnectError};
use transport::{Protocol, SendOptions};

#[tokio::test]
async fn tcp_full_session() {
    guard(async {
        let mut server = start(vec![listener(Protocol::Tcp, None, None)]).await;
        let url = server.url(Protocol::Tcp, "");
        full_session(&mut server, &url, client_config(None)).await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn tcp_closed_port_is_refused() {
    guard(async {
        let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = probe.local_addr().unwrap();
        drop(probe);
        let error = Client::connect(&format!("tcp://{address}"), client_config(None))
            .await
            .unwrap_err();
        assert!(
            matches!(error, ConnectError::Refused { address: a } if a == address),
            "{error}"
        );
        println!("{error}");
        assert!(error.to_string().contains("refused"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn invalid_url_says_how_to_fix_it() {
    guard(async {
        let error = Client::connect("localhost:4533", client_config(None))
            .await
            .unwrap_err();
        assert!(matches!(error, ConnectError::InvalidUrl { .. }), "{error}");
        assert!(error.to_string().contains("tcp://host:port"), "{error}");
    })
    .await;
}

/// One stream announces a 4 GiB frame, another sends a well-framed garbage
/// frame: both are dropped, and a well-behaved client is served throughout.
#[tokio::test]
async fn tcp_garbage_and_oversized_frames_do_not_hurt_others() {
    guard(async {
        let mut server = start(vec![listener(Protocol::Tcp, None, None)]).await;
        let url = server.url(Protocol::Tcp, "");
        let address = server.addresses[0].1;
        let (client, mut events) = Client::connect(&url, client_config(None)).await.unwrap();

        let mut oversized = tokio::net::TcpStream::connect(address).await.unwrap();
        oversized
            .write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3])
            .await
            .unwrap();
        let mut garbage = tokio::net::TcpStream::connect(address).await.unwrap();
        garbage
            .write_all(&[0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3])
            .await
            .unwrap();

        // The oversized stream is closed by the server (EOF or reset), promptly.
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(WAIT, oversized.read(&mut buf))
            .await
            .expect("server closes the stream");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

        client
            .send(
                bytes::Bytes::from_static(b"echo:still here"),
                SendOptions::RELIABLE,
            )
            .unwrap();
        let reply = client_message(&mut events).await;
        assert_eq!(&reply.payload[..], b"re:still here");

        // A second client can still connect while the garbage stream lingers or is gone.
        let (other, mut other_events) = Client::connect(&url, client_config(None)).await.unwrap();
        other
            .send(
                bytes::Bytes::from_static(b"echo:2"),
                SendOptions::UNRELIABLE,
            )
            .unwrap();
        assert_eq!(
            &client_message(&mut other_events).await.payload[..],
            b"re:2"
        );
        drop(garbage);
        let _ = tokio::time::timeout(Duration::from_millis(10), server.events.recv()).await;
        server.stop().await;
    })
    .await;
}

/// The channel convenience: events as a stream, sends from any task, and
/// `try_recv` polling on the client as a game loop would.
#[tokio::test]
async fn channel_handler_and_polling_client() {
    use transport::runtime::{ChannelHandler, Server};
    use transport::{ConnectionEvent, EndpointConfig};
    guard(async {
        let server = Server::bind(
            vec![listener(Protocol::Tcp, None, None)],
            EndpointConfig::default(),
        )
        .await
        .unwrap();
        let address = server.local_address(Protocol::Tcp).unwrap();
        let (handler, handle, mut server_events) = ChannelHandler::new(&server);
        let run = tokio::spawn(server.run(handler, std::future::pending()));

        let (client, mut events) =
            Client::connect(&format!("tcp://{address}"), client_config(None))
                .await
                .unwrap();
        let connected = tokio::time::timeout(WAIT, server_events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(connected.event, ConnectionEvent::Connected);
        handle
            .send(
                connected.peer,
                bytes::Bytes::from_static(b"tick"),
                SendOptions::UNRELIABLE,
            )
            .unwrap();

        // Poll without blocking, as a game loop does once per frame.
        let mut received = None;
        for _ in 0..500 {
            match events.try_recv() {
                Some(ConnectionEvent::Message(message)) => {
                    received = Some(message);
                    break;
                }
                Some(_) => {}
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        assert_eq!(
            &received.expect("message within 2.5 s").payload[..],
            b"tick"
        );

        client
            .send(bytes::Bytes::from_static(b"tock"), SendOptions::RELIABLE)
            .unwrap();
        let message = tokio::time::timeout(WAIT, server_events.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(message.event, ConnectionEvent::Message(ref m) if &m.payload[..] == b"tock")
        );

        // Dropping every handle of a client closes it gracefully.
        drop(client);
        drop(events);
        let gone = tokio::time::timeout(WAIT, server_events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            gone.event,
            ConnectionEvent::Disconnected(transport::DisconnectReason::ByPeer)
        );

        handle.shutdown();
        tokio::time::timeout(WAIT, run)
            .await
            .expect("server stops")
            .unwrap()
            .unwrap();
        // A stopped server gives commands back.
        assert!(handle
            .send(gone.peer, bytes::Bytes::new(), SendOptions::RELIABLE)
            .is_err());
    })
    .await;
}

/// A peer that stops reading fills its write queue and is disconnected; the
/// driver never waits for it, and other peers are served meanwhile.
#[tokio::test]
async fn peer_that_stops_reading_is_disconnected() {
    use std::sync::Arc;
    use std::time::Instant;
    use transport::{Connection, ConnectionEvent, DisconnectReason};
    guard(async {
        let mut server = start(vec![listener(Protocol::Tcp, None, None)]).await;
        let address = server.addresses[0].1;

        // A hand-driven client: the sans-IO connection over a raw TCP stream.
        let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut connection = Connection::connect(Instant::now(), Arc::default(), Protocol::Tcp, 1);
        let mut buf = Vec::new();
        let mut connected = false;
        for _ in 0..20 {
            while let Some(size) = connection.poll_transmit(Instant::now(), &mut buf) {
                tcp.write_all(&(size as u32).to_be_bytes()).await.unwrap();
                tcp.write_all(&buf[..size]).await.unwrap();
            }
            if std::iter::from_fn(|| connection.poll_event())
                .any(|e| e == ConnectionEvent::Connected)
            {
                connected = true;
                break;
            }
            let mut header = [0u8; 4];
            tokio::time::timeout(WAIT, tcp.read_exact(&mut header))
                .await
                .unwrap()
                .unwrap();
            let mut frame = vec![0u8; u32::from_be_bytes(header) as usize];
            tcp.read_exact(&mut frame).await.unwrap();
            connection.handle_datagram(Instant::now(), &frame);
        }
        assert!(connected, "raw client completed the handshake");
        let stuck = server.wait_connected().await;

        // It never reads again; the server floods it.
        let (client, mut events) =
            Client::connect(&server.url(Protocol::Tcp, ""), client_config(None))
                .await
                .unwrap();
        server.wait_connected().await;
        // Each flood (1.6 MB) stays under the transport's reliable backlog
        // limit (2 MiB, sim_stream.rs tests it): the driver's write queue is
        // what fills here.
        for _ in 0..60 {
            server
                .control
                .command(loopback_support::TestCommand::Flood(stuck, 100, 16 * 1024))
                .unwrap();
        }
        let gone = server
            .wait_for("the stuck peer's disconnect", |e| {
                e.peer == stuck && matches!(e.event, ConnectionEvent::Disconnected(_))
            })
            .await;
        assert!(
            matches!(
                gone.event,
                ConnectionEvent::Disconnected(DisconnectReason::Transport(_))
            ),
            "{gone:?}"
        );
        client
            .send(
                bytes::Bytes::from_static(b"echo:alive"),
                SendOptions::RELIABLE,
            )
            .unwrap();
        assert_eq!(&client_message(&mut events).await.payload[..], b"re:alive");
        drop(tcp);
        server.stop().await;
    })
    .await;
}

/// A TCP client reaching a WebSocket port is told it is one.
#[tokio::test]
async fn tcp_client_to_websocket_port_says_so() {
    guard(async {
        let server = start(vec![listener(Protocol::Ws, Some("/Master"), None)]).await;
        let address = server.addresses[0].1;
        let error = Client::connect(&format!("tcp://{address}"), client_config(None))
            .await
            .unwrap_err();
        println!("{error}");
        assert!(matches!(error, ConnectError::Protocol { .. }), "{error}");
        assert!(error.to_string().contains("ws://host:port/path"), "{error}");
        server.stop().await;
    })
    .await;
}

/// A port that accepts TCP but answers with something else than this protocol.
#[tokio::test]
async fn wrong_greeting_is_a_protocol_error() {
    guard(async {
        let impostor = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = impostor.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = impostor.accept().await.unwrap();
            let mut request = [0u8; 64];
            let _ = stream.read(&mut request).await;
            // A well-formed frame holding garbage.
            let _ = stream
                .write_all(&[0, 0, 0, 6, 0xba, 0xad, 0xf0, 0x0d, 0, 1])
                .await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let config = transport::runtime::ClientConfig {
            connect_timeout: Duration::from_secs(2),
            ..client_config(None)
        };
        let error = Client::connect(&format!("tcp://{address}"), config)
            .await
            .unwrap_err();
        println!("{error}");
        assert!(matches!(error, ConnectError::Protocol { .. }), "{error}");
    })
    .await;
}
