//! The in-game voice simulation: players on a grid map hear the players near
//! them (interest groups by map cell) and their team (a team group).
//!
//! Each player has two local voices:
//! - voice 1, *proximity*: sent to the interest group of the player's current
//!   cell ([`cell_group`]); every player subscribes (`ChangeGroups`) to the
//!   groups of its cell and the 8 neighbouring cells, updated on every move;
//! - voice 2, *team*: sent to the team's group ([`team_group`]), to which the
//!   team mates subscribe once.
//!
//! The same microphone frame is pushed to both voices. A listener therefore
//! knows from the voice id whether it heard a speaker by proximity or over the
//! team channel (a team mate who is also near is heard on both).
//!
//! Everything runs in one thread as a game loop (one tick = one 20 ms voice
//! frame) over [`PolledClient`]s: `service()` once per tick, no async.

// Some items are only used by the tests, which include this file.
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, Instant};
use voice_client::lb::{LbConfig, LbEvent, PolledClient, RoomOptions};
use voice_client::lb_transport::LoadBalancingTransport;
use voice_client::local::LocalVoiceConfig;
use voice_client::protocol::VoiceId;
use voice_client::remote::RemoteVoiceConfig;
use voice_client::voice_transport::FrameOptions;
use voice_client::CodecConfig;

/// Settings of one simulated match.
#[derive(Debug, Clone)]
pub struct GameConfig {
    /// Number of players (2..=32). Defaults to 8.
    pub players: usize,
    /// Seed of the random walk and the start positions. Defaults to 42.
    pub seed: u64,
    /// Length of the match. Defaults to 10 s.
    pub duration: Duration,
    /// Map size in cells (width, height), each 1..=12. Defaults to 4 x 4.
    pub map: (i32, i32),
    /// Chance that a player moves to a neighbouring cell at each second.
    /// Defaults to 0.5.
    pub move_chance: f64,
    /// Length of a talking turn. Defaults to 1 s (turns start on whole seconds).
    pub turn: Duration,
    /// Players talking at once in a turn. Defaults to 2.
    pub speakers_per_turn: usize,
    /// Mono 48 kHz speech the bots say (looped, each from its own offset).
    pub speech: Vec<f32>,
    /// Room name. Defaults to "match".
    pub room: String,
    /// Write what this player hears (its mix, 48 kHz mono) to this WAV file.
    /// Defaults to none.
    pub listen: Option<(usize, std::path::PathBuf)>,
}

impl Default for GameConfig {
    fn default() -> Self {
        Self {
            players: 8,
            seed: 42,
            duration: Duration::from_secs(10),
            map: (4, 4),
            move_chance: 0.5,
            turn: Duration::from_secs(1),
            speakers_per_turn: 2,
            speech: Vec::new(),
            room: "match".into(),
            listen: None,
        }
    }
}

/// How a listener heard a speaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Via {
    /// The proximity voice, sent to this cell's group (the speaker's cell).
    Cell(i32, i32),
    /// The team voice.
    Team,
}

/// Frames of one speaker received by one listener in one tick.
#[derive(Debug, Clone, Copy)]
pub struct Heard {
    /// Time since the match started (when the tick ran).
    pub at: Duration,
    /// Listener index.
    pub listener: usize,
    /// Speaker index.
    pub speaker: usize,
    /// Which voice.
    pub via: Via,
    /// Frames received in the tick.
    pub frames: u64,
}

/// A move of one player.
#[derive(Debug, Clone, Copy)]
pub struct Move {
    /// Time since the match started.
    pub at: Duration,
    /// Player index.
    pub player: usize,
    /// The new cell.
    pub to: (i32, i32),
}

/// Everything that happened, for checks.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// Team (0 or 1) of each player.
    pub teams: Vec<u8>,
    /// Start cell of each player.
    pub start: Vec<(i32, i32)>,
    /// Every move, in order.
    pub moves: Vec<Move>,
    /// Every reception.
    pub heard: Vec<Heard>,
    /// (time, speaker) for each frame pushed.
    pub spoke: Vec<(Duration, usize)>,
    /// The match length actually run.
    pub ran: Duration,
}

impl Record {
    /// Cell of `player` at `at` (after the moves at or before it).
    pub fn cell_at(&self, player: usize, at: Duration) -> (i32, i32) {
        let mut cell = self.start[player];
        for m in &self.moves {
            if m.at > at {
                break;
            }
            if m.player == player {
                cell = m.to;
            }
        }
        cell
    }

    /// True when `player` moved in `(at - window, at]`.
    pub fn moved_within(&self, player: usize, at: Duration, window: Duration) -> bool {
        self.moves
            .iter()
            .any(|m| m.player == player && m.at <= at && m.at + window > at)
    }
}

