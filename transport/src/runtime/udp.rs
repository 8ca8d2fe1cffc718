//! One UDP socket serving many peers, with batched I/O through `quinn-udp`:
//! `recvmmsg`/GRO on receive, GSO on send where the platform offers it.

use quinn_udp::{RecvMeta, Transmit as UdpTransmit, UdpSocketState};
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Receive slots offered per system call (`recvmmsg` fills up to `quinn_udp::BATCH_SIZE`).
const RECV_SLOTS: usize = 16;
/// Bytes per receive slot and GRO segment: any datagram up to this size arrives whole.
const SEGMENT_BYTES: usize = 2048;

/// A UDP socket plus its quinn-udp state and the receive buffers (allocated once).
#[derive(Debug)]
pub struct UdpIo {
    socket: UdpSocket,
    state: UdpSocketState,
    recv_buf: Vec<u8>,
    slot_len: usize,
    metas: [RecvMeta; RECV_SLOTS],
    /// Coalesced outgoing datagrams (same destination, same size) for GSO.
    batch: Vec<u8>,
    batch_to: Option<SocketAddr>,
    batch_segment: usize,
    batch_count: usize,
}

impl UdpIo {
    /// Binds `address` (port 0: a free port).
    pub fn bind(address: SocketAddr) -> io::Result<Self> {
        let std_socket = std::net::UdpSocket::bind(address)?;
        let state = UdpSocketState::new((&std_socket).into())?;
        std_socket.set_nonblocking(true)?;
        let socket = UdpSocket::from_std(std_socket)?;
        // Generous kernel buffers smooth out bursts of many peers; failure is harmless.
        let _ = state.set_recv_buffer_size((&socket).into(), 4 << 20);
        let _ = state.set_send_buffer_size((&socket).into(), 4 << 20);
        let slot_len = (SEGMENT_BYTES * state.gro_segments().max(1)).max(u16::MAX as usize);
        tracing::debug!(
            %address,
            gro_segments = state.gro_segments(),
            gso_segments = state.max_gso_segments(),
            "UDP socket bound"
        );
        Ok(Self {
            socket,
            state,
            recv_buf: vec![0; RECV_SLOTS * slot_len],
            slot_len,
            metas: [RecvMeta::default(); RECV_SLOTS],
            batch: Vec::with_capacity(64 * 1024),
            batch_to: None,
            batch_segment: 0,
            batch_count: 0,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// True if bound to an IPv4 address.
    pub fn is_ipv4(&self) -> bool {
        self.local_addr().map(|a| a.is_ipv4()).unwrap_or(true)
    }

    /// Ready when the socket may have datagrams (registers the waker otherwise).
    pub fn poll_recv_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.socket.poll_recv_ready(cx)
    }

    /// Receives up to `budget` datagrams without waiting, handing each to `on_datagram`.
    /// Returns how many were handled (0 when none were waiting).
    pub fn recv_batch(
        &mut self,
        budget: usize,
        mut on_datagram: impl FnMut(SocketAddr, &[u8]),
    ) -> usize {
        let mut handled = 0;
        while handled < budget {
            let Self {
                socket,
                state,
                recv_buf,
                slot_len,
                metas,
                ..
            } = self;
            let mut chunks = recv_buf.chunks_mut(*slot_len);
            // Invariant: recv_buf holds exactly RECV_SLOTS slots (see bind).
            let mut slices: [IoSliceMut<'_>; RECV_SLOTS] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().expect("RECV_SLOTS slots")));
            let socket: &UdpSocket = socket;
            let result = socket.try_io(Interest::READABLE, || {
                state.recv(socket.into(), &mut slices, metas)
            });
            let count = match result {
                Ok(count) => count,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    // ICMP errors from one peer (connection refused, ...) must not stop the endpoint.
                    tracing::debug!(%error, "UDP receive error");
                    handled += 1;
                    continue;
                }
            };
            for (index, meta) in self.metas[..count].iter().enumerate() {
                let slot = &self.recv_buf[index * self.slot_len..][..meta.len.min(self.slot_len)];
                let stride = meta.stride.max(1);
                for datagram in slot.chunks(stride) {
                    on_datagram(meta.addr, datagram);
                    handled += 1;
                }
            }
        }
        handled
    }

    /// Queues one outgoing datagram; datagrams of equal size to the same address
    /// are sent together with GSO. Call [`UdpIo::flush`] after the last one.
    #[allow(clippy::manual_is_multiple_of)] // rust-version 1.80
    pub async fn send(&mut self, destination: SocketAddr, datagram: &[u8]) {
        let max_segments = self.state.max_gso_segments().max(1);
        let fits = self.batch_to == Some(destination)
            && datagram.len() <= self.batch_segment
            && self.batch.len() % self.batch_segment == 0
            && self.batch_count < max_segments
            && self.batch.len() + datagram.len() <= 64_000;
        if !fits {
            self.flush().await;
            self.batch_to = Some(destination);
            self.batch_segment = datagram.len().max(1);
        }
        self.batch.extend_from_slice(datagram);
        self.batch_count += 1;
    }

    /// Sends whatever [`UdpIo::send`] coalesced.
    pub async fn flush(&mut self) {
        let Some(destination) = self.batch_to.take() else {
            return;
        };
        let transmit = UdpTransmit {
            destination,
            ecn: None,
            contents: &self.batch,
            segment_size: (self.batch_count > 1).then_some(self.batch_segment),
            src_ip: None,
        };
        // Bounded retries on a full socket buffer; UDP may drop, the protocol resends.
        for _ in 0..3 {
            let result = self.socket.try_io(Interest::WRITABLE, || {
                self.state.send((&self.socket).into(), &transmit)
            });
            match result {
                Ok(()) => break,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if self.socket.writable().await.is_err() {
                        break;
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, %destination, "UDP send failed");
                    break;
                }
            }
        }
        self.batch.clear();
        self.batch_count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal-size datagrams to one address go out coalesced (GSO where offered)
    /// and arrive as separate datagrams with their exact contents, the shorter
    /// last one included; a datagram to another address flushes the batch.
    #[tokio::test]
    async fn coalesced_sends_arrive_as_separate_datagrams() {
        let mut sender = UdpIo::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut receiver = UdpIo::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let other = UdpIo::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        println!(
            "GSO segments {}, GRO segments {}",
            sender.state.max_gso_segments(),
            receiver.state.gro_segments()
        );
        let to = receiver.local_addr().unwrap();
        let mut expected = Vec::new();
        for index in 0..10u8 {
            expected.push(vec![index; 1000]);
        }
        expected.push(vec![99; 300]);
        for datagram in &expected {
            sender.send(to, datagram).await;
        }
        sender.send(other.local_addr().unwrap(), b"elsewhere").await;
        sender.flush().await;

        let mut received = Vec::new();
        let from = sender.local_addr().unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while received.len() < expected.len() {
            tokio::time::timeout_at(
                deadline,
                std::future::poll_fn(|cx| receiver.poll_recv_ready(cx)),
            )
            .await
            .expect("datagrams arrive")
            .unwrap();
            receiver.recv_batch(64, |source, datagram| {
                assert_eq!(source, from);
                received.push(datagram.to_vec());
            });
        }
        assert_eq!(received, expected);
    }
}
