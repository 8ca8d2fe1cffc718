//! The master server: token authentication, lobbies with room lists,
//! matchmaking (create, join, join-or-create, join random) and the choice of a
//! game server, whose address is answered with a refreshed token.
//!
//! Game servers report their rooms and load ([`GameReport`]); lobby updates
//! are batched and sent once per `lobby_update_interval`, only when something
//! changed (no timer runs while nothing changes).
//!
//! Placement: a new room goes to the least-loaded game server that has a
//! listener for the client's protocol (fewest peers, then fewest rooms, counting
//! the rooms placed since its last report; a server above 90 % CPU comes last).
//! Every game server reports at least once per second; one silent for
//! `game_server_timeout` is retired with its rooms, so no client is sent to it.

use crate::logic::RoleLogic;
use crate::metrics::Metrics;
use crate::outbox::{respond, send_event, MessageMeta, OpError, Outbox, Params};
use crate::report::{AppKey, GameReport, RoomListing};
use crate::token::{TokenClaims, TokenError, TokenKey, UnixClock};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use transport::codec::{EventData, OperationRequest, Parameters, Value};
use transport::lb::{error, event, join_mode, op, param, room_key};
use transport::{PeerHandle, Protocol};

/// Settings of the master logic.
#[derive(Debug, Clone)]
pub struct MasterSettings {
    /// Token lifetime.
    pub token_lifetime: Duration,
    /// Interval of lobby updates.
    pub lobby_update_interval: Duration,
    /// How long a room created through the master is reserved before its game
    /// server confirms it. Defaults to 30 s.
    pub reservation: Duration,
    /// A game server that has not reported for this long is retired: no new
    /// rooms go to it and its rooms leave the lobbies. Defaults to 5 s (five
    /// missed one-second load reports).
    pub game_server_timeout: Duration,
}

/// Commands to the master from other tasks.
#[derive(Debug)]
#[non_exhaustive]
pub enum MasterCommand {
    /// A game server's report.
    Report(GameReport),
}

/// The master's answer to a report asking the game server for all its rooms
/// (in parameter `Data`); other reports get no answer unless refused.
pub const FULL_REPORT_PLEASE: &str = "full report";

/// (app, lobby name).
type LobbyKey = (AppKey, String);

#[derive(Debug)]
struct MasterPeer {
    protocol: Protocol,
    claims: Option<TokenClaims>,
    lobby: Option<LobbyKey>,
}

#[derive(Debug, Clone)]
struct Listed {
    listing: RoomListing,
    server_id: String,
    /// Creation order (JoinRandom fills the oldest room first).
    order: u64,
    /// Reserved by the master until the game server confirms it.
    reserved_until: Option<Instant>,
}

#[derive(Debug, Clone)]
struct GameServer {
    addresses: Vec<(String, String)>,
    peer_count: u32,
    room_count: u32,
    cpu_percent: f32,
    /// Rooms placed on it since its last report (not yet in its counts).
    placed: u32,
    last_report: Instant,
    /// `issued_ms` of its last sealed report (replay protection on links).
    last_issued_ms: u64,
}

impl GameServer {
    /// Lower is less loaded.
    fn load_key(&self) -> (bool, u32, u32) {
        (
            self.cpu_percent > 90.0,
            self.peer_count + self.placed,
            self.room_count + self.placed,
        )
    }
}

/// A game server as the master sees it (diagnostics, tests).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerLoad {
    /// Its id.
    pub server_id: String,
    /// Peers at its last report.
    pub peer_count: u32,
    /// Rooms at its last report.
    pub room_count: u32,
    /// CPU percent of one core at its last report.
    pub cpu_percent: f32,
}

