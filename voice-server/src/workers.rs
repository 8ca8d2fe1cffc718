//! Game server workers: each is a complete game server (its own sockets,
//! transport endpoint, peers and rooms) on its own OS thread, driven by its own
//! single-threaded tokio runtime.
//!
//! Why this keeps the relay free of locks: a room lives on exactly one worker
//! (the master places it there), and every peer of that room is connected to
//! that worker's sockets, so a voice frame is received, routed and sent by one
//! thread touching only that thread's state. Nothing on the path is shared:
//! not the endpoint, not the rooms, not even the metrics counters (each worker
//! counts into its own set; the `/metrics` endpoint sums them). Workers talk to
//! the master only through channels (reports once a second and on room
//! changes), the same way separate game server processes do over a link.
//!
//! Each worker measures the CPU time of its own thread
//! (`/proc/thread-self/stat`) and sends it with its load report.

use super::{bind_role, BoundListener, StartError, StartOptions};
use crate::config::{Config, Role};
use crate::game::room::RoomBounds;
use crate::game::{GameCommand, GameLogic, GameSettings, ReportSink};
use crate::handler::RoleHandler;
use crate::link::MasterLink;
use crate::master::MasterCommand;
use crate::metrics::Metrics;
use crate::token::TokenKey;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use transport::runtime::{ClientConfig, ServerControl};
use transport::Protocol;

/// What a worker needs to start.
pub(super) struct WorkerSpec {
    pub index: usize,
    pub config: Config,
    pub options: StartOptions,
    pub key: TokenKey,
    /// The master in this process, if any.
    pub master: Option<ServerControl<MasterCommand>>,
    /// The master's URLs, for a link when it runs elsewhere.
    pub master_urls: Vec<(Protocol, String)>,
    pub link_client: ClientConfig,
    pub shutdown: watch::Receiver<bool>,
}

/// A started worker.
pub(super) struct RunningWorker {
    pub listeners: Vec<BoundListener>,
    pub metrics: Arc<Metrics>,
    /// Completes when the worker's thread has stopped.
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The game logic's settings from the configuration.
fn game_settings(
    config: &Config,
    server_id: String,
    addresses: Vec<(Protocol, String)>,
) -> GameSettings {
    GameSettings {
        server_id,
        addresses,
        max_rooms: config.limits.max_rooms,
        max_cached_events: config.limits.max_cached_events,
        bounds: RoomBounds {
            max_actors: config.limits.max_actors_per_room.min(u32::MAX as usize) as u32,
            max_player_ttl_ms: config.rooms.max_player_ttl_ms,
            max_empty_room_ttl_ms: config.rooms.max_empty_room_ttl_ms,
            default_empty_room_ttl_ms: config.rooms.default_empty_room_ttl_ms,
        },
        token_lifetime: Duration::from_secs(config.token.lifetime_secs),
        token_refresh_interval: Duration::from_secs(config.token.refresh_interval_secs),
    }
}

/// Starts worker `spec.index` on a new thread; returns once its listeners are
/// bound (or failed to bind). `None`: the game role has no listener.
pub(super) async fn start_worker(spec: WorkerSpec) -> Result<Option<RunningWorker>, StartError> {
    let (bound_tx, bound_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    let metrics = Metrics::new();
    let worker_metrics = metrics.clone();
    let index = spec.index;
    std::thread::Builder::new()
        .name(format!("game-worker-{index}"))
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(source) => {
                    let _ = bound_tx.send(Err(StartError::Bind {
                        role: Role::Game,
                        source,
                    }));
                    return;
                }
            };
            let result = runtime.block_on(run_worker(spec, worker_metrics, bound_tx));
            let _ = done_tx.send(result);
        })
        .map_err(|source| StartError::Bind {
            role: Role::Game,
            source,
        })?;
    let listeners = match bound_rx.await {
        Ok(Ok(Some(listeners))) => listeners,
        Ok(Ok(None)) => return Ok(None),
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(StartError::Bind {
                role: Role::Game,
                source: std::io::Error::other(format!(
                    "game worker {index} stopped while starting"
                )),
            })
        }
    };
    let done = tokio::spawn(async move {
        done_rx.await.unwrap_or_else(|_| {
            Err(std::io::Error::other(format!(
                "game worker {index} thread ended abnormally (see the log above)"
            )))
        })
    });
    Ok(Some(RunningWorker {
        listeners,
        metrics,
        done,
    }))
}

type BoundReply = oneshot::Sender<Result<Option<Vec<BoundListener>>, StartError>>;

