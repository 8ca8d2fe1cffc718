//! Loopback over WebSocket: a full session, the wrong path, and bad input.

mod loopback_support;

use bytes::Bytes;
use futures_util::SinkExt;
use loopback_support::*;
use transport::runtime::{Client, ConnectError};
use transport::{Protocol, SendOptions};

#[tokio::test]
async fn ws_full_session() {
    guard(async {
        let mut server = start(vec![listener(Protocol::Ws, Some("/Master"), None)]).await;
        let url = server.url(Protocol::Ws, "/Master");
        full_session(&mut server, &url, client_config(None)).await;
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn ws_wrong_path_is_a_readable_404() {
    guard(async {
        let server = start(vec![listener(Protocol::Ws, Some("/Master"), None)]).await;
        let error = Client::connect(&server.url(Protocol::Ws, "/Game"), client_config(None))
            .await
            .unwrap_err();
        assert!(matches!(error, ConnectError::WebSocket { .. }), "{error}");
        let text = error.to_string();
        println!("{text}");
        assert!(text.contains("404"), "{text}");
        assert!(
            text.contains("/Master"),
            "the body names the served path: {text}"
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn ws_to_a_tcp_port_says_it_is_not_websocket() {
    guard(async {
        let server = start(vec![listener(Protocol::Tcp, None, None)]).await;
        let address = server.addresses[0].1;
        let config = transport::runtime::ClientConfig {
            connect_timeout: std::time::Duration::from_secs(1),
            ..client_config(None)
        };
        let error = Client::connect(&format!("ws://{address}/Master"), config)
            .await
            .unwrap_err();
        println!("{error}");
        assert!(matches!(error, ConnectError::WebSocket { .. }), "{error}");
        assert!(
            error.to_string().contains("is this a WebSocket port?"),
            "{error}"
        );
        server.stop().await;
    })
    .await;
}

/// Text messages and garbage binary frames close only the offending socket.
#[tokio::test]
async fn ws_garbage_does_not_hurt_others() {
    guard(async {
        let server = start(vec![listener(Protocol::Ws, Some("/Game"), None)]).await;
        let url = server.url(Protocol::Ws, "/Game");
        let (client, mut events) = Client::connect(&url, client_config(None)).await.unwrap();

        let (mut text_socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        text_socket
            .send(tokio_tungstenite::tungstenite::Message::Text(
                "hello".into(),
            ))
            .await
            .unwrap();
        let (mut junk_socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        junk_socket
            .send(tokio_tungstenite::tungstenite::Message::Binary(vec![
                0xff;
                300
            ]))
            .await
            .unwrap();

        client
            .send(Bytes::from_static(b"echo:fine"), SendOptions::RELIABLE)
            .unwrap();
        assert_eq!(&client_message(&mut events).await.payload[..], b"re:fine");
        server.stop().await;
    })
    .await;
}
