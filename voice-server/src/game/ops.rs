//! Room operations of the game server: RaiseEvent (receivers, caching),
//! token refresh, SetProperties (compare-and-set), ChangeGroups.

use super::actor::Groups;
use super::{props, relay, GameLogic};
use crate::metrics::Metrics;
use crate::outbox::{respond, send_event, MessageMeta, OpError, Outbox, Params};
use std::time::Instant;
use transport::codec::{EventData, Message, Parameters, Value};
use transport::lb::{cache as caching, error, event, op, param};
use transport::PeerHandle;

impl GameLogic {
    pub(super) fn raise_event(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        p: &Params<'_>,
        meta: &MessageMeta,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        let (room_id, sender) = self.in_room(peer)?;
        let code = p.opt_int(param::CODE)?.ok_or_else(|| {
            OpError::bad_param(
                op::RAISE_EVENT,
                param::CODE,
                "the event code (u8, required)",
            )
        })?;
        let code = u8::try_from(code).map_err(|_| {
            OpError::bad_param(op::RAISE_EVENT, param::CODE, "an event code 0..=255")
        })?;
        let receivers = p.opt_int(param::RECEIVER_GROUP)?.unwrap_or(0);
        let receivers = u8::try_from(receivers)
            .ok()
            .and_then(relay::receiver_group)
            .ok_or_else(|| {
                OpError::bad_param(
                    op::RAISE_EVENT,
                    param::RECEIVER_GROUP,
                    "0 (others), 1 (all) or 2 (master client)",
                )
            })?;
        let group = p.opt_int(param::GROUP)?.unwrap_or(0);
        let group = u8::try_from(group).map_err(|_| {
            OpError::bad_param(op::RAISE_EVENT, param::GROUP, "an interest group 0..=255")
        })?;
        let cache = p.opt_int(param::CACHE)?.unwrap_or(0) as u8;
        let targets = p.opt_i32_list(param::ACTOR_LIST)?;
        let mut parameters = Parameters::new();
        if let Some(data) = p.get(param::DATA) {
            parameters.insert(param::DATA, data.clone());
        }
        let ev = EventData {
            code,
            sender,
            parameters,
        };
        let max_cached = self.settings.max_cached_events;
        let room = self.rooms.get_mut(&room_id).expect("peer's room exists");
        match cache {
            caching::DO_NOT_CACHE => {}
            caching::ADD_TO_ROOM_CACHE | caching::ADD_TO_ROOM_CACHE_GLOBAL => {
                let owner = if cache == caching::ADD_TO_ROOM_CACHE_GLOBAL {
                    0
                } else {
                    sender
                };
                if !room.cache.add(owner, ev.clone(), max_cached) {
                    return Err(OpError::new(error::OPERATION_LIMIT_REACHED, format!("the room's event cache is full ({max_cached} events): remove cached events first")));
                }
            }
            caching::REMOVE_FROM_ROOM_CACHE => {
                room.cache.remove(code, targets.as_deref().unwrap_or(&[]));
                return Ok(());
            }
            caching::REMOVE_FROM_ROOM_CACHE_FOR_ACTORS_LEFT => {
                let present: Vec<i32> = room.actors.keys().copied().collect();
                room.cache.retain_owners(|o| present.contains(&o));
                return Ok(());
            }
            other => {
                return Err(OpError::bad_param(
                    op::RAISE_EVENT,
                    param::CACHE,
                    &format!("a known caching option (got {other}; 0, 4, 5, 6, 7)"),
                ))
            }
        }
        relay::collect_receivers(
            room,
            sender,
            receivers,
            group,
            targets.as_deref(),
            &mut self.scratch,
        );
        let options = meta.send_options();
        if options.encrypt {
            // Receivers without keys cannot get an encrypted event: count them.
            let before = self.scratch.len();
            let peers = &self.peers;
            self.scratch
                .retain(|p| peers.get(p).is_some_and(|x| x.can_encrypt));
            let dropped = before - self.scratch.len();
            self.metrics
                .encryption_failures
                .fetch_add(dropped as u64, std::sync::atomic::Ordering::Relaxed);
        }
        if !self.scratch.is_empty() {
            out.send_many(now, &self.scratch, &Message::Event(ev), options);
        }
        self.maybe_refresh_token(now, peer, out);
        Ok(())
    }

