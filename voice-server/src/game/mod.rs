//! The game server: rooms, actors, properties, events, voice relay.
//!
//! Sans-IO: [`GameLogic`] takes `(now, peer, message)` and writes to an
//! [`Outbox`]; it reports its rooms and load to the master through a callback.
//! Room and actor expiries sit in one ordered set of `(deadline, room)`; an idle
//! room costs nothing but its entry.

pub mod actor;
pub mod cache;
mod ops;
pub mod props;
pub mod relay;
pub mod room;

use crate::logic::RoleLogic;
use crate::metrics::Metrics;
use crate::outbox::{respond, respond_error, send_event, MessageMeta, OpError, Outbox, Params};
use crate::report::{AppKey, GameReport, RoomListing};
use crate::token::{TokenClaims, TokenError, TokenKey, UnixClock};
use props::Props;
use room::{actor_properties, Room, RoomBounds, RoomOptions};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::codec::{
    write_raw_event_header, EventData, Message, OperationRequest, Parameters, RawSendView,
    RAW_EVENT_HEADER_MAX,
};
use transport::lb::{error, event, join_mode, op, param};
use transport::{PeerHandle, Protocol};

/// Settings of the game logic.
#[derive(Debug, Clone)]
pub struct GameSettings {
    /// Unique id of this game server.
    pub server_id: String,
    /// Announced URLs by protocol.
    pub addresses: Vec<(Protocol, String)>,
    /// Most rooms.
    pub max_rooms: usize,
    /// Most cached events per room.
    pub max_cached_events: usize,
    /// Bounds of room options.
    pub bounds: RoomBounds,
    /// Token lifetime.
    pub token_lifetime: Duration,
    /// Least time between refreshed tokens.
    pub token_refresh_interval: Duration,
}

/// Commands to the game server from other tasks.
#[derive(Debug)]
#[non_exhaustive]
pub enum GameCommand {
    /// Send a full report to the master now (e.g. after the master restarted).
    ReportAll,
    /// The periodic load report (every `cluster.report_interval_ms`): peers,
    /// rooms and the CPU the driver measured for this game server's thread.
    LoadTick {
        /// CPU used since the previous tick, in percent of one core.
        cpu_percent: f32,
    },
}

/// Where reports go (the master's command channel in one process).
pub type ReportSink = Box<dyn FnMut(GameReport) + Send>;

#[derive(Debug)]
struct GamePeer {
    protocol: Protocol,
    can_encrypt: bool,
    claims: Option<TokenClaims>,
    /// (room id, actor number) while in a room.
    room: Option<(u64, i32)>,
}

/// The game server's logic.
pub struct GameLogic {
    settings: GameSettings,
    key: TokenKey,
    clock: Arc<dyn UnixClock>,
    metrics: Arc<Metrics>,
    peers: HashMap<PeerHandle, GamePeer>,
    rooms: HashMap<u64, Room>,
    names: HashMap<(AppKey, String), u64>,
    next_room_id: u64,
    timers: BTreeSet<(Instant, u64)>,
    report: ReportSink,
    /// CPU percent of the last load tick (carried by every report).
    cpu_percent: f32,
    scratch: Vec<PeerHandle>,
    header: [u8; RAW_EVENT_HEADER_MAX],
}

impl std::fmt::Debug for GameLogic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameLogic")
            .field("peers", &self.peers.len())
            .field("rooms", &self.rooms.len())
            .finish()
    }
}

fn token_error(e: TokenError) -> OpError {
    match e {
        TokenError::Expired(_) => OpError::new(error::AUTHENTICATION_TICKET_EXPIRED, e.to_string()),
        _ => OpError::new(error::INVALID_AUTHENTICATION, e.to_string()),
    }
}

impl GameLogic {
    /// A game server with no rooms.
    pub fn new(
        settings: GameSettings,
        key: TokenKey,
        clock: Arc<dyn UnixClock>,
        metrics: Arc<Metrics>,
        report: ReportSink,
    ) -> Self {
        Self {
            settings,
            key,
            clock,
            metrics,
            peers: HashMap::new(),
            rooms: HashMap::new(),
            names: HashMap::new(),
            next_room_id: 1,
            timers: BTreeSet::new(),
            report,
            cpu_percent: 0.0,
            scratch: Vec::new(),
            header: [0; RAW_EVENT_HEADER_MAX],
        }
    }

    /// Number of rooms.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// A room by application and name (tests, diagnostics).
    pub fn room(&self, app: &AppKey, name: &str) -> Option<&Room> {
        self.names
            .get(&(app.clone(), name.to_owned()))
            .and_then(|id| self.rooms.get(id))
    }