/// The master server's logic.
pub struct MasterLogic {
    settings: MasterSettings,
    key: TokenKey,
    clock: Arc<dyn UnixClock>,
    metrics: Arc<Metrics>,
    peers: HashMap<PeerHandle, MasterPeer>,
    servers: BTreeMap<String, GameServer>,
    rooms: HashMap<(AppKey, String), Listed>,
    next_order: u64,
    /// Changed rooms per lobby, sent at the next flush.
    pending: HashMap<LobbyKey, BTreeSet<String>>,
    flush_at: Option<Instant>,
    reservations: BTreeSet<(Instant, AppKey, String)>,
    /// Game servers connected over server-to-server links: peer → server id.
    server_links: HashMap<PeerHandle, String>,
    scratch: Vec<PeerHandle>,
}

impl std::fmt::Debug for MasterLogic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterLogic")
            .field("peers", &self.peers.len())
            .field("rooms", &self.rooms.len())
            .finish()
    }
}

fn listing_properties(l: &RoomListing, removed: bool) -> Value {
    let mut entries = vec![
        (
            Value::U8(room_key::PLAYER_COUNT),
            Value::U8(l.player_count.min(255) as u8),
        ),
        (
            Value::U8(room_key::MAX_PLAYERS),
            Value::I32(l.max_players as i32),
        ),
        (Value::U8(room_key::IS_OPEN), Value::Bool(l.open)),
    ];
    if removed {
        entries.push((Value::U8(room_key::REMOVED), Value::Bool(true)));
    }
    entries.extend(l.lobby_properties.iter().cloned());
    crate::game::props::dictionary(entries)
}

impl MasterLogic {
    /// A master with no game servers yet.
    pub fn new(
        settings: MasterSettings,
        key: TokenKey,
        clock: Arc<dyn UnixClock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            settings,
            key,
            clock,
            metrics,
            peers: HashMap::new(),
            servers: BTreeMap::new(),
            rooms: HashMap::new(),
            next_order: 0,
            pending: HashMap::new(),
            flush_at: None,
            reservations: BTreeSet::new(),
            server_links: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// Rooms known (tests, diagnostics).
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// The game servers in use, by id.
    pub fn servers(&self) -> Vec<ServerLoad> {
        self.servers
            .iter()
            .map(|(id, s)| ServerLoad {
                server_id: id.clone(),
                peer_count: s.peer_count,
                room_count: s.room_count,
                cpu_percent: s.cpu_percent,
            })
            .collect()
    }

    /// The game server holding a room (tests, diagnostics).
    pub fn server_of(&self, app: &AppKey, name: &str) -> Option<&str> {
        self.rooms
            .get(&(app.clone(), name.to_owned()))
            .map(|l| l.server_id.as_str())
    }

    /// Forgets a game server and its rooms.
    fn retire(&mut self, now: Instant, server_id: &str) {
        self.servers.remove(server_id);
        let gone: Vec<(AppKey, String)> = self
            .rooms
            .iter()
            .filter(|(_, l)| l.server_id == server_id)
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            if let Some(l) = self.rooms.remove(&key) {
                self.mark_changed(now, &key.0, &l.listing.lobby, &key.1);
            }
        }
    }

    fn claims(&self, peer: PeerHandle) -> Result<&TokenClaims, OpError> {
        self.peers.get(&peer).and_then(|p| p.claims.as_ref()).ok_or_else(|| {
            OpError::new(error::INVALID_AUTHENTICATION, "not authenticated: send Authenticate (230) with the token from the name server first")
        })
    }

    fn mark_changed(&mut self, now: Instant, app: &AppKey, lobby: &str, name: &str) {
        self.pending
            .entry((app.clone(), lobby.to_owned()))
            .or_default()
            .insert(name.to_owned());
        if self.flush_at.is_none() {
            self.flush_at = Some(now + self.settings.lobby_update_interval);
        }
    }

