//! The shape shared by the three roles' sans-IO logic.

use crate::outbox::{respond_error, MessageMeta, OpError, Outbox};
use std::time::Instant;
use transport::codec::{OperationRequest, RawSendView};
use transport::lb::error;
use transport::{PeerHandle, Protocol};

/// One role's logic: inputs with the time, outputs to an [`Outbox`].
///
/// Rules: time never goes backwards; after every input the handler asks
/// [`RoleLogic::poll_timeout`] again; spurious `handle_timeout` calls are harmless.
pub trait RoleLogic: Send + 'static {
    /// Commands from other tasks (other roles, HTTP results).
    type Command: Send + 'static;

    /// A peer connected over `protocol`.
    fn handle_connected(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        protocol: Protocol,
        out: &mut dyn Outbox,
    );
    /// Encrypted messages can now be sent to the peer.
    fn handle_encryption_established(&mut self, now: Instant, peer: PeerHandle) {
        let _ = (now, peer);
    }
    /// The peer is gone.
    fn handle_disconnected(&mut self, now: Instant, peer: PeerHandle, out: &mut dyn Outbox);
    /// Carries out an operation request, answering it through `out`; an
    /// error is answered by [`RoleLogic::handle_request`].
    fn dispatch(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        request: &OperationRequest,
        meta: &MessageMeta,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError>;
    /// An operation request: [`RoleLogic::dispatch`], with an error answered
    /// as a response carrying its code and message.
    fn handle_request(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        request: OperationRequest,
        meta: MessageMeta,
        out: &mut dyn Outbox,
    ) {
        if let Err(e) = self.dispatch(now, peer, &request, &meta, out) {
            respond_error(out, now, peer, &meta, request.code, e.code, e.message);
        }
    }
    /// A raw (voice) frame. Only the game server relays them.
    fn handle_raw(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        view: RawSendView<'_>,
        meta: MessageMeta,
        out: &mut dyn Outbox,
    ) {
        let _ = view;
        respond_error(
            out,
            now,
            peer,
            &meta,
            0,
            error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
            "raw voice frames are relayed only by the game server, inside a room",
        );
    }
    /// A command from another task.
    fn handle_command(&mut self, now: Instant, command: Self::Command, out: &mut dyn Outbox);
    /// Timers due at `now`.
    fn handle_timeout(&mut self, now: Instant, out: &mut dyn Outbox);
    /// The next timer.
    fn poll_timeout(&self) -> Option<Instant>;
    /// True for a peer the per-peer rate limits do not apply to (the master's
    /// authenticated game server links, whose reports can be large).
    fn is_rate_limit_exempt(&self, peer: PeerHandle) -> bool {
        let _ = peer;
        false
    }
}
