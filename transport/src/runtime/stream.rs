//! Stream links (TCP, TLS, WS, WSS): length-prefixed framing for TCP and TLS,
//! binary messages for WebSocket, and the per-stream reader and writer tasks
//! shared by the client and the server drivers.
//!
//! TCP frame: `u32` big-endian length, then that many bytes. A length above the
//! cap (largest message plus [`FRAME_HEADER_ALLOWANCE`]) closes the stream with a
//! log line; no buffer of the announced size is ever allocated.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Bytes allowed above `max_message_size` in one frame for the protocol's own
/// headers (command header, encryption nonce and tag).
pub const FRAME_HEADER_ALLOWANCE: usize = 1024;

/// Frames queued to one stream's writer task before the peer counts as stuck and
/// is disconnected (the driver never waits for a slow peer). Defaults to 1024.
pub const WRITE_QUEUE_FRAMES: usize = 1024;

/// How long one write may stall (peer not reading) before the stream is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the writer may take to flush its queue when the stream is closed.
pub const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// Any byte stream a link can run on (plain TCP, or TLS over TCP).
pub trait IoStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> IoStream for T {}

/// A boxed byte stream.
pub type BoxedIo = Box<dyn IoStream>;

/// Bytes [`FirstBytes`] keeps: enough to recognise a TLS record header.
const FIRST_BYTES: usize = 5;

/// Wraps a stream and keeps a copy of the first bytes read from it, so that a
/// failed handshake can say what the peer actually spoke (e.g. TLS on a plain port).
#[derive(Debug)]
pub struct FirstBytes<T> {
    inner: T,
    seen: Arc<Mutex<Vec<u8>>>,
    done: bool,
}

impl<T> FirstBytes<T> {
    /// Wraps `inner`; the returned handle reads the recorded bytes.
    pub fn new(inner: T) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let seen = Arc::new(Mutex::new(Vec::with_capacity(FIRST_BYTES)));
        (
            Self {
                inner,
                seen: seen.clone(),
                done: false,
            },
            seen,
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for FirstBytes<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if !self.done && buf.filled().len() > before {
            let this = &mut *self;
            if let Ok(mut seen) = this.seen.lock() {
                let room = FIRST_BYTES.saturating_sub(seen.len());
                let new = &buf.filled()[before..];
                seen.extend_from_slice(&new[..new.len().min(room)]);
                this.done = seen.len() >= FIRST_BYTES;
            }
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for FirstBytes<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// An opened stream link, ready for its reader and writer tasks.
#[allow(clippy::large_enum_variant)] // built once per stream, moved into its tasks
pub enum StreamLink {
    /// Length-prefixed frames on a byte stream.
    Framed(BoxedIo),
    /// Binary WebSocket messages (WS or WSS).
    WebSocket(WebSocketStream<BoxedIo>),
}

impl std::fmt::Debug for StreamLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamLink::Framed(_) => f.write_str("StreamLink::Framed"),
            StreamLink::WebSocket(_) => f.write_str("StreamLink::WebSocket"),
        }
    }
}

/// What a reader task reports to its driver.
#[derive(Debug)]
pub enum StreamInput {
    /// One complete frame.
    Frame {
        /// The driver's id for the stream.
        stream: u64,
        /// The frame.
        data: Bytes,
    },
    /// The stream ended (EOF, error or a framing violation).
    Closed {
        /// The driver's id for the stream.
        stream: u64,
        /// Why, for logs and `DisconnectReason::Transport`.
        reason: String,
    },
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix announces more than the cap.
    #[error("frame length {length} exceeds the limit of {limit} bytes (max_message_size plus header allowance)")]
    TooLong {
        /// Announced length.
        length: usize,
        /// The cap.
        limit: usize,
    },
}

/// Check-then-parse decoder for length-prefixed frames.
#[derive(Debug, Clone, Copy)]
pub struct FrameDecoder {
    limit: usize,
}

impl FrameDecoder {
    /// A decoder refusing frames longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { limit }
    }

    /// The largest accepted frame.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Takes one complete frame off the front of `buf`, or `Ok(None)` if more
    /// bytes are needed (then at most `limit + 4` bytes are ever buffered).
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let Some(header) = buf.get(..4) else {
            return Ok(None);
        };
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if length > self.limit {
            return Err(FrameError::TooLong {
                length,
                limit: self.limit,
            });
        }
        if buf.len() < 4 + length {
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(length).freeze()))
    }

    /// Bytes still missing for the frame at the front of `buf` (0 if unknown).
    pub fn missing(&self, buf: &BytesMut) -> usize {
        match buf.get(..4) {
            Some(h) => (4 + u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize)
                .saturating_sub(buf.len()),
            None => 4 - buf.len(),
        }
    }
}

/// Hands out owned copies of outgoing frames from one shared buffer, so that
/// queueing a frame to a writer task costs no allocation per frame (one block
/// of [`FrameArena::BLOCK`] bytes is allocated when the previous is used up).
#[derive(Debug, Default)]
pub struct FrameArena {
    buffer: BytesMut,
}