    /// This server's report: its addresses and load, with `updated` rooms.
    fn build_report(
        &self,
        updated: Vec<RoomListing>,
        removed: Vec<(AppKey, String)>,
        full: bool,
    ) -> GameReport {
        GameReport {
            server_id: self.settings.server_id.clone(),
            addresses: self
                .settings
                .addresses
                .iter()
                .map(|(p, u)| (p.scheme().to_owned(), u.clone()))
                .collect(),
            peer_count: self.peers.len() as u32,
            room_count: self.rooms.len() as u32,
            cpu_percent: self.cpu_percent,
            updated,
            removed,
            shutting_down: false,
            full,
        }
    }

    fn send_report(&mut self, updated: Option<u64>, removed: Option<(AppKey, String)>) {
        let updated = updated
            .and_then(|id| self.rooms.get(&id))
            .map(|r| vec![r.listing()])
            .unwrap_or_default();
        let report = self.build_report(updated, removed.into_iter().collect(), false);
        (self.report)(report);
    }

    /// A full report: every room.
    pub fn full_report(&self) -> GameReport {
        self.build_report(
            self.rooms.values().map(Room::listing).collect(),
            Vec::new(),
            true,
        )
    }

    fn schedule(&mut self, room_id: u64) {
        if let Some(deadline) = self.rooms.get(&room_id).and_then(Room::next_deadline) {
            self.timers.insert((deadline, room_id));
        }
    }

    fn authenticate(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        token: &[u8],
    ) -> Result<(), OpError> {
        let claims = self
            .key
            .open(token, self.clock.unix_ms(now))
            .map_err(token_error)?;
        if let Some(p) = self.peers.get_mut(&peer) {
            p.claims = Some(claims);
        }
        Ok(())
    }

    fn claims(&self, peer: PeerHandle) -> Result<&TokenClaims, OpError> {
        self.peers.get(&peer).and_then(|p| p.claims.as_ref()).ok_or_else(|| {
            OpError::new(error::INVALID_AUTHENTICATION, "not authenticated: send Authenticate (230) with the token from the master, or put the token (221) into the join")
        })
    }

    fn in_room(&self, peer: PeerHandle) -> Result<(u64, i32), OpError> {
        self.peers.get(&peer).and_then(|p| p.room).ok_or_else(|| {
            OpError::new(
                error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
                "not in a room: create or join one first",
            )
        })
    }