/// True when two cells are the same or neighbours (8-neighbourhood).
pub fn near(a: (i32, i32), b: (i32, i32)) -> bool {
    (a.0 - b.0).abs() <= 1 && (a.1 - b.1).abs() <= 1
}

/// Interest group of a map cell: 1 + y * width + x (1..=144).
pub fn cell_group(cell: (i32, i32), width: i32) -> u8 {
    (1 + cell.1 * width + cell.0) as u8
}

/// Interest group of a team: 200 + team.
pub fn team_group(team: u8) -> u8 {
    200 + team
}

/// Why the simulation could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GameError {
    /// A setting is out of range.
    #[error("invalid setting {0}: {1}")]
    Config(&'static str, &'static str),
    /// A client could not be created or a voice operation failed.
    #[error("client: {0}")]
    Client(String),
    /// Players did not all join and learn each other's voices in time.
    #[error("setup timed out: {0} (is the server at the given address running?)")]
    Setup(String),
}

const PROXIMITY: usize = 0;
const TEAM: usize = 1;
const TICK: Duration = Duration::from_millis(20);

struct Player {
    name: String,
    voice: LoadBalancingTransport,
    ids: [VoiceId; 2],
    cell: (i32, i32),
    team: u8,
    actor: i32,
    cursor: usize,
    subscribed: Vec<u8>,
    /// frames_received seen last tick, per (actor, voice id).
    seen: HashMap<(i32, u8), u64>,
}

fn client_error(e: impl std::fmt::Display) -> GameError {
    GameError::Client(e.to_string())
}

fn neighbourhood(cell: (i32, i32), map: (i32, i32)) -> Vec<u8> {
    let mut groups = Vec::with_capacity(9);
    for dy in -1..=1 {
        for dx in -1..=1 {
            let (x, y) = (cell.0 + dx, cell.1 + dy);
            if (0..map.0).contains(&x) && (0..map.1).contains(&y) {
                groups.push(cell_group((x, y), map.0));
            }
        }
    }
    groups
}

fn random_step(rng: &mut StdRng, cell: (i32, i32), map: (i32, i32)) -> (i32, i32) {
    loop {
        let (dx, dy) = [(1, 0), (-1, 0), (0, 1), (0, -1)][rng.gen_range(0..4)];
        let next = (cell.0 + dx, cell.1 + dy);
        if (0..map.0).contains(&next.0) && (0..map.1).contains(&next.1) {
            return next;
        }
    }
}

