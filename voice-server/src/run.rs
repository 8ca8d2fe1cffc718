//! Starting a deployment: bind every listener of the selected roles, wire the
//! roles together (game → master reports, name → custom auth task), spawn one
//! driver task for the name server and the master, one thread per game server
//! worker ([`workers`]), and stop them gracefully.

#[path = "workers.rs"]
pub mod workers;

use crate::auth::{self, AuthJob};
use crate::config::{Config, ListenerSpec, Role};
use crate::handler::RoleHandler;
use crate::master::{MasterCommand, MasterLogic, MasterSettings};
use crate::metrics::{self, Metrics};
use crate::name::{NameCommand, NameLogic, NameSettings};
use crate::token::{TokenKey, UnixClock, WallClock};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use transport::runtime::tls::load_server_config;
use transport::runtime::{ListenerConfig, Server, ServerControl};
use transport::{EndpointConfig, Protocol, TransportConfig};

/// How to start.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// Roles to run in this process.
    pub roles: Vec<Role>,
    /// Folder relative TLS paths are resolved against (the config file's).
    pub config_dir: PathBuf,
    /// Wall clock of tokens (tests move it).
    pub clock: Arc<dyn UnixClock>,
    /// Counters (shared with the metrics endpoint).
    pub metrics: Arc<Metrics>,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            roles: vec![Role::Name, Role::Master, Role::Game],
            config_dir: PathBuf::from("."),
            clock: Arc::new(WallClock::system()),
            metrics: Metrics::new(),
        }
    }
}

/// Why a deployment did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration has problems.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A listener's TLS could not be loaded.
    #[error("{role} {protocol} listener on port {port}: {message}")]
    Tls {
        /// Role.
        role: Role,
        /// Protocol.
        protocol: Protocol,
        /// Port.
        port: u16,
        /// The TLS error with its fix.
        message: String,
    },
    /// Binding failed.
    #[error("{role}: cannot bind its listeners: {source}; another program may use the port (change it in the configuration, or stop that program)")]
    Bind {
        /// Role.
        role: Role,
        /// The OS error.
        source: std::io::Error,
    },
    /// The game → master link cannot be set up.
    #[error("game server link to the master: {0}")]
    Link(String),
    /// The metrics endpoint could not bind.
    #[error("metrics.listen {address}: {source}")]
    Metrics {
        /// The address.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// One bound listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundListener {
    /// Role.
    pub role: Role,
    /// Protocol.
    pub protocol: Protocol,
    /// The bound address.
    pub local: SocketAddr,
    /// The URL announced to clients (or, for a server-to-server listener, the
    /// URL game servers link to).
    pub url: String,
    /// A master's server-to-server listener (`[cluster] listeners`): game
    /// servers only, never announced to clients.
    pub for_servers: bool,
}

/// A running deployment.
#[derive(Debug)]
pub struct Deployment {
    /// Every bound listener.
    pub listeners: Vec<BoundListener>,
    /// The metrics endpoint, if on.
    pub metrics_address: Option<SocketAddr>,
    /// The counters of the name server and master (game workers count apart:
    /// see [`Deployment::metrics_total`]).
    pub metrics: Arc<Metrics>,
    /// Each game server worker's counters.
    pub worker_metrics: Vec<Arc<Metrics>>,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<(Role, tokio::task::JoinHandle<std::io::Result<()>>)>,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
}

impl Deployment {
    /// The URL of a role's listener for `protocol` (as announced).
    pub fn url(&self, role: Role, protocol: Protocol) -> Option<String> {
        self.listeners
            .iter()
            .find(|l| l.role == role && l.protocol == protocol && !l.for_servers)
            .map(|l| l.url.clone())
    }

    /// The URL of the master's server-to-server listener of `protocol`.
    pub fn server_link_url(&self, protocol: Protocol) -> Option<String> {
        self.listeners
            .iter()
            .find(|l| l.for_servers && l.protocol == protocol)
            .map(|l| l.url.clone())
    }

    /// Every counter of the process summed (what `/metrics` shows).
    pub fn metrics_total(&self) -> Metrics {
        let mut sets = vec![self.metrics.clone()];
        sets.extend(self.worker_metrics.iter().cloned());
        Metrics::sum(&sets)
    }

