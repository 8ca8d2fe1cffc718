//! WebSocket upgrade on both sides: the server checks the path (wrong path: HTTP
//! 404 with a readable body), the client turns a failed upgrade into a sentence.

use super::stream::{websocket_config, BoxedIo};
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request as ServerRequest, Response,
};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::WebSocketStream;

/// Accepts a WebSocket upgrade on `io`, refusing paths other than `path` (when
/// given) with HTTP 404 and a body naming the expected path.
pub async fn accept(
    io: BoxedIo,
    path: Option<&str>,
    frame_limit: usize,
) -> Result<WebSocketStream<BoxedIo>, String> {
    let expected = path.map(str::to_owned);
    #[allow(clippy::result_large_err)] // tungstenite's callback signature
    let callback = move |request: &ServerRequest,
                         response: Response|
          -> Result<Response, ErrorResponse> {
        let asked = request.uri().path();
        match &expected {
            Some(expected) if asked != expected => {
                let body = format!(
                    "no WebSocket endpoint at {asked}; this port serves {expected} (connect to ws[s]://host:port{expected})\n"
                );
                let mut error = ErrorResponse::new(Some(body));
                *error.status_mut() = StatusCode::NOT_FOUND;
                Err(error)
            }
            _ => Ok(response),
        }
    };
    tokio_tungstenite::accept_hdr_async_with_config(
        io,
        callback,
        Some(websocket_config(frame_limit)),
    )
    .await
    .map_err(|error| format!("WebSocket upgrade failed: {error}"))
}

/// Performs the client side of the upgrade for `url` (`ws://` or `wss://`) on an
/// already opened (and for WSS, TLS-wrapped) stream.
pub async fn connect(
    io: BoxedIo,
    url: &str,
    frame_limit: usize,
) -> Result<WebSocketStream<BoxedIo>, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let request: Request = url
        .into_client_request()
        .map_err(|e| format!("invalid WebSocket request: {e}"))?;
    match tokio_tungstenite::client_async_with_config(
        request,
        io,
        Some(websocket_config(frame_limit)),
    )
    .await
    {
        Ok((socket, _response)) => Ok(socket),
        Err(error) => Err(describe_client_error(&error)),
    }
}

/// Words a client upgrade failure so that a person can act on it.
pub fn describe_client_error(error: &WsError) -> String {
    match error {
        WsError::Http(response) => {
            let status = response.status();
            let body = response
                .body()
                .as_deref()
                .map(|b| {
                    String::from_utf8_lossy(&b[..b.len().min(512)])
                        .trim()
                        .to_string()
                })
                .unwrap_or_default();
            let hint = if status == StatusCode::NOT_FOUND {
                "; check the path (for example /Master or /Game)"
            } else {
                ""
            };
            if body.is_empty() {
                format!("the server answered HTTP {status}{hint}")
            } else {
                format!("the server answered HTTP {status}: {body}{hint}")
            }
        }
        WsError::HttpFormat(e) => {
            format!("the server did not answer with HTTP ({e}); is this a WebSocket port?")
        }
        WsError::Protocol(e) => format!(
            "the server did not complete the WebSocket handshake ({e}); is this a WebSocket port?"
        ),
        WsError::Io(e) => format!("I/O error during the upgrade: {e}"),
        other => other.to_string(),
    }
}