/// Runs one match against the name server at `server` (`udp://host:port`),
/// writing the per-second log to `log`. Call it outside any async runtime
/// (each player owns a [`PolledClient`]).
pub fn run(config: &GameConfig, server: &str, log: &mut dyn Write) -> Result<Record, GameError> {
    if !(2..=32).contains(&config.players) {
        return Err(GameError::Config("--players", "use 2..=32"));
    }
    if !(1..=12).contains(&config.map.0) || !(1..=12).contains(&config.map.1) {
        return Err(GameError::Config("map", "use 1..=12 cells per side"));
    }
    if config.speech.len() < 960 {
        return Err(GameError::Config(
            "speech",
            "give at least one 20 ms frame of audio",
        ));
    }
    let mut sink = match &config.listen {
        Some((player, _)) if *player >= config.players => {
            return Err(GameError::Config(
                "--listen-as",
                "name a player of the match (P0..)",
            ))
        }
        Some((player, path)) => Some((
            *player,
            voice_client::audio::WavSink::create(path, 48_000, 1)
                .map_err(|e| GameError::Client(format!("{}: {e}", path.display())))?,
        )),
        None => None,
    };
    let mut rng = StdRng::seed_from_u64(config.seed);
    let codec = CodecConfig {
        // Bots talk through their whole turn: every frame is sent, so who
        // heard whom is visible every tick.
        dtx: false,
        complexity: 5,
        ..CodecConfig::default()
    };
    let frame = codec.format.frame_samples();
    let mut players = Vec::with_capacity(config.players);
    for i in 0..config.players {
        let name = format!("P{i}");
        let mut lb = LbConfig::new(server, "in-game");
        lb.user_id = Some(name.clone());
        let polled = PolledClient::new(lb, Default::default()).map_err(client_error)?;
        let mut voice = LoadBalancingTransport::polled(polled, RemoteVoiceConfig::default());
        // Voices start on group 0 so that their announcements reach everyone;
        // the groups are set once everybody knows everybody's voices.
        let mut ids = [VoiceId::try_from(1u8).map_err(client_error)?; 2];
        for id in &mut ids {
            *id = voice
                .add_local_voice(LocalVoiceConfig {
                    codec: codec.clone(),
                    ..LocalVoiceConfig::default()
                })
                .map_err(client_error)?;
        }
        let cell = (
            rng.gen_range(0..config.map.0),
            rng.gen_range(0..config.map.1),
        );
        players.push(Player {
            name,
            voice,
            ids,
            cell,
            team: (i % 2) as u8,
            actor: 0,
            cursor: (i * 48_000 * 7 / 10) % config.speech.len(),
            subscribed: Vec::new(),
            seen: HashMap::new(),
        });
    }
    setup(config, &mut players)?;
    let actors: HashMap<i32, usize> = players
        .iter()
        .enumerate()
        .map(|(i, p)| (p.actor, i))
        .collect();
    let mut record = Record {
        teams: players.iter().map(|p| p.team).collect(),
        start: players.iter().map(|p| p.cell).collect(),
        ..Record::default()
    };
    let _ = writeln!(
        log,
        "match: {} players on a {}x{} map, seed {}, teams {:?}",
        config.players, config.map.0, config.map.1, config.seed, record.teams
    );
    let mut pcm = vec![0.0f32; frame];
    let mut out = vec![0.0f32; frame];
    let mut second_heard: BTreeMap<(usize, usize, Via), u64> = BTreeMap::new();
    let start = Instant::now();
    let mut next_tick = start;
    let mut second = 0u64;
    log_positions(log, 0, &players);
    loop {
        let now = Instant::now();
        let at = now - start;
        if at >= config.duration {
            break;
        }
        if at.as_secs() > second {
            flush_second(log, second, &mut second_heard, &players);
            second = at.as_secs();
            for (i, p) in players.iter_mut().enumerate() {
                if rng.gen_bool(config.move_chance) {
                    let to = random_step(&mut rng, p.cell, config.map);
                    move_player(p, to, config.map)?;
                    record.moves.push(Move { at, player: i, to });
                }
            }
            log_positions(log, second, &players);
        }
        let turn = (at.as_millis() / config.turn.as_millis().max(1)) as usize;
        let n = config.players;
        for k in 0..config.speakers_per_turn.min(n) {
            let i = (turn * config.speakers_per_turn + k) % n;
            let p = &mut players[i];
            for s in pcm.iter_mut() {
                *s = config.speech[p.cursor];
                p.cursor = (p.cursor + 1) % config.speech.len();
            }
            for id in p.ids {
                p.voice.push_frame(now, id, &pcm).map_err(client_error)?;
            }
            record.spoke.push((at, i));
        }
        for p in players.iter_mut() {
            p.voice.service();
        }
        collect(&mut players, &actors, at, &mut record, &mut second_heard);
        for (i, p) in players.iter_mut().enumerate() {
            p.voice.mix(now, &mut out);
            if let Some((_, sink)) = sink.as_mut().filter(|(player, _)| *player == i) {
                use voice_client::audio::AudioSink;
                sink.write(&out).map_err(client_error)?;
            }
        }
        next_tick += TICK;
        let now = Instant::now();
        if next_tick > now {
            std::thread::sleep(next_tick - now);
        } else {
            next_tick = now;
        }
    }
    flush_second(log, second, &mut second_heard, &players);
    record.ran = start.elapsed();
    if let Some((_, sink)) = sink {
        sink.finalize().map_err(client_error)?;
    }
    for p in &players {
        if let Some(polled) = p.voice.polled_client() {
            let _ = polled.disconnect();
        }
    }
    Ok(record)
}

/// Turns the receive counters of this tick into [`Heard`] entries.
fn collect(
    players: &mut [Player],
    actors: &HashMap<i32, usize>,
    at: Duration,
    record: &mut Record,
    second: &mut BTreeMap<(usize, usize, Via), u64>,
) {
    let cells: Vec<(i32, i32)> = players.iter().map(|p| p.cell).collect();
    let team_id = players[0].ids[TEAM].get();
    for (listener, p) in players.iter_mut().enumerate() {
        for remote in p.voice.receiver().voices() {
            let key = (remote.actor(), remote.id().get());
            let total = remote.stats().frames_received;
            let last = p.seen.insert(key, total).unwrap_or(0);
            // A re-announced voice (moves re-announce) starts counting again.
            let frames = if total >= last { total - last } else { total };
            if frames == 0 {
                continue;
            }
            let Some(&speaker) = actors.get(&remote.actor()) else {
                continue;
            };
            let via = if key.1 == team_id {
                Via::Team
            } else {
                Via::Cell(cells[speaker].0, cells[speaker].1)
            };
            record.heard.push(Heard {
                at,
                listener,
                speaker,
                via,
                frames,
            });
            *second.entry((listener, speaker, via)).or_default() += frames;
        }
    }
}

fn log_positions(log: &mut dyn Write, second: u64, players: &[Player]) {
    let mut line = format!("t={second} positions");
    for p in players {
        let _ = write!(line, " {}=({},{})", p.name, p.cell.0, p.cell.1);
    }
    let _ = writeln!(log, "{line}");
}

