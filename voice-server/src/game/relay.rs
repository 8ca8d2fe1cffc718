//! Who receives an event, and the voice fast path.
//!
//! Rules (Photon's): target actors, when given, take precedence over the
//! receiver group and the interest group; otherwise `MasterClient` sends to the
//! master client only; otherwise interest group 0 means every active actor and
//! another group the actors subscribed to it; `Others` excludes the sender,
//! `All` includes it.
//!
//! The fast path forwards a raw frame as `[header, payload]`: the header (the
//! sender's actor number) is written once per frame into a reused buffer, the
//! payload is the received bytes, unparsed and uncopied; the core encrypts per
//! receiver when the sender's frame was encrypted.

use crate::game::room::Room;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use std::time::Instant;
use transport::codec::{RawSendView, ReceiverGroup};
use transport::{PeerHandle, SendError, SendOptions};

/// Receiver group from the RaiseEvent parameter.
pub fn receiver_group(value: u8) -> Option<ReceiverGroup> {
    match value {
        0 => Some(ReceiverGroup::Others),
        1 => Some(ReceiverGroup::All),
        2 => Some(ReceiverGroup::MasterClient),
        _ => None,
    }
}

/// Calls `f` with the peer of every receiver, in actor order (targets in the
/// order given, each at most once per occurrence, inactive ones skipped).
pub fn for_each_receiver(
    room: &Room,
    sender: i32,
    receivers: ReceiverGroup,
    group: u8,
    targets: Option<&mut dyn Iterator<Item = i32>>,
    mut f: impl FnMut(PeerHandle),
) {
    if let Some(targets) = targets {
        for number in targets {
            if let Some(peer) = room.actors.get(&number).and_then(|a| a.peer) {
                f(peer);
            }
        }
        return;
    }
    if receivers == ReceiverGroup::MasterClient {
        if let Some(peer) = room.actors.get(&room.master_client).and_then(|a| a.peer) {
            f(peer);
        }
        return;
    }
    for actor in room.actors.values() {
        let Some(peer) = actor.peer else { continue };
        if actor.number == sender && receivers != ReceiverGroup::All {
            continue;
        }
        if !actor.groups.contains(group) {
            continue;
        }
        f(peer);
    }
}

/// Peers receiving an event into `out` (cleared first).
pub fn collect_receivers(
    room: &Room,
    sender: i32,
    receivers: ReceiverGroup,
    group: u8,
    targets: Option<&[i32]>,
    out: &mut Vec<PeerHandle>,
) {
    out.clear();
    match targets {
        Some(t) => {
            let mut it = t.iter().copied();
            for_each_receiver(room, sender, receivers, group, Some(&mut it), |p| {
                out.push(p)
            })
        }
        None => for_each_receiver(room, sender, receivers, group, None, |p| out.push(p)),
    }
}

/// Forwards one raw frame to its receivers. Returns the number of receivers
/// it was queued for.
#[allow(clippy::too_many_arguments)]
pub fn relay_raw(
    now: Instant,
    room: &Room,
    sender: i32,
    view: &RawSendView<'_>,
    header: &[u8],
    options: SendOptions,
    out: &mut dyn Outbox,
    metrics: &Metrics,
) -> usize {
    let mut sent = 0;
    let mut send =
        |peer: PeerHandle| match out.send_parts(now, peer, &[header, view.payload], options) {
            Ok(()) => sent += 1,
            Err(SendError::EncryptionNotEstablished) => Metrics::inc(&metrics.encryption_failures),
            Err(e) => tracing::trace!(?peer, %e, "voice frame not relayed"),
        };
    if view.routing.target_count > 0 {
        let mut targets = view.targets();
        for_each_receiver(
            room,
            sender,
            view.routing.receivers,
            view.routing.interest_group,
            Some(&mut targets),
            &mut send,
        );
    } else {
        for_each_receiver(
            room,
            sender,
            view.routing.receivers,
            view.routing.interest_group,
            None,
            &mut send,
        );
    }
    metrics
        .voice_frames_relayed
        .fetch_add(sent as u64, std::sync::atomic::Ordering::Relaxed);
    sent
}