    fn join(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        code: u8,
        p: &Params<'_>,
        meta: &MessageMeta,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        if let Some(token) = p.opt_bytes(param::TOKEN)? {
            self.authenticate(now, peer, token)?;
        }
        let claims = self.claims(peer)?.clone();
        if self.peers.get(&peer).is_some_and(|x| x.room.is_some()) {
            return Err(OpError::new(
                error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
                "already in a room: send Leave (254) first",
            ));
        }
        let app = AppKey {
            app_id: claims.app_id.clone(),
            app_version: claims.app_version.clone(),
        };
        let mode = p.opt_int(param::JOIN_MODE)?.unwrap_or(0) as u8;
        let name = match p.opt_str(param::ROOM_NAME)? {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ if code == op::CREATE_GAME => random_room_name(),
            _ => {
                return Err(OpError::bad_param(
                    code,
                    param::ROOM_NAME,
                    "the room name (required to join)",
                ))
            }
        };
        let existing = self.names.get(&(app.clone(), name.clone())).copied();
        let room_id = match (existing, code) {
            (Some(_), op::CREATE_GAME) => {
                return Err(OpError::new(
                    error::GAME_ID_ALREADY_EXISTS,
                    format!("room {name:?} exists: join it or choose another name"),
                ))
            }
            (Some(id), _) => id,
            (None, op::JOIN_GAME) if mode != join_mode::CREATE_IF_NOT_EXISTS => {
                return Err(OpError::new(
                    error::GAME_DOES_NOT_EXIST,
                    format!("room {name:?} does not exist"),
                ))
            }
            (None, _) => {
                if self.rooms.len() >= self.settings.max_rooms {
                    return Err(OpError::new(
                        error::SERVER_FULL,
                        format!(
                            "the game server holds its maximum of {} rooms",
                            self.settings.max_rooms
                        ),
                    ));
                }
                let (options, props) = RoomOptions::parse(code, p, &self.settings.bounds)?;
                let id = self.next_room_id;
                self.next_room_id += 1;
                self.rooms.insert(
                    id,
                    Room::new(app.clone(), name.clone(), options, props, now),
                );
                self.names.insert((app.clone(), name.clone()), id);
                self.metrics
                    .rooms
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                id
            }
        };
        let actor_props = p
            .opt_dict(param::PLAYER_PROPERTIES)?
            .map(|e| Props(e.to_vec()))
            .unwrap_or_default();
        let can_encrypt = self.peers.get(&peer).is_some_and(|x| x.can_encrypt);
        let max_actors = self.settings.bounds.max_actors as usize;
        let room = self
            .rooms
            .get_mut(&room_id)
            .expect("room id from the name index exists");
        let user = claims.user_id.clone();
        let number = if let Some(n) = room.inactive_actor_of(&user) {
            if mode == join_mode::JOIN_OR_REJOIN
                || mode == join_mode::REJOIN_ONLY
                || mode == join_mode::CREATE_IF_NOT_EXISTS
            {
                room.reactivate(n, peer, can_encrypt);
                n
            } else {
                return Err(OpError::new(
                    error::JOIN_FAILED_FOUND_INACTIVE_JOINER,
                    format!(
                        "user {user:?} is inactive in room {name:?}: rejoin with JoinMode {}",
                        join_mode::JOIN_OR_REJOIN
                    ),
                ));
            }
        } else if room.active_actor_of(&user).is_some() {
            return Err(OpError::new(
                error::JOIN_FAILED_PEER_ALREADY_JOINED,
                format!("user {user:?} is already active in room {name:?}"),
            ));
        } else if mode == join_mode::REJOIN_ONLY {
            return Err(OpError::new(
                error::JOIN_FAILED_WITH_REJOINER_NOT_FOUND,
                format!("no inactive actor of user {user:?} in room {name:?}"),
            ));
        } else {
            room.check_join(max_actors)?;
            room.add_actor(peer, user, actor_props, can_encrypt)
        };
        if let Some(x) = self.peers.get_mut(&peer) {
            x.room = Some((room_id, number));
        }
        let room = &self.rooms[&room_id];
        let params = Parameters::new()
            .with(param::ROOM_NAME, room.name.clone())
            .with(param::ACTOR_NR, number)
            .with(param::GAME_PROPERTIES, room.game_properties())
            .with(param::PLAYER_PROPERTIES, room.player_properties())
            .with(param::ACTOR_LIST, room.actor_list())
            .with(param::MASTER_CLIENT_ID, room.master_client);
        respond(out, now, peer, meta, code, params);
        if !room.options.suppress_room_events {
            room.active_peers(None, &mut self.scratch);
            let joined = EventData {
                code: event::JOIN,
                sender: number,
                parameters: Parameters::new()
                    .with(param::ACTOR_NR, number)
                    .with(param::ACTOR_LIST, room.actor_list())
                    .with(
                        param::PLAYER_PROPERTIES,
                        actor_properties(&room.actors[&number]),
                    ),
            };
            send_event(out, now, &self.scratch, joined, false);
        }
        for cached in room.cache.iter() {
            out.send(
                now,
                peer,
                &Message::Event(cached.event.clone()),
                transport::SendOptions::RELIABLE,
            );
        }
        self.send_report(Some(room_id), None);
        Ok(())
    }

    /// Removes the peer from its room: inactive if asked (and the room keeps
    /// players), otherwise for good.
    fn leave_room(&mut self, now: Instant, peer: PeerHandle, inactive: bool, out: &mut dyn Outbox) {
        let Some((room_id, number)) = self.peers.get_mut(&peer).and_then(|p| p.room.take()) else {
            return;
        };
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let inactive = inactive && room.options.player_ttl_ms != 0;
        room.detach(number, inactive, now);
        if !room.options.suppress_room_events {
            room.active_peers(None, &mut self.scratch);
            let left = EventData {
                code: event::LEAVE,
                sender: number,
                parameters: Parameters::new()
                    .with(param::ACTOR_NR, number)
                    .with(param::IS_INACTIVE, inactive)
                    .with(param::MASTER_CLIENT_ID, room.master_client),
            };
            send_event(out, now, &self.scratch, left, false);
        }
        self.schedule(room_id);
        self.send_report(Some(room_id), None);
    }

    fn expire(&mut self, now: Instant, room_id: u64, out: &mut dyn Outbox) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let expired = room.expire_inactive(now);
        if !expired.is_empty() && !room.options.suppress_room_events {
            room.active_peers(None, &mut self.scratch);
            for number in expired {
                let left = EventData {
                    code: event::LEAVE,
                    sender: number,
                    parameters: Parameters::new()
                        .with(param::ACTOR_NR, number)
                        .with(param::IS_INACTIVE, false)
                        .with(param::MASTER_CLIENT_ID, room.master_client),
                };
                send_event(out, now, &self.scratch, left, false);
            }
        }
        if room.is_expired(now) {
            let room = self.rooms.remove(&room_id).expect("present");
            self.names.remove(&(room.app.clone(), room.name.clone()));
            self.metrics
                .rooms
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(room = %room.name, "room closed");
            self.send_report(None, Some((room.app, room.name)));
        } else {
            self.schedule(room_id);
        }
    }
}

fn random_room_name() -> String {
    let n: u64 = rand::random();
    format!("room-{n:016x}")
}