impl FrameArena {
    /// Bytes reserved at a time.
    pub const BLOCK: usize = 64 * 1024;

    /// An owned copy of `data`.
    pub fn copy(&mut self, data: &[u8]) -> Bytes {
        if self.buffer.capacity() < data.len() {
            self.buffer.reserve(data.len().max(Self::BLOCK));
        }
        self.buffer.extend_from_slice(data);
        self.buffer.split().freeze()
    }
}

/// True if a framed stream starts like an HTTP request (e.g. a WebSocket
/// upgrade sent to a `tcp://` or `tls://` port).
fn looks_like_http(buf: &[u8]) -> bool {
    [&b"GET "[..], b"POST", b"HEAD", b"PUT ", b"OPTI"]
        .iter()
        .any(|method| buf.starts_with(method))
}

/// Appends one length-prefixed frame to `out`.
pub fn encode_frame(payload: &[u8], out: &mut BytesMut) {
    out.reserve(4 + payload.len());
    out.put_u32(payload.len() as u32);
    out.put_slice(payload);
}

/// WebSocket limits matching the frame cap.
pub fn websocket_config(frame_limit: usize) -> WebSocketConfig {
    WebSocketConfig {
        max_message_size: Some(frame_limit),
        max_frame_size: Some(frame_limit),
        ..Default::default()
    }
}

/// A task handle that aborts the task when dropped (so that a dropped driver
/// never leaves readers or listeners behind).
#[derive(Debug)]
pub struct AbortOnDrop(pub JoinHandle<()>);

impl AbortOnDrop {
    /// Stops the task now.
    pub fn abort(&self) {
        self.0.abort();
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The running tasks of one link.
#[derive(Debug)]
pub struct LinkTasks {
    /// Frames to write; dropping it makes the writer flush and close the stream.
    pub writer: mpsc::Sender<Bytes>,
    /// The writer task (finishes after flushing once `writer` is dropped).
    pub writer_task: JoinHandle<()>,
    /// The reader task (aborted when the peer is removed, or when this is dropped).
    pub reader_task: AbortOnDrop,
}

/// Spawns the reader and writer tasks of `link`. Frames go to `inbound` tagged with
/// `stream`; the reader waits when `inbound` is full (back-pressure on that stream
/// only). Frames longer than `frame_limit` close the stream.
pub fn spawn_link(
    link: StreamLink,
    stream: u64,
    frame_limit: usize,
    inbound: mpsc::Sender<StreamInput>,
) -> LinkTasks {
    use tracing::Instrument;
    let (writer, queue) = mpsc::channel(WRITE_QUEUE_FRAMES);
    let reader_span = tracing::debug_span!("stream_reader", stream);
    let writer_span = tracing::debug_span!("stream_writer", stream);
    let (reader_task, writer_task) = match link {
        StreamLink::Framed(io) => {
            let (read_half, write_half) = tokio::io::split(io);
            let decoder = FrameDecoder::new(frame_limit);
            (
                tokio::spawn(
                    read_framed(read_half, stream, decoder, inbound).instrument(reader_span),
                ),
                tokio::spawn(write_framed(write_half, queue).instrument(writer_span)),
            )
        }
        StreamLink::WebSocket(socket) => {
            let (sink, source) = socket.split();
            (
                tokio::spawn(read_websocket(source, stream, inbound).instrument(reader_span)),
                tokio::spawn(write_websocket(sink, queue).instrument(writer_span)),
            )
        }
    };
    LinkTasks {
        writer,
        writer_task,
        reader_task: AbortOnDrop(reader_task),
    }
}

async fn read_framed(
    mut io: tokio::io::ReadHalf<BoxedIo>,
    stream: u64,
    decoder: FrameDecoder,
    inbound: mpsc::Sender<StreamInput>,
) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let reason = loop {
        match decoder.decode(&mut buf) {
            Ok(Some(data)) => {
                if inbound
                    .send(StreamInput::Frame { stream, data })
                    .await
                    .is_err()
                {
                    return; // driver gone
                }
                continue;
            }
            Ok(None) => {}
            Err(error) if looks_like_http(&buf) => {
                tracing::warn!(
                    stream,
                    "closing stream: the peer sent an HTTP request on this tcp:// or tls:// port \
                     (a ws:// or wss:// client?); WebSocket clients must use the server's ws/wss port"
                );
                break format!("{error}: an HTTP request where frames were expected");
            }
            Err(error) => {
                tracing::warn!(stream, %error, "closing stream: bad frame");
                break error.to_string();
            }
        }
        // Grow by at most 64 KiB at a time, never by the announced length at once.
        let want = decoder.missing(&buf).clamp(1, 64 * 1024);
        if buf.capacity() - buf.len() < want {
            buf.reserve(want.max(8 * 1024));
        }
        match io.read_buf(&mut buf).await {
            Ok(0) if buf.is_empty() => break "the peer closed the connection".to_string(),
            Ok(0) => break "the peer closed the connection in the middle of a frame".to_string(),
            Ok(_) => {}
            Err(error) => break format!("read error: {error}"),
        }
    };
    let _ = inbound.send(StreamInput::Closed { stream, reason }).await;
}

async fn write_framed(mut io: tokio::io::WriteHalf<BoxedIo>, mut queue: mpsc::Receiver<Bytes>) {
    let mut out = BytesMut::with_capacity(16 * 1024);
    while let Some(frame) = queue.recv().await {
        encode_frame(&frame, &mut out);
        // Coalesce whatever else is queued into one write.
        while out.len() < 64 * 1024 {
            match queue.try_recv() {
                Ok(frame) => encode_frame(&frame, &mut out),
                Err(_) => break,
            }
        }
        let written = tokio::time::timeout(WRITE_TIMEOUT, async {
            io.write_all(&out).await?;
            io.flush().await
        });
        match written.await {
            Ok(Ok(())) => out.clear(),
            Ok(Err(error)) => {
                tracing::debug!(%error, "stream write failed");
                return;
            }
            Err(_) => {
                tracing::warn!("stream write stalled for {WRITE_TIMEOUT:?}; dropping the stream");
                return;
            }
        }
    }
    let _ = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, io.shutdown()).await;
}

