//! A real client that nobody here wrote: headless Chromium opens a WebSocket
//! to the name server's WSS listener (certificate from `gen-cert`'s code,
//! trusted through Chromium's `--ignore-certificate-errors-spki-list`) and
//! exchanges the protocol's greeting: it sends a STREAM_CONNECT frame and
//! checks the server's ACCEPT echoes its nonce. Without the trust flag the
//! same page must fail, which shows the trust is what made it work.
//!
//! `scripts/setup.sh` installs Debian's `chromium`; where it is missing the
//! test says so and skips.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use transport::runtime::tls::{generate_self_signed, write_generated, GenCertOptions};
use transport::Protocol;
use voice_server::config::{ListenerSpec, ProtocolName, Role};

const CHROMIUM: &str = "/usr/bin/chromium";
/// The greeting's nonce, checked in the server's ACCEPT.
const NONCE: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];

/// The page: opens the WebSocket, sends STREAM_CONNECT
/// (`0x60 | version 1 | nonce u64 | channels 2`), expects ACCEPT (`0x40 | nonce ...`)
/// and reports to `/result?...` on the page's own origin.
fn page(wss_url: &str) -> String {
    let nonce: Vec<String> = NONCE.iter().map(|b| b.to_string()).collect();
    format!(
        r#"<!doctype html><html><body><script>
const report = (text) => fetch('/result?' + encodeURIComponent(text));
const nonce = [{nonce}];
try {{
  const ws = new WebSocket('{wss_url}');
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => ws.send(new Uint8Array([0x60, 1, ...nonce, 2]));
  ws.onmessage = (event) => {{
    const bytes = new Uint8Array(event.data);
    const echoed = nonce.every((b, i) => bytes[1 + i] === b);
    report((bytes[0] === 0x40 && echoed ? 'accept' : 'unexpected') + ' len=' + bytes.length + ' first=' + bytes[0]);
    ws.close();
  }};
  ws.onerror = () => report('error');
}} catch (e) {{ report('exception ' + e); }}
</script></body></html>"#,
        nonce = nonce.join(",")
    )
}

/// Serves the page and collects the first `/result` report.
fn serve_page(html: String) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Bounded: a handful of requests (page, favicon, result) per run.
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let Some(path) = request_path(&mut stream) else {
                continue;
            };
            if let Some(result) = path.strip_prefix("/result?") {
                let _ = tx.send(percent_decode(result));
                respond(&mut stream, "text/plain", "ok");
            } else if path == "/" {
                respond(&mut stream, "text/html", &html);
            } else {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        }
    });
    (port, rx)
}

fn request_path(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    // Drain the headers so the browser sees a clean answer.
    let mut header = String::new();
    while reader.read_line(&mut header).ok()? > 2 {
        header.clear();
    }
    line.split_whitespace().nth(1).map(str::to_owned)
}

fn respond(stream: &mut TcpStream, content_type: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(value) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Starts headless Chromium with an empty profile, as the workplace notes require.
fn chromium(profile: &Path, url: &str, spki: Option<&str>) -> Child {
    let mut command = Command::new(CHROMIUM);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    if let Some(spki) = spki {
        command.arg(format!("--ignore-certificate-errors-spki-list={spki}"));
    }
    command
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command.spawn().expect("chromium starts")
}

/// Runs Chromium on the page and returns its report (or why there is none).
fn run_browser(wss_url: &str, spki: Option<&str>) -> String {
    let (port, results) = serve_page(page(wss_url));
    let profile = tempfile::tempdir().unwrap();
    let mut child = chromium(profile.path(), &format!("http://127.0.0.1:{port}/"), spki);
    let deadline = Instant::now() + Duration::from_secs(45);
    let report = loop {
        if let Ok(report) = results.recv_timeout(Duration::from_millis(200)) {
            break report;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            break format!("chromium exited early ({status}): {stderr}");
        }
        if Instant::now() > deadline {
            break "no report within 45 s".to_owned();
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_exchanges_the_greeting_over_wss() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("SKIPPED: {CHROMIUM} is missing; scripts/setup.sh installs Debian's chromium");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert = generate_self_signed(&GenCertOptions {
        domains: vec!["localhost".into()],
        ips: vec!["127.0.0.1".parse().unwrap()],
        ..GenCertOptions::default()
    })
    .unwrap();
    write_generated(&cert, &dir.path().join("server.pem"), None).unwrap();
    let mut config = local_config();
    let mut wss: ListenerSpec = toml::from_str("protocol = \"wss\"").unwrap();
    wss.protocol = ProtocolName(Protocol::Wss);
    wss.address = "127.0.0.1".parse().unwrap();
    wss.certificate_path = Some(dir.path().to_string_lossy().into_owned());
    config.role_mut(Role::Name).listeners.push(wss);
    let deployment = deploy(config, None).await;
    let wss_url = deployment
        .url(Role::Name, Protocol::Wss)
        .expect("a WSS name server listener");
    assert!(wss_url.starts_with("wss://127.0.0.1:"), "{wss_url}");

    let spki = cert.spki_sha256_base64.clone();
    let trusted = {
        let url = wss_url.clone();
        tokio::task::spawn_blocking(move || run_browser(&url, Some(&spki)))
            .await
            .unwrap()
    };
    assert!(
        trusted.starts_with("accept "),
        "Chromium trusting the key hash: {trusted}"
    );

    let untrusted = {
        let url = wss_url.clone();
        tokio::task::spawn_blocking(move || run_browser(&url, None))
            .await
            .unwrap()
    };
    assert_eq!(
        untrusted, "error",
        "Chromium without trust must fail the TLS handshake"
    );
    deployment.shutdown().await;
}