    /// Applies a game server's report.
    pub fn apply_report(&mut self, now: Instant, report: GameReport) {
        if report.shutting_down {
            self.retire(now, &report.server_id);
            return;
        }
        let last_issued_ms = self
            .servers
            .get(&report.server_id)
            .map_or(0, |s| s.last_issued_ms);
        if !self.servers.contains_key(&report.server_id) {
            tracing::info!(server_id = %report.server_id, "game server registered");
        }
        self.servers.insert(
            report.server_id.clone(),
            GameServer {
                addresses: report.addresses,
                peer_count: report.peer_count,
                room_count: report.room_count,
                cpu_percent: report.cpu_percent,
                placed: 0,
                last_report: now,
                last_issued_ms,
            },
        );
        for listing in report.updated {
            let key = (listing.app.clone(), listing.name.clone());
            let (lobby, app, name) = (
                listing.lobby.clone(),
                listing.app.clone(),
                listing.name.clone(),
            );
            match self.rooms.get_mut(&key) {
                Some(l) => {
                    l.listing = listing;
                    l.server_id = report.server_id.clone();
                    l.reserved_until = None;
                }
                None => {
                    self.next_order += 1;
                    let order = self.next_order;
                    self.rooms.insert(
                        key,
                        Listed {
                            listing,
                            server_id: report.server_id.clone(),
                            order,
                            reserved_until: None,
                        },
                    );
                }
            }
            self.mark_changed(now, &app, &lobby, &name);
        }
        for key in report.removed {
            if let Some(l) = self.rooms.remove(&key) {
                self.mark_changed(now, &key.0, &l.listing.lobby, &key.1);
            }
        }
    }

    /// The least-loaded game server and its URL for `protocol`.
    fn pick_server(&self, protocol: Protocol) -> Result<(String, String), OpError> {
        let (id, server) = self
            .servers
            .iter()
            .filter(|(_, s)| s.addresses.iter().any(|(p, _)| p == protocol.scheme()))
            .min_by_key(|(_, s)| s.load_key())
            .ok_or_else(|| {
                OpError::new(error::SERVER_FULL, format!("no game server with a {protocol} listener is available; start a game server (role game) with a {protocol} listener"))
            })?;
        Ok((
            id.clone(),
            address_for(&server.addresses, protocol).unwrap_or_default(),
        ))
    }

