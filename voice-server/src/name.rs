//! The name server: authenticates clients (optionally against a custom HTTP
//! provider) and answers the master's address for the client's protocol with a
//! sealed token.
//!
//! Authentication carries user credentials, so it must travel encrypted: over
//! UDP, TCP and WS the client calls `establish_encryption` first; over WSS, TLS
//! covers it. A clear one is refused with InvalidAuthentication.

use crate::auth::{AuthJob, AuthOutcome};
use crate::config::{AppConfig, WhenUnavailable};
use crate::logic::RoleLogic;
use crate::metrics::Metrics;
use crate::outbox::{respond, respond_error, MessageMeta, OpError, Outbox, Params};
use crate::token::{TokenClaims, TokenKey, UnixClock};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::codec::{OperationRequest, Parameters};
use transport::lb::{auth_type, error, op, param};
use transport::{PeerHandle, Protocol};

/// Settings of the name server logic.
#[derive(Debug, Clone)]
pub struct NameSettings {
    /// The master's announced URLs by protocol.
    pub master_addresses: Vec<(Protocol, String)>,
    /// Applications allowed (empty: any).
    pub apps: Vec<AppConfig>,
    /// Token lifetime.
    pub token_lifetime: Duration,
    /// Custom authentication is configured.
    pub custom_auth: bool,
    /// Every client must use custom authentication.
    pub custom_auth_required: bool,
    /// What to do when the provider is unavailable.
    pub when_unavailable: WhenUnavailable,
}

/// Commands to the name server.
#[derive(Debug)]
#[non_exhaustive]
pub enum NameCommand {
    /// The answer of a custom authentication request.
    AuthResult {
        /// The peer.
        peer: PeerHandle,
        /// The job id (ignored if the peer moved on).
        job: u64,
        /// The provider's verdict.
        outcome: AuthOutcome,
    },
}

/// Where custom authentication jobs go (an HTTP task in production).
pub type AuthSink = Box<dyn FnMut(AuthJob) + Send>;

#[derive(Debug)]
struct Pending {
    job: u64,
    meta: MessageMeta,
    code: u8,
    claims: TokenClaims,
}

#[derive(Debug)]
struct NamePeer {
    protocol: Protocol,
    pending: Option<Pending>,
}

/// The name server's logic.
pub struct NameLogic {
    settings: NameSettings,
    key: TokenKey,
    clock: Arc<dyn UnixClock>,
    metrics: Arc<Metrics>,
    peers: HashMap<PeerHandle, NamePeer>,
    auth: AuthSink,
    next_job: u64,
}

impl std::fmt::Debug for NameLogic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameLogic")
            .field("peers", &self.peers.len())
            .finish()
    }
}

impl NameLogic {
    /// A name server.
    pub fn new(
        settings: NameSettings,
        key: TokenKey,
        clock: Arc<dyn UnixClock>,
        metrics: Arc<Metrics>,
        auth: AuthSink,
    ) -> Self {
        Self {
            settings,
            key,
            clock,
            metrics,
            peers: HashMap::new(),
            auth,
            next_job: 1,
        }
    }

    fn check_app(&self, app_id: &str, version: &str) -> Result<(), OpError> {
        if self.settings.apps.is_empty() {
            return Ok(());
        }
        let Some(app) = self.settings.apps.iter().find(|a| a.id == app_id) else {
            return Err(OpError::new(
                error::INVALID_AUTHENTICATION,
                format!(
                    "unknown application id {app_id:?}: use an id listed in the server's [[apps]]"
                ),
            ));
        };
        if !app.versions.is_empty() && !app.versions.iter().any(|v| v == version) {
            return Err(OpError::new(
                error::INVALID_AUTHENTICATION,
                format!(
                    "application version {version:?} is not allowed (allowed: {:?})",
                    app.versions
                ),
            ));
        }
        Ok(())
    }