impl RoleLogic for GameLogic {
    type Command = GameCommand;

    fn dispatch(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        request: &OperationRequest,
        meta: &MessageMeta,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        let p = Params::new(request.code, &request.parameters);
        match request.code {
            op::AUTHENTICATE | op::AUTHENTICATE_ONCE => {
                let token = p.opt_bytes(param::TOKEN)?.ok_or_else(|| {
                    OpError::bad_param(
                        request.code,
                        param::TOKEN,
                        "the token from the master (required)",
                    )
                })?;
                self.authenticate(now, peer, token)?;
                let user = self.claims(peer)?.user_id.clone();
                respond(
                    out,
                    now,
                    peer,
                    meta,
                    request.code,
                    Parameters::new().with(param::USER_ID, user),
                );
                Ok(())
            }
            op::CREATE_GAME | op::JOIN_GAME => self.join(now, peer, request.code, &p, meta, out),
            op::LEAVE => {
                let inactive = p.opt_bool(param::IS_INACTIVE)?.unwrap_or(false);
                self.in_room(peer)?;
                self.leave_room(now, peer, inactive, out);
                respond(out, now, peer, meta, request.code, Parameters::new());
                Ok(())
            }
            op::RAISE_EVENT => self.raise_event(now, peer, &p, meta, out),
            op::SET_PROPERTIES => self.set_properties(now, peer, &p, meta, out),
            op::GET_PROPERTIES => {
                let (room_id, _) = self.in_room(peer)?;
                let room = &self.rooms[&room_id];
                let params = Parameters::new()
                    .with(param::GAME_PROPERTIES, room.game_properties())
                    .with(param::PLAYER_PROPERTIES, room.player_properties());
                respond(out, now, peer, meta, request.code, params);
                Ok(())
            }
            op::CHANGE_GROUPS => self.change_groups(now, peer, &p, meta, out),
            op::JOIN_LOBBY | op::LEAVE_LOBBY | op::JOIN_RANDOM_GAME => Err(OpError::new(
                error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
                format!(
                    "{} ({}) is a master server operation; send it to the master",
                    op::name(request.code),
                    request.code
                ),
            )),
            code => Err(OpError::new(
                error::INVALID_OPERATION,
                format!("unknown operation code {code} on the game server"),
            )),
        }
    }

    fn handle_connected(
        &mut self,
        _now: Instant,
        peer: PeerHandle,
        protocol: Protocol,
        _out: &mut dyn Outbox,
    ) {
        self.peers.insert(
            peer,
            GamePeer {
                protocol,
                can_encrypt: protocol.is_secure(),
                claims: None,
                room: None,
            },
        );
    }

    fn handle_encryption_established(&mut self, _now: Instant, peer: PeerHandle) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.can_encrypt = true;
            if let Some((room_id, number)) = p.room {
                if let Some(actor) = self
                    .rooms
                    .get_mut(&room_id)
                    .and_then(|r| r.actors.get_mut(&number))
                {
                    actor.can_encrypt = true;
                }
            }
        }
    }

    fn handle_disconnected(&mut self, now: Instant, peer: PeerHandle, out: &mut dyn Outbox) {
        // A disconnect without Leave keeps the actor inactive when the room has a player TTL.
        self.leave_room(now, peer, true, out);
        if let Some(p) = self.peers.remove(&peer) {
            tracing::trace!(?peer, protocol = %p.protocol, "game peer gone");
        }
    }

    fn handle_raw(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        view: RawSendView<'_>,
        meta: MessageMeta,
        out: &mut dyn Outbox,
    ) {
        let Some((room_id, sender)) = self.peers.get(&peer).and_then(|p| p.room) else {
            respond_error(
                out,
                now,
                peer,
                &meta,
                0,
                error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
                "raw voice frame outside a room: join a room first",
            );
            return;
        };
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let len = write_raw_event_header(sender, &mut self.header);
        let header = &self.header[..len.min(RAW_EVENT_HEADER_MAX)];
        relay::relay_raw(
            now,
            room,
            sender,
            &view,
            header,
            meta.send_options(),
            out,
            &self.metrics,
        );
        self.maybe_refresh_token(now, peer, out);
    }

    fn handle_command(&mut self, _now: Instant, command: GameCommand, _out: &mut dyn Outbox) {
        match command {
            GameCommand::LoadTick { cpu_percent } => {
                self.cpu_percent = cpu_percent;
                self.send_report(None, None);
            }
            GameCommand::ReportAll => {
                let report = self.full_report();
                (self.report)(report);
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant, out: &mut dyn Outbox) {
        while let Some(&(deadline, room_id)) = self.timers.first() {
            if deadline > now {
                break;
            }
            self.timers.pop_first();
            self.expire(now, room_id, out);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }
}

#[cfg(test)]
mod tests;
