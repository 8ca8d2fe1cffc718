//! Errors of the load-balancing client.

use std::time::Duration;
use transport::lb;

use super::state::ClientState;

/// What went wrong in the load-balancing flow. Every variant says what
/// happened and, where there is one, what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LbError {
    /// The transport could not connect (the text is the transport's
    /// `ConnectError`, which names the address and the likely fix).
    #[error("connecting to the {server} at {url} failed: {reason}")]
    ConnectFailed {
        /// Which server ("name server", "master server", "game server").
        server: &'static str,
        /// The address tried.
        url: String,
        /// The transport's error text.
        reason: String,
    },
    /// A server address is not a `udp|tcp|tls|ws|wss://host:port[/path]` URL.
    #[error("invalid server address {0:?}: use udp://host:port, tcp://host:port, tls://host:port, ws://host:port/path or wss://host:port/path")]
    InvalidAddress(String),
    /// The server answered an operation with an error code.
    #[error("{operation} failed: {code_name} ({code}): {message}")]
    OperationFailed {
        /// The operation's name (Photon's: "JoinGame", "Authenticate"...).
        operation: &'static str,
        /// The return code (see `transport::lb::error`).
        code: i16,
        /// Photon's name of the code ("GameFull"...).
        code_name: &'static str,
        /// The server's debug message, or the code's description if none was sent.
        message: String,
    },
    /// The token expired and re-authenticating at the name server failed too.
    #[error("the authentication token expired and re-authentication failed: {0}")]
    TokenExpired(String),
    /// No answer in time.
    #[error("no answer to {operation} within {timeout:?}: the server may be overloaded or the connection lost")]
    Timeout {
        /// What was waited for.
        operation: &'static str,
        /// How long.
        timeout: Duration,
    },
    /// The key exchange failed, so the authentication values could not be sent safely.
    #[error("encryption could not be established: {0}; authentication is never sent in the clear")]
    EncryptionFailed(String),
    /// The connection dropped during the flow.
    #[error("the connection to the {server} dropped: {reason}")]
    ConnectionLost {
        /// Which server.
        server: &'static str,
        /// The transport's reason.
        reason: String,
    },
    /// A command does not fit the current state.
    #[error("{operation} is not possible in state {state}: {hint}")]
    InvalidState {
        /// The command.
        operation: &'static str,
        /// The state the client was in.
        state: ClientState,
        /// What to do instead.
        hint: &'static str,
    },
    /// A server message could not be decoded or lacked a required parameter.
    #[error("unexpected message from the server: {0}")]
    Protocol(String),
    /// The transport refused a send (the text says why).
    #[error("sending failed: {0}")]
    SendFailed(String),
    /// A server reported an error outside an answer (`ErrorInfo` event).
    #[error("server error: {0}")]
    ServerError(String),
    /// The client was closed (disconnected by the application, or its driver stopped).
    #[error("the client is closed")]
    Closed,
    /// Bad arguments (the text names the argument and the fix).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl LbError {
    /// The error of an operation answer with a non-zero return code.
    pub fn from_response(operation: u8, code: i16, debug_message: Option<&str>) -> Self {
        LbError::OperationFailed {
            operation: lb::op::name(operation),
            code,
            code_name: lb::error::name(code),
            message: match debug_message {
                Some(text) if !text.is_empty() => text.to_owned(),
                _ => lb::error::description(code).to_owned(),
            },
        }
    }

    /// The server's return code, for operation failures.
    pub fn return_code(&self) -> Option<i16> {
        match self {
            LbError::OperationFailed { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True when calling the same thing again later may succeed (timeouts,
    /// dropped connections, full servers), false for refusals that need a change.
    pub fn is_transient(&self) -> bool {
        match self {
            LbError::Timeout { .. }
            | LbError::ConnectionLost { .. }
            | LbError::ConnectFailed { .. } => true,
            LbError::OperationFailed { code, .. } => matches!(
                *code,
                lb::error::SERVER_FULL
                    | lb::error::INTERNAL_SERVER_ERROR
                    | lb::error::OPERATION_LIMIT_REACHED
                    | lb::error::MAX_CCU_REACHED
            ),
            _ => false,
        }
    }
}