fn flush_second(
    log: &mut dyn Write,
    second: u64,
    heard: &mut BTreeMap<(usize, usize, Via), u64>,
    players: &[Player],
) {
    for ((listener, speaker, via), frames) in std::mem::take(heard) {
        let via = match via {
            Via::Cell(x, y) => format!("cell({x},{y})"),
            Via::Team => "team".to_owned(),
        };
        let _ = writeln!(
            log,
            "t={second} heard listener={} speaker={} via={via} frames={frames}",
            players[listener].name, players[speaker].name
        );
    }
}

fn move_player(p: &mut Player, to: (i32, i32), map: (i32, i32)) -> Result<(), GameError> {
    p.cell = to;
    let wanted = neighbourhood(to, map);
    let remove: Vec<u8> = p
        .subscribed
        .iter()
        .copied()
        .filter(|g| !wanted.contains(g))
        .collect();
    let add: Vec<u8> = wanted
        .iter()
        .copied()
        .filter(|g| !p.subscribed.contains(g))
        .collect();
    let polled = p.voice.polled_client().expect("players are polled clients");
    polled
        .change_groups(
            (!remove.is_empty()).then_some(&remove[..]),
            (!add.is_empty()).then_some(&add[..]),
        )
        .map_err(client_error)?;
    p.subscribed = wanted;
    let options = FrameOptions {
        interest_group: cell_group(to, map.0),
        ..FrameOptions::default()
    };
    p.voice
        .set_voice_options(p.ids[PROXIMITY], options)
        .map_err(client_error)
}

/// Joins everyone, waits until every player knows every other player's two
/// voices, then sets the groups.
fn setup(config: &GameConfig, players: &mut [Player]) -> Result<(), GameError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    players[0]
        .voice
        .polled_client()
        .expect("polled")
        .join_or_create_room(&config.room, RoomOptions::default())
        .map_err(client_error)?;
    let mut others_started = false;
    let want = 2 * (players.len() - 1);
    loop {
        if Instant::now() > deadline {
            let joined = players.iter().filter(|p| p.actor != 0).count();
            return Err(GameError::Setup(format!(
                "{joined} of {} players joined",
                players.len()
            )));
        }
        for p in players.iter_mut() {
            for event in p.voice.service() {
                match event {
                    LbEvent::Joined { actor, .. } => p.actor = actor,
                    LbEvent::Error(error) => {
                        return Err(GameError::Setup(format!("{}: {error}", p.name)))
                    }
                    _ => {}
                }
            }
            let mut out = [0.0f32; 960];
            p.voice.mix(Instant::now(), &mut out);
        }
        if !others_started && players[0].actor != 0 {
            for p in players.iter().skip(1) {
                p.voice
                    .polled_client()
                    .expect("polled")
                    .join_room(&config.room)
                    .map_err(client_error)?;
            }
            others_started = true;
        }
        if players.iter().all(|p| p.actor != 0)
            && players
                .iter()
                .all(|p| p.voice.receiver().voices().len() >= want)
        {
            break;
        }
        std::thread::sleep(TICK);
    }
    for p in players.iter_mut() {
        let mut groups = vec![team_group(p.team)];
        groups.extend(neighbourhood(p.cell, config.map));
        p.voice
            .polled_client()
            .expect("polled")
            .change_groups(None, Some(&groups))
            .map_err(client_error)?;
        p.subscribed = neighbourhood(p.cell, config.map);
        let team = FrameOptions {
            interest_group: team_group(p.team),
            ..FrameOptions::default()
        };
        p.voice
            .set_voice_options(p.ids[TEAM], team)
            .map_err(client_error)?;
        let proximity = FrameOptions {
            interest_group: cell_group(p.cell, config.map.0),
            ..FrameOptions::default()
        };
        p.voice
            .set_voice_options(p.ids[PROXIMITY], proximity)
            .map_err(client_error)?;
    }
    // Let the group changes reach the server before the clock starts.
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        for p in players.iter_mut() {
            p.voice.service();
            let mut out = [0.0f32; 960];
            p.voice.mix(Instant::now(), &mut out);
        }
        std::thread::sleep(TICK);
    }
    Ok(())
}

/// The speech asset shipped with voice-client, as mono 48 kHz.
pub fn default_speech_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../voice-client/assets/speech16k.wav")
}

/// Reads a WAV file as mono 48 kHz samples (mixing down, resampling).
pub fn load_speech(path: &std::path::Path) -> Result<Vec<f32>, GameError> {
    let (rate, channels, samples) = voice_client::audio::read_wav(path)
        .map_err(|e| GameError::Client(format!("{}: {e}", path.display())))?;
    let mono: Vec<f32> = samples
        .chunks(channels.max(1))
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect();
    voice_client::analysis::resample_all(&mono, rate, 48_000)
        .map_err(|e| GameError::Client(format!("{}: {e}", path.display())))
}
