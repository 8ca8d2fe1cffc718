//! Counters and gauges as atomics, rendered in Prometheus text format on an
//! HTTP `/metrics` endpoint (off by default; `metrics.listen = "127.0.0.1:9100"`).
//!
//! The endpoint is a hand-parsed GET on a tokio `TcpListener`: one route, no
//! request bodies, no keep-alive, so an HTTP library would only add build time
//! and attack surface.
//!
//! Each game server worker counts into its own [`Metrics`] (so worker threads
//! never write the same cache line on the relay path); the endpoint renders
//! the sum of every set ([`Metrics::sum`]).

use crate::config::Role;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use transport::Protocol;

const ROLES: [Role; 3] = [Role::Name, Role::Master, Role::Game];
const PROTOCOLS: [Protocol; 5] = [
    Protocol::Udp,
    Protocol::Tcp,
    Protocol::Ws,
    Protocol::Wss,
    Protocol::Tls,
];

fn role_index(role: Role) -> usize {
    match role {
        Role::Name => 0,
        Role::Master => 1,
        Role::Game => 2,
    }
}

fn protocol_index(protocol: Protocol) -> usize {
    match protocol {
        Protocol::Udp => 0,
        Protocol::Tcp => 1,
        Protocol::Ws => 2,
        Protocol::Wss => 3,
        Protocol::Tls => 4,
    }
}

/// Every counter and gauge of one process. Shared as `Arc<Metrics>`.
#[derive(Debug, Default)]
pub struct Metrics {
    peers: [[AtomicI64; 5]; 3],
    /// Rooms on the game server (gauge).
    pub rooms: AtomicI64,
    /// Messages received (all roles).
    pub messages_in: AtomicU64,
    /// Bytes of messages received.
    pub bytes_in: AtomicU64,
    /// Messages sent (per receiver).
    pub messages_out: AtomicU64,
    /// Bytes of messages sent (per receiver).
    pub bytes_out: AtomicU64,
    /// Voice frames relayed (per receiver).
    pub voice_frames_relayed: AtomicU64,
    /// Sends refused because a receiver has no encryption keys, and failed key exchanges.
    pub encryption_failures: AtomicU64,
    /// Messages refused by rate limits.
    pub rate_limit_hits: AtomicU64,
    /// Peers disconnected for abuse.
    pub abuse_disconnects: AtomicU64,
    /// Refreshed tokens handed out.
    pub token_refreshes: AtomicU64,
    /// Malformed or unknown messages answered with an error.
    pub bad_requests: AtomicU64,
    /// Authentications accepted (name server).
    pub authentications: AtomicU64,
}

impl Metrics {
    /// A new set, all zero.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// Adds `delta` to the peer gauge of a role and protocol.
    pub fn add_peers(&self, role: Role, protocol: Protocol, delta: i64) {
        self.peers[role_index(role)][protocol_index(protocol)].fetch_add(delta, Relaxed);
    }
    /// Current peers of a role and protocol.
    pub fn peers(&self, role: Role, protocol: Protocol) -> i64 {
        self.peers[role_index(role)][protocol_index(protocol)].load(Relaxed)
    }
    /// Increments a counter by one.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// A snapshot holding the sum of several sets (a process's roles and workers).
    pub fn sum(sets: &[Arc<Metrics>]) -> Metrics {
        let total = Metrics::default();
        for m in sets {
            for (t, x) in total.peers.iter().flatten().zip(m.peers.iter().flatten()) {
                t.fetch_add(x.load(Relaxed), Relaxed);
            }
            total.rooms.fetch_add(m.rooms.load(Relaxed), Relaxed);
            for (t, x) in total.counters().into_iter().zip(m.counters()) {
                t.fetch_add(x.load(Relaxed), Relaxed);
            }
        }
        total
    }