    /// Stops every role gracefully (peers are told) and waits for them.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for (role, task) in self.tasks {
            match task.await {
                Ok(Ok(())) => tracing::info!(%role, "stopped"),
                Ok(Err(e)) => tracing::warn!(%role, %e, "stopped with an error"),
                Err(e) => tracing::warn!(%role, %e, "task failed"),
            }
        }
        if let Some(task) = self.metrics_task {
            task.abort();
        }
    }

    /// Waits until a role stops on its own (an error), or forever.
    pub async fn wait_for_shutdown_signal(self) {
        shutdown_signal().await;
        tracing::info!("shutting down: telling peers");
        self.shutdown().await;
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn url_for(public_host: &str, spec: &ListenerSpec, role: Role, bound: SocketAddr) -> String {
    let protocol = spec.effective_protocol();
    let port = spec.public_port.unwrap_or(bound.port());
    let host = if public_host.contains(':') && !public_host.starts_with('[') {
        format!("[{public_host}]")
    } else {
        public_host.to_owned()
    };
    match protocol {
        Protocol::Ws | Protocol::Wss => {
            let path = spec
                .path
                .clone()
                .unwrap_or_else(|| role.default_ws_path().to_owned());
            format!("{}://{host}:{port}{path}", protocol.scheme())
        }
        _ => format!("{}://{host}:{port}", protocol.scheme()),
    }
}

struct Bound {
    role: Role,
    server: Server,
    listeners: Vec<BoundListener>,
}

/// Binds a role's listeners; game server worker `worker` (0 for other roles)
/// adds `worker × cluster.worker_port_step` to every port.
async fn bind_role(
    config: &Config,
    role: Role,
    options: &StartOptions,
    worker: usize,
) -> Result<Option<Bound>, StartError> {
    let rc = config.role(role);
    let mut specs = Vec::new();
    let mut listeners = Vec::new();
    let server_links = match role {
        Role::Master => config.cluster.listeners.as_slice(),
        _ => &[],
    };
    let all = rc
        .listeners
        .iter()
        .map(|spec| (spec, false))
        .chain(server_links.iter().map(|spec| (spec, true)));
    for (spec, for_servers) in all {
        let mut spec = spec.clone();
        if worker > 0 {
            let cluster = &config.cluster;
            spec.port = cluster.worker_port(spec.port, worker).unwrap_or(spec.port);
            spec.public_port = spec
                .public_port
                .map(|p| cluster.worker_port(p, worker).unwrap_or(p));
        }
        let spec = &spec;
        let protocol = spec.effective_protocol();
        let mut tls = None;
        if spec.needs_tls() {
            let file = spec.certificate_file(&options.config_dir);
            if spec.skip_without_certificate && spec.certificates.is_none() && !file.exists() {
                tracing::info!(%role, port = spec.port, "{} listener disabled: {} not found; run `voice-server gen-cert` to create a development certificate", protocol.scheme().to_uppercase(), file.display());
                continue;
            }
            let tls_error = |message: String| StartError::Tls {
                role,
                protocol,
                port: spec.port,
                message,
            };
            let settings = spec.tls_settings().map_err(tls_error)?;
            // ALPN: browsers offer http/1.1 for wss://; tls:// clients offer ours.
            let alpn = match protocol {
                Protocol::Tls => transport::runtime::tls::TLS_TCP_ALPN,
                _ => "http/1.1",
            };
            let loaded = load_server_config(&settings, &options.config_dir, &[alpn])
                .map_err(|e| tls_error(e.to_string()))?;
            tracing::info!(%role, %protocol, port = spec.port, "TLS: {}", loaded.report);
            tls = Some(loaded.config);
        }
        let path = match protocol {
            Protocol::Ws | Protocol::Wss => Some(
                spec.path
                    .clone()
                    .unwrap_or_else(|| role.default_ws_path().to_owned()),
            ),
            _ => None,
        };
        listeners.push(ListenerConfig {
            protocol,
            address: SocketAddr::new(spec.address, spec.port),
            path,
            tls,
        });
        specs.push((spec.clone(), for_servers));
    }
    if listeners.is_empty() {
        tracing::warn!(%role, "no listener: the role does not run");
        return Ok(None);
    }
    let transport = TransportConfig {
        max_message_size: config.limits.max_message_size,
        max_reliable_backlog: config.limits.max_reliable_backlog,
        flush_window: Duration::from_micros(config.relay.flush_window_us),
        ..TransportConfig::default()
    };
    let endpoint = EndpointConfig {
        transport: Arc::new(transport),
        max_peers: config.limits.max_peers,
        ..EndpointConfig::default()
    };
    let server = Server::bind(listeners, endpoint)
        .await
        .map_err(|source| StartError::Bind { role, source })?;
    let bound = server
        .local_addresses()
        .into_iter()
        .zip(specs.iter())
        .map(|((protocol, local), (spec, for_servers))| BoundListener {
            role,
            protocol,
            local,
            url: url_for(&config.role(role).public_host, spec, role, local),
            for_servers: *for_servers,
        })
        .collect::<Vec<_>>();
    for l in &bound {
        if l.for_servers {
            tracing::info!(role = %l.role, protocol = %l.protocol, address = %l.local, url = %l.url, "listening for game servers (server-to-server)");
        } else {
            tracing::info!(role = %l.role, protocol = %l.protocol, address = %l.local, announced = %l.url, "listening");
        }
    }
    Ok(Some(Bound {
        role,
        server,
        listeners: bound,
    }))
}

/// URLs of `listeners` of `role` from the configuration alone (a role running
/// in another process: its configured ports, at the role's public host).
fn configured_urls(
    config: &Config,
    role: Role,
    listeners: &[ListenerSpec],
) -> Vec<(Protocol, String)> {
    let public_host = &config.role(role).public_host;
    listeners
        .iter()
        .map(|spec| {
            let addr = SocketAddr::new(spec.address, spec.port);
            (
                spec.effective_protocol(),
                url_for(public_host, spec, role, addr),
            )
        })
        .collect()
}

/// The announced URLs of a role: its bound listeners in this process, else
/// its configured ones (it runs in another process).
fn role_urls(config: &Config, bound: &[BoundListener], role: Role) -> Vec<(Protocol, String)> {
    let local: Vec<_> = bound
        .iter()
        .filter(|l| l.role == role && !l.for_servers)
        .map(|l| (l.protocol, l.url.clone()))
        .collect();
    if local.is_empty() {
        configured_urls(config, role, &config.role(role).listeners)
    } else {
        local
    }
}

/// Where game servers link to the master: `cluster.master_url`, else the
/// master's server-to-server listeners (bound here, or configured at the
/// master's public host), else its client listeners.
fn link_urls(config: &Config, bound: &[BoundListener]) -> Vec<(Protocol, String)> {
    if !config.cluster.master_url.is_empty() {
        let url = &config.cluster.master_url;
        let protocol = transport::runtime::ServerUrl::parse(url)
            .map(|u| u.protocol)
            .unwrap_or(Protocol::Tcp);
        return vec![(protocol, url.clone())];
    }
    let local: Vec<_> = bound
        .iter()
        .filter(|l| l.for_servers)
        .map(|l| (l.protocol, l.url.clone()))
        .collect();
    if !local.is_empty() {
        return local;
    }
    if bound.iter().any(|l| l.role == Role::Master) {
        // The master runs here without server listeners: its client ones.
        return role_urls(config, bound, Role::Master);
    }
    let servers = &config.cluster.listeners;
    let listeners = if servers.is_empty() {
        &config.master.listeners
    } else {
        servers
    };
    configured_urls(config, Role::Master, listeners)
}

/// The game → master link's client settings (TLS trust from `cluster.master_ca_file`).
fn link_client_config(
    config: &Config,
    options: &StartOptions,
) -> Result<transport::runtime::ClientConfig, StartError> {
    let mut client = transport::runtime::ClientConfig::default();
    if !config.cluster.master_ca_file.is_empty() {
        let file = options.config_dir.join(&config.cluster.master_ca_file);
        if !file.exists() {
            return Err(StartError::Link(format!(
                "cluster.master_ca_file {} does not exist: point it at the CA (PEM) that signed the master's certificate, e.g. the server-ca.pem of `voice-server gen-cert`",
                file.display()
            )));
        }
        client.tls.extra_ca_files.push(file);
    }
    Ok(client)
}

/// Starts the selected roles of a deployment.
pub async fn start(config: Config, options: StartOptions) -> Result<Deployment, StartError> {
    let problems = config.validate(&options.config_dir);
    if !problems.is_empty() {
        let located = problems
            .into_iter()
            .map(|problem| crate::config::LocatedProblem {
                line: None,
                problem,
            })
            .collect();
        return Err(crate::config::ConfigError::Invalid(located).into());
    }
    let key = if config.token.secret.is_empty() {
        if options.roles.len() < 3 {
            tracing::warn!("token.secret is empty: a random secret is used, so servers in other processes cannot read this process's tokens; set token.secret");
        }
        TokenKey::random()
    } else {
        TokenKey::from_secret(&config.token.secret)
    };
    let mut bound = Vec::new();
    for role in [Role::Master, Role::Name] {
        if options.roles.contains(&role) {
            if let Some(b) = bind_role(&config, role, &options, 0).await? {
                bound.push(b);
            }
        }
    }
    let mut listeners: Vec<BoundListener> =
        bound.iter().flat_map(|b| b.listeners.clone()).collect();
    let master_urls = role_urls(&config, &listeners, Role::Master);
    let link_urls = link_urls(&config, &listeners);
    let master_control: Option<ServerControl<MasterCommand>> = bound
        .iter()
        .find(|b| b.role == Role::Master)
        .map(|b| b.server.control::<MasterCommand>());
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let mut worker_metrics = Vec::new();
    if options.roles.contains(&Role::Game) {
        let link_client = link_client_config(&config, &options)?;
        for index in 0..config.cluster.worker_count() {
            let spec = workers::WorkerSpec {
                index,
                config: config.clone(),
                options: options.clone(),
                key: key.clone(),
                master: master_control.clone(),
                master_urls: link_urls.clone(),
                link_client: link_client.clone(),
                shutdown: shutdown_rx.clone(),
            };
            match workers::start_worker(spec).await {
                Ok(Some(worker)) => {
                    listeners.extend(worker.listeners);
                    worker_metrics.push(worker.metrics);
                    tasks.push((Role::Game, worker.done));
                }
                Ok(None) => break,
                Err(e) => {
                    // Stop the workers already running before reporting.
                    let _ = shutdown_tx.send(true);
                    for (_, task) in tasks {
                        let _ = task.await;
                    }
                    return Err(e);
                }
            }
        }
    }
    let metrics = options.metrics.clone();
    let token_lifetime = Duration::from_secs(config.token.lifetime_secs);
    for b in bound {
        let mut rx = shutdown_rx.clone();
        let stop = async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let limits = config.limits.clone();
        let task = match b.role {
            Role::Master => {
                let settings = MasterSettings {
                    token_lifetime,
                    lobby_update_interval: Duration::from_millis(
                        config.rooms.lobby_update_interval_ms,
                    ),
                    reservation: Duration::from_secs(30),
                    game_server_timeout: Duration::from_millis(
                        config.cluster.game_server_timeout_ms,
                    ),
                };
                let logic = MasterLogic::new(
                    settings,
                    key.clone(),
                    options.clock.clone(),
                    metrics.clone(),
                );
                let server_listeners = b
                    .listeners
                    .iter()
                    .filter(|l| l.for_servers)
                    .map(|l| l.local)
                    .collect();
                let handler = RoleHandler::new(Role::Master, logic, metrics.clone(), limits)
                    .with_server_listeners(server_listeners);
                tokio::spawn(b.server.run(handler, stop))
            }
            Role::Game => unreachable!("game servers run as workers"),
            Role::Name => {
                let auth_config = config.auth.clone();
                let settings = NameSettings {
                    master_addresses: master_urls.clone(),
                    apps: config.apps.clone(),
                    token_lifetime,
                    custom_auth: !auth_config.url.is_empty(),
                    custom_auth_required: auth_config.required,
                    when_unavailable: auth_config.when_unavailable,
                };
                let control = b.server.control::<NameCommand>();
                let runtime = tokio::runtime::Handle::current();
                let sink = Box::new(move |job: AuthJob| {
                    let control = control.clone();
                    let auth_config = auth_config.clone();
                    runtime.spawn(async move {
                        let outcome = auth::call(&auth_config, &job).await;
                        let _ = control.command(NameCommand::AuthResult {
                            peer: job.peer,
                            job: job.job,
                            outcome,
                        });
                    });
                });
                let logic = NameLogic::new(
                    settings,
                    key.clone(),
                    options.clock.clone(),
                    metrics.clone(),
                    sink,
                );
                let handler = RoleHandler::new(Role::Name, logic, metrics.clone(), limits);
                tokio::spawn(b.server.run(handler, stop))
            }
        };
        tasks.push((b.role, task));
    }
    let (metrics_address, metrics_task) = if config.metrics.listen.is_empty() {
        (None, None)
    } else {
        let address: SocketAddr =
            config
                .metrics
                .listen
                .parse()
                .map_err(|_| StartError::Metrics {
                    address: config.metrics.listen.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "not an address:port",
                    ),
                })?;
        let mut sets = vec![metrics.clone()];
        sets.extend(worker_metrics.iter().cloned());
        let (addr, task) =
            metrics::start(address, sets)
                .await
                .map_err(|source| StartError::Metrics {
                    address: config.metrics.listen.clone(),
                    source,
                })?;
        tracing::info!(address = %addr, "metrics on http://{addr}/metrics");
        (Some(addr), Some(task))
    };
    Ok(Deployment {
        listeners,
        metrics_address,
        metrics,
        worker_metrics,
        shutdown: shutdown_tx,
        tasks,
        metrics_task,
    })
}