    /// Sends a refreshed token (AuthEvent) when the current one is older than
    /// the refresh interval.
    pub(super) fn maybe_refresh_token(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        out: &mut dyn Outbox,
    ) {
        let now_ms = self.clock.unix_ms(now);
        let interval = self.settings.token_refresh_interval.as_millis() as u64;
        let Some(gp) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(claims) = gp.claims.as_mut() else {
            return;
        };
        if now_ms < claims.issued_ms.saturating_add(interval) {
            return;
        }
        *claims = claims.refreshed(now_ms, self.settings.token_lifetime);
        let token = self.key.seal(claims);
        let encrypt = gp.can_encrypt;
        Metrics::inc(&self.metrics.token_refreshes);
        let ev = EventData {
            code: event::AUTH_EVENT,
            sender: 0,
            parameters: Parameters::new().with(param::TOKEN, token),
        };
        send_event(out, now, &[peer], ev, encrypt);
    }

    pub(super) fn set_properties(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        p: &Params<'_>,
        meta: &MessageMeta,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        let (room_id, sender) = self.in_room(peer)?;
        let changes = p.opt_dict(param::PROPERTIES)?.ok_or_else(|| {
            OpError::bad_param(
                op::SET_PROPERTIES,
                param::PROPERTIES,
                "a dictionary of properties (required)",
            )
        })?;
        let target = p.opt_int(param::ACTOR_NR)?.unwrap_or(0) as i32;
        let expected = p.opt_dict(param::EXPECTED_VALUES)?.unwrap_or(&[]);
        let broadcast = p.opt_bool(param::BROADCAST)?.unwrap_or(true);
        let room = self.rooms.get_mut(&room_id).expect("peer's room exists");
        if target != 0 && !room.actors.contains_key(&target) {
            return Err(OpError::new(
                error::INVALID_OPERATION,
                format!("SetProperties (252): actor {target} is not in the room"),
            ));
        }
        // Compare-and-set: every expected value must match the current one.
        for (key, want) in expected {
            let current = if target == 0 {
                match room.game_properties() {
                    Value::Dictionary(d) => d
                        .entries
                        .into_iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v),
                    _ => None,
                }
            } else {
                room.actors[&target].props.get(key).cloned()
            };
            let matches = match (&current, want) {
                (None, Value::Null) => true,
                (Some(c), w) => c == w,
                (None, _) => false,
            };
            if !matches {
                return Err(OpError::new(error::INVALID_OPERATION, format!("SetProperties (252): compare-and-set failed: property {key:?} is {current:?}, expected {want:?}; nothing was changed")));
            }
        }
        if target == 0 {
            let mut options = room.options.clone();
            let mut props = room.props.clone();
            for (key, value) in changes {
                options.apply_well_known(op::SET_PROPERTIES, key, value, &mut props)?;
            }
            room.options = options;
            room.props = props;
        } else {
            let actor = room.actors.get_mut(&target).expect("checked above");
            for (key, value) in changes {
                actor.props.set(key.clone(), value.clone());
            }
        }
        respond(out, now, peer, meta, op::SET_PROPERTIES, Parameters::new());
        if broadcast {
            room.active_peers(None, &mut self.scratch);
            let ev = EventData {
                code: event::PROPERTIES_CHANGED,
                sender,
                parameters: Parameters::new()
                    .with(param::TARGET_ACTOR_NR, target)
                    .with(param::PROPERTIES, props::dictionary(changes.to_vec()))
                    .with(param::ACTOR_NR, sender),
            };
            send_event(out, now, &self.scratch, ev, false);
        }
        if target == 0 {
            self.send_report(Some(room_id), None);
        }
        Ok(())
    }

    pub(super) fn change_groups(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        p: &Params<'_>,
        meta: &MessageMeta,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        let (room_id, number) = self.in_room(peer)?;
        let remove = p.opt_bytes(param::REMOVE)?.map(<[u8]>::to_vec);
        let add = p.opt_bytes(param::ADD)?.map(<[u8]>::to_vec);
        let actor = self
            .rooms
            .get_mut(&room_id)
            .and_then(|r| r.actors.get_mut(&number))
            .expect("peer's actor exists");
        // Photon's order: remove first, then add; an empty array means all groups.
        if let Some(remove) = remove {
            if remove.is_empty() {
                actor.groups = Groups::none();
            }
            for g in remove {
                actor.groups.remove(g);
            }
        }
        if let Some(add) = add {
            if add.is_empty() {
                actor.groups = Groups::all();
            }
            for g in add {
                actor.groups.add(g);
            }
        }
        respond(out, now, peer, meta, op::CHANGE_GROUPS, Parameters::new());
        Ok(())
    }
}