async fn read_websocket(
    mut source: futures_util::stream::SplitStream<WebSocketStream<BoxedIo>>,
    stream: u64,
    inbound: mpsc::Sender<StreamInput>,
) {
    let reason = loop {
        match source.next().await {
            Some(Ok(Message::Binary(data))) => {
                if inbound
                    .send(StreamInput::Frame {
                        stream,
                        data: Bytes::from(data),
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Text(_))) => {
                tracing::warn!(
                    stream,
                    "closing WebSocket: text message where binary frames are expected"
                );
                break "the peer sent a text message; this protocol uses binary messages"
                    .to_string();
            }
            Some(Ok(Message::Close(_))) | None => {
                break "the peer closed the WebSocket".to_string()
            }
            Some(Err(error)) => {
                tracing::debug!(stream, %error, "WebSocket read failed");
                break format!("WebSocket error: {error}");
            }
        }
    };
    let _ = inbound.send(StreamInput::Closed { stream, reason }).await;
}

async fn write_websocket(
    mut sink: futures_util::stream::SplitSink<WebSocketStream<BoxedIo>, Message>,
    mut queue: mpsc::Receiver<Bytes>,
) {
    while let Some(frame) = queue.recv().await {
        let written = tokio::time::timeout(WRITE_TIMEOUT, async {
            sink.feed(Message::Binary(Vec::from(frame))).await?;
            while let Ok(frame) = queue.try_recv() {
                sink.feed(Message::Binary(Vec::from(frame))).await?;
            }
            sink.flush().await
        });
        match written.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!(%error, "WebSocket write failed");
                return;
            }
            Err(_) => {
                tracing::warn!(
                    "WebSocket write stalled for {WRITE_TIMEOUT:?}; dropping the stream"
                );
                return;
            }
        }
    }
    let _ = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, sink.close()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_split_and_joined_frames() {
        let decoder = FrameDecoder::new(100);
        let mut wire = BytesMut::new();
        encode_frame(b"hello", &mut wire);
        encode_frame(b"", &mut wire);
        encode_frame(&[7u8; 100], &mut wire);
        let all = wire.freeze();
        // Feed one byte at a time: frames appear exactly when complete.
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for byte in all.iter() {
            buf.put_u8(*byte);
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(
            frames,
            vec![
                Bytes::from_static(b"hello"),
                Bytes::new(),
                Bytes::from(vec![7u8; 100])
            ]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_length_is_an_error_before_any_payload() {
        let decoder = FrameDecoder::new(100);
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Err(FrameError::TooLong {
                length: u32::MAX as usize,
                limit: 100
            })
        );
        let mut buf = BytesMut::from(&[0, 0, 0, 101][..]);
        assert!(decoder.decode(&mut buf).is_err());
    }

    #[test]
    fn arena_copies_are_independent() {
        let mut arena = FrameArena::default();
        let first = arena.copy(b"one");
        let second = arena.copy(&[9u8; 70_000]);
        let third = arena.copy(b"three");
        assert_eq!(
            (&first[..], second.len(), &third[..]),
            (&b"one"[..], 70_000, &b"three"[..])
        );
        assert!(second.iter().all(|b| *b == 9));
    }

    #[test]
    fn missing_counts_header_then_body() {
        let decoder = FrameDecoder::new(100);
        assert_eq!(decoder.missing(&BytesMut::from(&[0u8][..])), 3);
        assert_eq!(decoder.missing(&BytesMut::from(&[0u8, 0, 0, 10, 1][..])), 9);
    }
}