    fn finish(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        meta: &MessageMeta,
        code: u8,
        claims: TokenClaims,
        out: &mut dyn Outbox,
    ) {
        let Some(protocol) = self.peers.get(&peer).map(|p| p.protocol) else {
            return;
        };
        let Some(address) = self
            .settings
            .master_addresses
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|(_, a)| a.clone())
        else {
            respond_error(out, now, peer, meta, code, error::INTERNAL_SERVER_ERROR, format!("the master has no {protocol} listener: add one to [master] listeners, or connect with another protocol"));
            return;
        };
        let token = self.key.seal(&claims);
        Metrics::inc(&self.metrics.authentications);
        let params = Parameters::new()
            .with(param::ADDRESS, address)
            .with(param::TOKEN, token)
            .with(param::USER_ID, claims.user_id.clone());
        respond(out, now, peer, meta, code, params);
    }

    fn authenticate(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        request: &OperationRequest,
        meta: &MessageMeta,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        let code = request.code;
        if !meta.encrypted {
            return Err(OpError::new(error::INVALID_AUTHENTICATION, "authentication must be sent encrypted: call establish_encryption first (or use wss)"));
        }
        if self.peers.get(&peer).is_some_and(|p| p.pending.is_some()) {
            return Err(OpError::new(
                error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
                "an authentication is already in progress: wait for its answer",
            ));
        }
        let p = Params::new(code, &request.parameters);
        let app_id = p.str(param::APPLICATION_ID)?.to_owned();
        let app_version = p.opt_str(param::APP_VERSION)?.unwrap_or("").to_owned();
        self.check_app(&app_id, &app_version)?;
        let user_id = p
            .opt_str(param::USER_ID)?
            .map(str::to_owned)
            .filter(|u| !u.is_empty());
        let kind = p
            .opt_int(param::CLIENT_AUTHENTICATION_TYPE)?
            .unwrap_or(i64::from(auth_type::NONE));
        let query = p
            .opt_str(param::CLIENT_AUTHENTICATION_PARAMS)?
            .unwrap_or("")
            .to_owned();
        let body = p
            .opt_bytes(param::CLIENT_AUTHENTICATION_DATA)?
            .map(<[u8]>::to_vec);
        let now_ms = self.clock.unix_ms(now);
        let claims = TokenClaims {
            user_id: user_id
                .clone()
                .unwrap_or_else(|| format!("user-{:016x}", rand::random::<u64>())),
            app_id,
            app_version,
            auth_values: query.clone(),
            issued_ms: now_ms,
            expires_ms: now_ms.saturating_add(self.settings.token_lifetime.as_millis() as u64),
            data: serde_json::Value::Null,
        };
        let custom = kind == i64::from(auth_type::CUSTOM);
        if self.settings.custom_auth && (custom || self.settings.custom_auth_required) {
            let job = self.next_job;
            self.next_job += 1;
            if let Some(np) = self.peers.get_mut(&peer) {
                np.pending = Some(Pending {
                    job,
                    meta: *meta,
                    code,
                    claims,
                });
            }
            (self.auth)(AuthJob {
                peer,
                job,
                user_id,
                query,
                body,
            });
            return Ok(());
        }
        if custom {
            return Err(OpError::new(error::CUSTOM_AUTHENTICATION_FAILED, "custom authentication is not configured on this server: leave the authentication type unset (255)"));
        }
        self.finish(now, peer, meta, code, claims, out);
        Ok(())
    }

    fn auth_result(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        job: u64,
        outcome: AuthOutcome,
        out: &mut dyn Outbox,
    ) {
        let Some(np) = self.peers.get_mut(&peer) else {
            return;
        };
        if np.pending.as_ref().map(|p| p.job) != Some(job) {
            return;
        }
        let Pending {
            meta,
            code,
            mut claims,
            ..
        } = np.pending.take().expect("checked above");
        match outcome {
            AuthOutcome::Accepted { user_id, data } => {
                if let Some(u) = user_id.filter(|u| !u.is_empty()) {
                    claims.user_id = u;
                }
                claims.data = data;
                self.finish(now, peer, &meta, code, claims, out);
            }
            AuthOutcome::Rejected { message } => {
                respond_error(
                    out,
                    now,
                    peer,
                    &meta,
                    code,
                    error::CUSTOM_AUTHENTICATION_FAILED,
                    format!("custom authentication rejected the user: {message}"),
                );
            }
            AuthOutcome::Unavailable { reason } => match self.settings.when_unavailable {
                WhenUnavailable::Allow => {
                    tracing::warn!(%reason, "custom authentication unavailable; allowing the client (auth.when_unavailable = \"allow\")");
                    self.finish(now, peer, &meta, code, claims, out);
                }
                WhenUnavailable::Reject => {
                    tracing::warn!(%reason, "custom authentication unavailable; rejecting the client");
                    respond_error(
                        out,
                        now,
                        peer,
                        &meta,
                        code,
                        error::CUSTOM_AUTHENTICATION_FAILED,
                        format!(
                            "the authentication service is unavailable ({reason}); retry later"
                        ),
                    );
                }
            },
        }
    }
}

impl RoleLogic for NameLogic {
    type Command = NameCommand;

    fn handle_connected(
        &mut self,
        _now: Instant,
        peer: PeerHandle,
        protocol: Protocol,
        _out: &mut dyn Outbox,
    ) {
        self.peers.insert(
            peer,
            NamePeer {
                protocol,
                pending: None,
            },
        );
    }

    fn handle_disconnected(&mut self, _now: Instant, peer: PeerHandle, _out: &mut dyn Outbox) {
        self.peers.remove(&peer);
    }

    fn dispatch(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        request: &OperationRequest,
        meta: &MessageMeta,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        match request.code {
            op::AUTHENTICATE | op::AUTHENTICATE_ONCE => self.authenticate(now, peer, request, meta, out),
            op::GET_REGIONS => Err(OpError::new(error::INVALID_OPERATION, "GetRegions (220) is not served: this deployment has one region; authenticate directly")),
            code => Err(OpError::new(error::INVALID_OPERATION, format!("unknown operation code {code} on the name server; send Authenticate (230)"))),
        }
    }

    fn handle_command(&mut self, now: Instant, command: NameCommand, out: &mut dyn Outbox) {
        match command {
            NameCommand::AuthResult { peer, job, outcome } => {
                self.auth_result(now, peer, job, outcome, out)
            }
        }
    }

    fn handle_timeout(&mut self, _now: Instant, _out: &mut dyn Outbox) {}

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

#[cfg(test)]
#[path = "name_tests.rs"]
mod tests;