    fn server_address(&self, server_id: &str, protocol: Protocol) -> Result<String, OpError> {
        self.servers.get(server_id).and_then(|s| address_for(&s.addresses, protocol)).ok_or_else(|| {
            OpError::new(error::GAME_DOES_NOT_EXIST, format!("the room's game server has no {protocol} listener (or is gone); try another protocol"))
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn answer_with_game(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        meta: &MessageMeta,
        code: u8,
        name: &str,
        address: String,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        let now_ms = self.clock.unix_ms(now);
        let claims = self
            .claims(peer)?
            .refreshed(now_ms, self.settings.token_lifetime);
        let token = self.key.seal(&claims);
        Metrics::inc(&self.metrics.token_refreshes);
        let params = Parameters::new()
            .with(param::ADDRESS, address)
            .with(param::ROOM_NAME, name.to_owned())
            .with(param::TOKEN, token);
        respond(out, now, peer, meta, code, params);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        meta: &MessageMeta,
        code: u8,
        app: AppKey,
        name: String,
        lobby: String,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        let protocol = self.peers[&peer].protocol;
        let (server_id, address) = self.pick_server(protocol)?;
        if let Some(s) = self.servers.get_mut(&server_id) {
            s.placed += 1;
        }
        let listing = RoomListing {
            app: app.clone(),
            name: name.clone(),
            lobby,
            player_count: 0,
            max_players: 0,
            open: true,
            visible: false,
            lobby_properties: Vec::new(),
        };
        self.next_order += 1;
        let until = now + self.settings.reservation;
        self.rooms.insert(
            (app.clone(), name.clone()),
            Listed {
                listing,
                server_id,
                order: self.next_order,
                reserved_until: Some(until),
            },
        );
        self.reservations.insert((until, app, name.clone()));
        self.answer_with_game(now, peer, meta, code, &name, address, out)
    }

    /// A sealed report over a server-to-server link (see [`crate::report`]).
    /// It must arrive encrypted (the link establishes encryption first) and be
    /// newer than the server's previous one.
    fn server_report(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        meta: &MessageMeta,
        parameters: &Parameters,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        if !meta.encrypted {
            return Err(OpError::new(
                error::INVALID_AUTHENTICATION,
                "GameServerReport (200) must arrive encrypted: establish encryption (or use TLS) before sending reports",
            ));
        }
        let opened = GameReport::from_request(&self.key, parameters, self.clock.unix_ms(now))
            .map_err(|e| OpError::new(error::INVALID_AUTHENTICATION, e))?;
        let server_id = opened.report.server_id.clone();
        // A server the master does not know (new, or retired while silent)
        // that sent only changes: ask for all its rooms.
        let needs_full = !opened.report.full && !self.servers.contains_key(&server_id);
        if let Some(s) = self.servers.get(&server_id) {
            if opened.issued_ms <= s.last_issued_ms {
                return Err(OpError::new(
                    error::INVALID_AUTHENTICATION,
                    "GameServerReport (200): not newer than the last report of this server (replayed?)",
                ));
            }
        }
        self.server_links.insert(peer, server_id.clone());
        self.apply_report(now, opened.report);
        if let Some(s) = self.servers.get_mut(&server_id) {
            s.last_issued_ms = opened.issued_ms;
        }
        if needs_full {
            tracing::info!(%server_id, "report from an unknown game server: asking for all its rooms");
            respond(
                out,
                now,
                peer,
                meta,
                op::GAME_SERVER_REPORT,
                Parameters::new().with(param::DATA, FULL_REPORT_PLEASE),
            );
        }
        Ok(())
    }

    fn flush_lobbies(&mut self, now: Instant, out: &mut dyn Outbox) {
        self.flush_at = None;
        for ((app, lobby), names) in std::mem::take(&mut self.pending) {
            self.scratch.clear();
            self.scratch.extend(
                self.peers
                    .iter()
                    .filter(|(_, p)| {
                        p.lobby
                            .as_ref()
                            .is_some_and(|(a, l)| *a == app && *l == lobby)
                    })
                    .map(|(h, _)| *h),
            );
            if self.scratch.is_empty() {
                continue;
            }
            let list: Vec<(Value, Value)> = names
                .into_iter()
                .map(|name| {
                    let props = match self.rooms.get(&(app.clone(), name.clone())) {
                        Some(l) if l.listing.visible && l.reserved_until.is_none() => {
                            listing_properties(&l.listing, false)
                        }
                        _ => crate::game::props::dictionary(vec![(
                            Value::U8(room_key::REMOVED),
                            Value::Bool(true),
                        )]),
                    };
                    (Value::String(name), props)
                })
                .collect();
            let ev = EventData {
                code: event::GAME_LIST_UPDATE,
                sender: 0,
                parameters: Parameters::new()
                    .with(param::GAME_LIST, crate::game::props::dictionary(list)),
            };
            let peers = std::mem::take(&mut self.scratch);
            send_event(out, now, &peers, ev, false);
            self.scratch = peers;
        }
    }
}

fn matches_expected(l: &RoomListing, key: &Value, want: &Value) -> bool {
    if matches!(key, Value::U8(k) if *k == room_key::MAX_PLAYERS) {
        return want.as_i64() == Some(i64::from(l.max_players));
    }
    l.lobby_properties
        .iter()
        .any(|(k, v)| k == key && v == want)
}

/// The URL for `protocol` among `(scheme, url)` pairs.
pub fn address_for(addresses: &[(String, String)], protocol: Protocol) -> Option<String> {
    addresses
        .iter()
        .find(|(p, _)| p == protocol.scheme())
        .map(|(_, u)| u.clone())
}

impl RoleLogic for MasterLogic {
    type Command = MasterCommand;

    fn dispatch(
        &mut self,
        now: Instant,
        peer: PeerHandle,
        request: &OperationRequest,
        meta: &MessageMeta,
        out: &mut dyn Outbox,
    ) -> Result<(), OpError> {
        let p = Params::new(request.code, &request.parameters);
        let code = request.code;
        if code == op::GAME_SERVER_REPORT {
            return self.server_report(now, peer, meta, &request.parameters, out);
        }
        if code == op::AUTHENTICATE || code == op::AUTHENTICATE_ONCE {
            let token = p.opt_bytes(param::TOKEN)?.ok_or_else(|| {
                OpError::bad_param(
                    code,
                    param::TOKEN,
                    "the token from the name server (required)",
                )
            })?;
            let now_ms = self.clock.unix_ms(now);
            let claims = self.key.open(token, now_ms).map_err(|e| match e {
                TokenError::Expired(_) => {
                    OpError::new(error::AUTHENTICATION_TICKET_EXPIRED, e.to_string())
                }
                _ => OpError::new(error::INVALID_AUTHENTICATION, e.to_string()),
            })?;
            let refreshed = claims.refreshed(now_ms, self.settings.token_lifetime);
            let token = self.key.seal(&refreshed);
            let user = refreshed.user_id.clone();
            if let Some(mp) = self.peers.get_mut(&peer) {
                mp.claims = Some(refreshed);
            }
            respond(
                out,
                now,
                peer,
                meta,
                code,
                Parameters::new()
                    .with(param::TOKEN, token)
                    .with(param::USER_ID, user),
            );
            return Ok(());
        }
        let claims = self.claims(peer)?;
        let app = AppKey {
            app_id: claims.app_id.clone(),
            app_version: claims.app_version.clone(),
        };
        let lobby_param = p.opt_str(param::LOBBY_NAME)?.map(str::to_owned);
        let current_lobby = self.peers[&peer].lobby.as_ref().map(|(_, l)| l.clone());
        let lobby = lobby_param.clone().or(current_lobby).unwrap_or_default();
        match code {
            op::JOIN_LOBBY => {
                let key = (app.clone(), lobby_param.unwrap_or_default());
                if let Some(mp) = self.peers.get_mut(&peer) {
                    mp.lobby = Some(key.clone());
                }
                respond(out, now, peer, meta, code, Parameters::new());
                let list: Vec<(Value, Value)> = self
                    .rooms
                    .iter()
                    .filter(|((a, _), l)| *a == app && l.listing.lobby == key.1 && l.listing.visible)
                    .map(|((_, name), l)| (Value::String(name.clone()), listing_properties(&l.listing, false)))
                    .collect();
                let ev = EventData { code: event::GAME_LIST, sender: 0, parameters: Parameters::new().with(param::GAME_LIST, crate::game::props::dictionary(list)) };
                send_event(out, now, &[peer], ev, false);
                Ok(())
            }
            op::LEAVE_LOBBY => {
                if let Some(mp) = self.peers.get_mut(&peer) {
                    mp.lobby = None;
                }
                respond(out, now, peer, meta, code, Parameters::new());
                Ok(())
            }
            op::CREATE_GAME => {
                let name = match p.opt_str(param::ROOM_NAME)? {
                    Some(n) if !n.is_empty() => n.to_owned(),
                    _ => format!("room-{:016x}", rand::random::<u64>()),
                };
                if self.rooms.contains_key(&(app.clone(), name.clone())) {
                    return Err(OpError::new(error::GAME_ID_ALREADY_EXISTS, format!("room {name:?} exists: join it or choose another name")));
                }
                self.create(now, peer, meta, code, app, name, lobby, out)
            }
            op::JOIN_GAME => {
                let name = p.str(param::ROOM_NAME)?.to_owned();
                let mode = p.opt_int(param::JOIN_MODE)?.unwrap_or(0) as u8;
                let protocol = self.peers[&peer].protocol;
                match self.rooms.get(&(app.clone(), name.clone())) {
                    Some(l) => {
                        let rejoin = mode == join_mode::JOIN_OR_REJOIN || mode == join_mode::REJOIN_ONLY;
                        if !rejoin && !l.listing.open && l.reserved_until.is_none() {
                            return Err(OpError::new(error::GAME_CLOSED, format!("room {name:?} is closed")));
                        }
                        let max = l.listing.max_players;
                        if !rejoin && max > 0 && l.listing.player_count >= max {
                            return Err(OpError::new(error::GAME_FULL, format!("room {name:?} is full ({max} players)")));
                        }
                        let address = self.server_address(&l.server_id.clone(), protocol)?;
                        self.answer_with_game(now, peer, meta, code, &name, address, out)
                    }
                    None if mode == join_mode::CREATE_IF_NOT_EXISTS => self.create(now, peer, meta, code, app, name, lobby, out),
                    None => Err(OpError::new(error::GAME_DOES_NOT_EXIST, format!("room {name:?} does not exist"))),
                }
            }
            op::JOIN_RANDOM_GAME => {
                let expected = p.opt_dict(param::GAME_PROPERTIES)?.unwrap_or(&[]).to_vec();
                let protocol = self.peers[&peer].protocol;
                let found = self
                    .rooms
                    .iter()
                    .filter(|((a, _), l)| {
                        let li = &l.listing;
                        *a == app && li.lobby == lobby && li.open && li.visible && l.reserved_until.is_none()
                            && (li.max_players == 0 || li.player_count < li.max_players)
                            && expected.iter().all(|(k, v)| matches_expected(li, k, v))
                    })
                    .min_by_key(|(_, l)| l.order)
                    .map(|((_, name), l)| (name.clone(), l.server_id.clone()));
                let Some((name, server_id)) = found else {
                    return Err(OpError::new(error::NO_RANDOM_MATCH_FOUND, "no open room matches the expected properties: create one"));
                };
                let address = self.server_address(&server_id, protocol)?;
                self.answer_with_game(now, peer, meta, code, &name, address, out)
            }
            op::RAISE_EVENT | op::SET_PROPERTIES | op::LEAVE | op::CHANGE_GROUPS | op::GET_PROPERTIES => Err(OpError::new(
                error::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
                format!("{} ({code}) is a game server operation: join a room and connect to its game server", op::name(code)),
            )),
            _ => Err(OpError::new(error::INVALID_OPERATION, format!("unknown operation code {code} on the master server"))),
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
            MasterPeer {
                protocol,
                claims: None,
                lobby: None,
            },
        );
    }

    fn handle_disconnected(&mut self, now: Instant, peer: PeerHandle, _out: &mut dyn Outbox) {
        self.peers.remove(&peer);
        if let Some(server_id) = self.server_links.remove(&peer) {
            tracing::info!(%server_id, "game server link closed; its rooms are forgotten");
            self.retire(now, &server_id);
        }
    }

    fn handle_command(&mut self, now: Instant, command: MasterCommand, _out: &mut dyn Outbox) {
        match command {
            MasterCommand::Report(report) => self.apply_report(now, report),
        }
    }

    fn handle_timeout(&mut self, now: Instant, out: &mut dyn Outbox) {
        let timeout = self.settings.game_server_timeout;
        let silent: Vec<String> = self
            .servers
            .iter()
            .filter(|(_, s)| s.last_report + timeout <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for server_id in silent {
            tracing::warn!(%server_id, ?timeout, "game server silent: retired, with its rooms; new rooms go to the others");
            self.server_links.retain(|_, id| *id != server_id);
            self.retire(now, &server_id);
        }
        if self.flush_at.is_some_and(|t| t <= now) {
            self.flush_lobbies(now, out);
        }
        while let Some((t, app, name)) = self.reservations.first().cloned() {
            if t > now {
                break;
            }
            self.reservations.pop_first();
            let key = (app, name);
            if self
                .rooms
                .get(&key)
                .is_some_and(|l| l.reserved_until.is_some_and(|u| u <= now))
            {
                self.rooms.remove(&key);
            }
        }
    }

    fn is_rate_limit_exempt(&self, peer: PeerHandle) -> bool {
        // Set only after a report sealed with the deployment secret arrived.
        self.server_links.contains_key(&peer)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let reservation = self.reservations.first().map(|(t, _, _)| *t);
        let silence = self
            .servers
            .values()
            .map(|s| s.last_report + self.settings.game_server_timeout)
            .min();
        [self.flush_at, reservation, silence]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
#[path = "master_tests.rs"]
mod tests;
