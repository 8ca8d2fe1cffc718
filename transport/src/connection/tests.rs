//! Unit tests of the connection in isolation (the simulated-network suite
//! lives in `tests/sim_*.rs`).

use super::*;
use std::time::Duration;

fn config() -> Arc<TransportConfig> {
    Arc::new(TransportConfig::default())
}

#[test]
fn client_first_datagram_is_a_padded_connect() {
    let now = Instant::now();
    let mut client = Connection::connect(now, config(), Protocol::Udp, 1);
    let mut buf = Vec::new();
    let len = client.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(len, wire::CONNECT_PADDED_LEN);
    assert_eq!(buf[0] >> 4, wire::packet::CONNECT);
    assert!(
        client.poll_transmit(now, &mut buf).is_none(),
        "one connect per attempt"
    );
    assert!(client.poll_timeout().unwrap() > now);
    assert_eq!(
        client.send(now, b"x", SendOptions::RELIABLE),
        Err(SendError::NotConnected)
    );
}

#[test]
fn connect_gives_up_after_the_disconnect_timeout() {
    let now = Instant::now();
    let mut client = Connection::connect(now, config(), Protocol::Udp, 1);
    let mut buf = Vec::new();
    let mut t = now;
    let mut attempts = 0;
    while client.state() == ConnectionState::Connecting {
        while client.poll_transmit(t, &mut buf).is_some() {
            attempts += 1;
        }
        t = client.poll_timeout().unwrap();
        client.handle_timeout(t);
    }
    assert!(attempts > 3, "connect is retried ({attempts})");
    assert!(matches!(
        client.poll_event(),
        Some(ConnectionEvent::Disconnected(
            DisconnectReason::ConnectFailed(_)
        ))
    ));
    assert!(t >= now + Duration::from_secs(10));
}