async fn run_worker(
    spec: WorkerSpec,
    metrics: Arc<Metrics>,
    bound_tx: BoundReply,
) -> std::io::Result<()> {
    let options = StartOptions {
        metrics: metrics.clone(),
        ..spec.options.clone()
    };
    let bound = match bind_role(&spec.config, Role::Game, &options, spec.index).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            let _ = bound_tx.send(Ok(None));
            return Ok(());
        }
        Err(e) => {
            let _ = bound_tx.send(Err(e));
            return Ok(());
        }
    };
    let addresses: Vec<(Protocol, String)> = bound
        .listeners
        .iter()
        .map(|l| (l.protocol, l.url.clone()))
        .collect();
    let server_id = format!("game-{:08x}-w{}", rand::random::<u32>(), spec.index);
    let settings = game_settings(&spec.config, server_id.clone(), addresses);
    let control = bound.server.control::<GameCommand>();
    let mut link_task = None;
    let sink: ReportSink = match spec.master.clone() {
        Some(master) => Box::new(move |report| {
            if master.command(MasterCommand::Report(report)).is_err() {
                tracing::debug!("master stopped; report dropped");
            }
        }),
        None => {
            // The master runs elsewhere: reports travel over an encrypted link.
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let link = MasterLink {
                master_urls: spec.master_urls.clone(),
                server_id: server_id.clone(),
                key: spec.key.clone(),
                clock: spec.options.clock.clone(),
                game: control.clone(),
                client: spec.link_client.clone(),
            };
            link_task = Some(tokio::spawn(link.run(rx, spec.shutdown.clone())));
            Box::new(move |report| {
                let _ = tx.send(report);
            })
        }
    };
    let logic = GameLogic::new(
        settings,
        spec.key.clone(),
        spec.options.clock.clone(),
        metrics.clone(),
        sink,
    );
    if let Some(master) = &spec.master {
        let _ = master.command(MasterCommand::Report(logic.full_report()));
    }
    let interval = Duration::from_millis(spec.config.cluster.report_interval_ms.max(1));
    tokio::spawn(load_ticker(control, interval, spec.shutdown.clone()));
    tracing::info!(worker = spec.index, %server_id, "game server worker started");
    let handler = RoleHandler::new(Role::Game, logic, metrics, spec.config.limits.clone());
    let _ = bound_tx.send(Ok(Some(bound.listeners)));
    let mut shutdown = spec.shutdown;
    let stop = async move {
        let _ = shutdown.wait_for(|v| *v).await;
    };
    let result = bound.server.run(handler, stop).await;
    if let Some(task) = link_task {
        let _ = task.await;
    }
    result
}

/// Sends the game logic a load tick with this thread's CPU use every `interval`.
async fn load_ticker(
    control: ServerControl<GameCommand>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = (tokio::time::Instant::now(), thread_cpu_time());
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
        let now = (tokio::time::Instant::now(), thread_cpu_time());
        let wall = now.0.duration_since(last.0).as_secs_f32();
        let cpu_percent = match (last.1, now.1) {
            (Some(a), Some(b)) if wall > 0.0 => {
                (b.saturating_sub(a).as_secs_f32() / wall * 100.0).min(100.0)
            }
            _ => 0.0,
        };
        last = now;
        if control
            .command(GameCommand::LoadTick { cpu_percent })
            .is_err()
        {
            return;
        }
    }
}

/// CPU time (user + system) of the calling thread, from
/// `/proc/thread-self/stat` (Linux; `None` elsewhere). Resolution: one clock
/// tick (10 ms with Linux's USER_HZ of 100).
pub fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    parse_cpu_ticks(&stat).map(|ticks| Duration::from_millis(ticks * 10))
}

/// utime + stime (fields 14 and 15) of a `/proc/*/stat` line; the command
/// name (field 2) may hold spaces and parentheses, so fields are counted from
/// the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_the_command_name() {
        let line = "4242 (game (worker) 1) S 1 2 3 4 5 6 7 8 9 10 250 31 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(line), Some(281));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert_eq!(parse_cpu_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn this_threads_cpu_time_grows_when_it_works() {
        let Some(before) = thread_cpu_time() else {
            eprintln!("skipped: no /proc/thread-self/stat on this system");
            return;
        };
        // Spin until the clock tick moves (bounded: at most 2 s of spinning).
        let start = std::time::Instant::now();
        let mut after = before;
        let mut x = 0u64;
        while after == before && start.elapsed() < Duration::from_secs(2) {
            for i in 0..100_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            after = thread_cpu_time().unwrap();
        }
        assert!(after > before, "30+ ms of spinning shows as CPU time");
    }
}