    fn counters(&self) -> [&AtomicU64; 11] {
        [
            &self.messages_in,
            &self.bytes_in,
            &self.messages_out,
            &self.bytes_out,
            &self.voice_frames_relayed,
            &self.encryption_failures,
            &self.rate_limit_hits,
            &self.abuse_disconnects,
            &self.token_refreshes,
            &self.bad_requests,
            &self.authentications,
        ]
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str(
            "# HELP voice_peers Connected peers by role and protocol.\n# TYPE voice_peers gauge\n",
        );
        for role in ROLES {
            for protocol in PROTOCOLS {
                let _ = writeln!(
                    out,
                    "voice_peers{{role=\"{role}\",protocol=\"{protocol}\"}} {}",
                    self.peers(role, protocol)
                );
            }
        }
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            &mut out,
            "voice_rooms",
            "Rooms on the game server.",
            self.rooms.load(Relaxed),
        );
        let counters: [(&str, &str, &AtomicU64); 11] = [
            (
                "voice_messages_in_total",
                "Messages received.",
                &self.messages_in,
            ),
            (
                "voice_bytes_in_total",
                "Bytes of messages received.",
                &self.bytes_in,
            ),
            (
                "voice_messages_out_total",
                "Messages sent, per receiver.",
                &self.messages_out,
            ),
            (
                "voice_bytes_out_total",
                "Bytes of messages sent, per receiver.",
                &self.bytes_out,
            ),
            (
                "voice_frames_relayed_total",
                "Voice frames relayed, per receiver.",
                &self.voice_frames_relayed,
            ),
            (
                "voice_encryption_failures_total",
                "Encrypted sends refused or failed key exchanges.",
                &self.encryption_failures,
            ),
            (
                "voice_rate_limit_hits_total",
                "Messages refused by rate limits.",
                &self.rate_limit_hits,
            ),
            (
                "voice_abuse_disconnects_total",
                "Peers disconnected for exceeding limits.",
                &self.abuse_disconnects,
            ),
            (
                "voice_token_refreshes_total",
                "Refreshed tokens handed out.",
                &self.token_refreshes,
            ),
            (
                "voice_bad_requests_total",
                "Malformed or unknown messages answered with an error.",
                &self.bad_requests,
            ),
            (
                "voice_authentications_total",
                "Authentications accepted by the name server.",
                &self.authentications,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        out
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped/aborted.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Vec<Arc<Metrics>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let mut len = 0;
            // Read until the end of the request head, at most 1 KiB, at most 2 s.
            let read = async {
                while len < buf.len() {
                    match stream.read(&mut buf[len..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => len += n,
                    }
                    if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), read).await;
            let head = String::from_utf8_lossy(&buf[..len]);
            let (status, body) =
                if head.starts_with("GET /metrics ") || head.starts_with("GET /metrics?") {
                    ("200 OK", Metrics::sum(&metrics).render())
                } else {
                    ("404 Not Found", "only GET /metrics is served\n".to_owned())
                };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// Binds the metrics endpoint and spawns its task.
pub async fn start(
    listen: SocketAddr,
    metrics: Vec<Arc<Metrics>>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    Ok((address, tokio::spawn(serve(listener, metrics))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_every_series() {
        let m = Metrics::new();
        m.add_peers(Role::Game, Protocol::Udp, 3);
        m.add_peers(Role::Game, Protocol::Udp, -1);
        Metrics::inc(&m.voice_frames_relayed);
        let text = m.render();
        assert!(
            text.contains("voice_peers{role=\"game\",protocol=\"udp\"} 2"),
            "{text}"
        );
        assert!(text.contains("voice_frames_relayed_total 1"));
        assert!(text.contains("# TYPE voice_rooms gauge"));
    }

    #[tokio::test]
    async fn http_endpoint_serves_metrics() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let m = Metrics::new();
        Metrics::inc(&m.token_refreshes);
        let worker = Metrics::new();
        Metrics::inc(&worker.token_refreshes);
        worker.add_peers(Role::Game, Protocol::Udp, 2);
        let (addr, task) = start("127.0.0.1:0".parse().unwrap(), vec![m, worker])
            .await
            .unwrap();
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).await.unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(
            text.contains("voice_token_refreshes_total 2"),
            "summed: {text}"
        );
        assert!(text.contains("voice_peers{role=\"game\",protocol=\"udp\"} 2"));
        task.abort();
    }
}
