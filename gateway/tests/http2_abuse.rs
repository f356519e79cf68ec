//! HTTP/2 abuse against the real binary, so that its memory can be read from `/proc`: rapid reset,
//! resets provoked from the server ("MadeYouReset"), CONTINUATION flood, HPACK bombs, SETTINGS
//! flood and PING flood.
//!
//! Every attack must end in a refusal — a GOAWAY, a closed connection, a 431 or RST_STREAM on the
//! stream, or (for floods of frames the gateway has to answer) the gateway no longer reading from a
//! client that does not read its answers — must put nothing on the upstream that it should not,
//! must leave the gateway's peak memory within a bound, and must leave other clients served, both
//! while the attack runs and after it.
//!
//! The frames are written by hand (an HTTP/2 client library would refuse to send them); HPACK
//! comes from `loona-hpack`, whose encoder indexes a repeated field once and then refers to it
//! with one byte, which is exactly the HPACK bomb.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

const BIN: &str = env!("CARGO_BIN_EXE_mtls-gateway");

/// How much the gateway's peak resident memory may grow during one attack. An idle debug-build
/// gateway holds about 16 MiB and each attack here moves its peak by under 2 MiB; a gateway
/// that buffered what these attacks send would add tens of MiB.
const MEMORY_GROWTH_LIMIT_KIB: u64 = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// The gateway as a child process

struct Gateway {
    child: Child,
    addr: SocketAddr,
    prepared: Prepared,
    /// Upstream requests made by [`Gateway::assert_served`], not by an attack.
    probes: AtomicU64,
}

impl Gateway {
    async fn start() -> Gateway {
        let prepared = Prepared::new(Options::default()).await;
        let mut child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(&prepared.config_path)
            .env("MTLS_GATEWAY_LOG", "warn,mtls_gateway::gateway=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the gateway binary");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sent || !line.contains("listening") || line.contains("admin") {
                    continue;
                }
                if let Some(addr) = line
                    .rsplit("addr=")
                    .next()
                    .and_then(|a| a.trim().parse().ok())
                {
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the gateway did not start: {e}");
            }
        };
        Gateway {
            child,
            addr,
            prepared,
            probes: AtomicU64::new(0),
        }
    }

    /// Requests the upstream received from attacks (the normal clients' are not counted).
    fn upstream_requests(&self) -> u64 {
        self.prepared.echo.requests.load(Ordering::SeqCst) - self.probes.load(Ordering::SeqCst)
    }

    /// A normal client on its own connection, over HTTP/2 and HTTP/1.1, gets its answer in time.
    async fn assert_served(&self, when: &str) {
        for proto in BOTH {
            let client = Client::new(DOMAIN, None, proto);
            let resp = tokio::time::timeout(
                Duration::from_secs(10),
                client.request(self.addr, Req::get(DOMAIN, "/served")),
            )
            .await
            .unwrap_or_else(|_| panic!("{when}: a normal {proto:?} client waited over 10 s"))
            .unwrap_or_else(|e| panic!("{when}: a normal {proto:?} client failed: {e}"));
            assert_eq!(resp.status, StatusCode::OK, "{when}: {proto:?}");
            self.probes.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} missing from /proc/PID/status"))
    }

    /// Starts a memory measurement: resets the peak (VmHWM) to the current resident size, and
    /// returns that size.
    fn memory_baseline(&self) -> u64 {
        // Writing 5 to clear_refs resets the peak; if the kernel refuses, the peak since start is
        // an upper bound of the attack's peak, so the check only gets stricter.
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
        self.status_kib("VmRSS:")
    }

    fn assert_memory_bounded(&self, baseline_kib: u64, what: &str) {
        let peak = self.status_kib("VmHWM:");
        let growth = peak.saturating_sub(baseline_kib);
        eprintln!("{what}: resident {baseline_kib} KiB before, peak {peak} KiB during");
        assert!(
            growth < MEMORY_GROWTH_LIMIT_KIB,
            "{what}: the gateway's peak memory grew by {growth} KiB (from {baseline_kib} KiB)"
        );
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Frames

const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

const CANCEL: u32 = 0x8;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("frame length");
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn request_fields(path: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", DOMAIN),
        (":path", path),
    ]
    .iter()
    .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
    .collect()
}

struct Writer {
    io: WriteHalf<TlsStream<TcpStream>>,
    hpack: loona_hpack::Encoder<'static>,
}

impl Writer {
    fn encode(&mut self, fields: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        self.hpack
            .encode(fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())))
    }

    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.io.write_all(bytes).await?;
        self.io.flush().await
    }
}

/// What the attacking connection saw from the gateway.
#[derive(Debug, Default)]
struct Seen {
    goaway: Option<u32>,
    resets: Vec<(u32, u32)>,
    statuses: Vec<(u32, u16)>,
    closed: bool,
}

impl Seen {
    fn refused(&self) -> bool {
        self.goaway.is_some() || self.closed
    }
}

struct Reader {
    io: ReadHalf<TlsStream<TcpStream>>,
    buf: Vec<u8>,
    hpack: loona_hpack::Decoder<'static>,
}

impl Reader {
    /// The next frame, `Ok(None)` at end of stream, `Err` on a read error (a reset connection).
    async fn frame(&mut self) -> std::io::Result<Option<(u8, u8, u32, Vec<u8>)>> {
        loop {
            if self.buf.len() >= 9 {
                let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() >= 9 + len {
                    let head: Vec<u8> = self.buf.drain(..9 + len).collect();
                    let stream =
                        u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & !(1 << 31);
                    return Ok(Some((head[3], head[4], stream, head[9..].to_vec())));
                }
            }
            let mut chunk = [0u8; 16384];
            let n = self.io.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until the connection closes, or nothing arrives for `quiet`, or `limit` passes.
    async fn watch(&mut self, quiet: Duration, limit: Duration) -> Seen {
        let mut seen = Seen::default();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let next = match tokio::time::timeout(quiet, self.frame()).await {
                Err(_) => break,
                Ok(Ok(Some(f))) => f,
                Ok(Ok(None)) | Ok(Err(_)) => {
                    seen.closed = true;
                    break;
                }
            };
            let (kind, _flags, stream, payload) = next;
            match kind {
                GOAWAY if payload.len() >= 8 => {
                    seen.goaway = Some(u32::from_be_bytes([
                        payload[4], payload[5], payload[6], payload[7],
                    ]));
                }
                RST_STREAM if payload.len() == 4 => {
                    let code = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                    seen.resets.push((stream, code));
                }
                HEADERS => {
                    // The gateway's answers are small: one HEADERS frame, no padding or priority.
                    let fields = self.hpack.decode(&payload).expect("gateway's HPACK");
                    let status = fields
                        .iter()
                        .find(|(n, _)| n == b":status")
                        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok());
                    if let Some(s) = status {
                        seen.statuses.push((stream, s));
                    }
                }
                _ => {}
            }
        }
        seen
    }
}

/// A TLS connection to the plain domain with ALPN h2, past the connection preface and the
/// SETTINGS exchange.
async fn open(addr: SocketAddr) -> (Reader, Writer) {
    let tls = Client::new(DOMAIN, None, Proto::H2)
        .connect(addr)
        .await
        .expect("TLS handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "ALPN h2");
    let (rd, wr) = tokio::io::split(tls);
    let mut reader = Reader {
        io: rd,
        buf: Vec::new(),
        hpack: loona_hpack::Decoder::new(),
    };
    let mut writer = Writer {
        io: wr,
        hpack: loona_hpack::Encoder::new(),
    };
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    writer.send(&hello).await.expect("preface");
    loop {
        let (kind, flags, _, _) = tokio::time::timeout(Duration::from_secs(5), reader.frame())
            .await
            .expect("the gateway's SETTINGS in time")
            .expect("read")
            .expect("the gateway's SETTINGS");
        if kind == SETTINGS && flags & ACK == 0 {
            break;
        }
    }
    writer
        .send(&frame(SETTINGS, ACK, 0, &[]))
        .await
        .expect("SETTINGS ACK");
    (reader, writer)
}

// ---------------------------------------------------------------------------------------------
// The attacks

/// CVE-2023-44487: streams opened and cancelled at once, as fast as the client can write. The
/// gateway must stop the connection (h2 counts streams reset before they were accepted) instead
/// of starting an upstream request for each.
#[tokio::test]
async fn rapid_reset_is_refused() {
    const STREAMS: u32 = 10_000;
    let gw = Gateway::start().await;
    let baseline = gw.memory_baseline();
    let (mut reader, mut writer) = open(gw.addr).await;
    let mut burst = Vec::new();
    for i in 0..STREAMS {
        let id = 1 + 2 * i;
        let block = writer.encode(&request_fields("/rapid-reset"));
        burst.extend(frame(HEADERS, END_STREAM | END_HEADERS, id, &block));
        burst.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
    }
    // The gateway may close the connection before it has read the whole burst.
    let _ = writer.send(&burst).await;
    let seen = reader
        .watch(Duration::from_secs(3), Duration::from_secs(20))
        .await;
    eprintln!(
        "rapid reset: {seen:?}, upstream saw {}",
        gw.upstream_requests()
    );
    assert!(seen.refused(), "rapid reset was not refused: {seen:?}");
    assert!(
        gw.upstream_requests() < 100,
        "{} of {STREAMS} cancelled streams reached the upstream",
        gw.upstream_requests()
    );
    gw.assert_served("after a rapid reset").await;
    gw.assert_memory_bounded(baseline, "rapid reset");
}

/// CVE-2025-8671 ("MadeYouReset"): the client makes the gateway reset each stream itself (a
/// `connection` field makes an HTTP/2 request malformed, a stream error), which the pending-accept
/// limit of the rapid-reset defence does not count. The gateway must end the connection after a bounded
/// number of them, and none may reach the upstream.
#[tokio::test]
async fn provoked_resets_are_refused() {
    const STREAMS: u32 = 10_000;
    let gw = Gateway::start().await;
    let baseline = gw.memory_baseline();
    let (mut reader, mut writer) = open(gw.addr).await;
    let mut burst = Vec::new();
    for i in 0..STREAMS {
        let id = 1 + 2 * i;
        let mut fields = request_fields("/provoked-reset");
        fields.push((b"connection".to_vec(), b"keep-alive".to_vec()));
        let block = writer.encode(&fields);
        burst.extend(frame(HEADERS, END_STREAM | END_HEADERS, id, &block));
    }
    let _ = writer.send(&burst).await;
    let seen = reader
        .watch(Duration::from_secs(3), Duration::from_secs(20))
        .await;
    eprintln!(
        "provoked resets: goaway {:?}, {} resets, closed {}, upstream saw {}",
        seen.goaway,
        seen.resets.len(),
        seen.closed,
        gw.upstream_requests()
    );
    assert!(seen.refused(), "provoked resets were not refused: {seen:?}");
    assert_eq!(
        gw.upstream_requests(),
        0,
        "a malformed request reached the upstream"
    );
    gw.assert_served("after provoked resets").await;
    gw.assert_memory_bounded(baseline, "provoked resets");
}

/// CVE-2024-27316 and relatives: a header block that never ends, CONTINUATION after
/// CONTINUATION. The gateway must end the connection after a bounded number of frames.
#[tokio::test]
async fn continuation_flood_is_refused() {
    const FRAMES: usize = 100_000;
    let gw = Gateway::start().await;
    let baseline = gw.memory_baseline();
    let (mut reader, mut writer) = open(gw.addr).await;
    let first = writer.encode(&request_fields("/continuation-flood"));
    let _ = writer.send(&frame(HEADERS, END_STREAM, 1, &first)).await;
    // Each CONTINUATION carries one more never-indexed literal field of 1 KiB.
    let mut piece = vec![0x10, 0x05];
    piece.extend_from_slice(b"x-pad");
    piece.extend(loona_hpack::encoder::encode_integer(1024, 7));
    piece.extend(std::iter::repeat_n(b'a', 1024));
    let continuation = frame(CONTINUATION, 0, 1, &piece);
    let mut sent = 0;
    let write_all = async {
        for _ in 0..FRAMES {
            if writer.send(&continuation).await.is_err() {
                break;
            }
            sent += 1;
        }
    };
    let (seen, ()) = tokio::join!(
        reader.watch(Duration::from_secs(10), Duration::from_secs(30)),
        write_all
    );
    eprintln!("CONTINUATION flood: {seen:?} after {sent} frames");
    assert!(seen.refused(), "CONTINUATION flood not refused: {seen:?}");
    assert!(
        sent < FRAMES,
        "the gateway read all {FRAMES} CONTINUATION frames"
    );
    assert_eq!(
        gw.upstream_requests(),
        0,
        "the unfinished request reached the upstream"
    );
    gw.assert_served("after a CONTINUATION flood").await;
    gw.assert_memory_bounded(baseline, "CONTINUATION flood");
}

/// Sends `streams` requests on one connection, each carrying a 4 KiB field `copies` times: the
/// field goes into the HPACK dynamic table once and is then named with one byte. Returns what the
/// connection saw and how many requests were sent before it ended; panics if a request was
/// neither answered 431, nor reset, nor ended with the connection.
async fn hpack_bomb(gw: &Gateway, copies: usize, streams: u32) -> (Seen, u32) {
    let (mut reader, mut writer) = open(gw.addr).await;
    let mut fields = request_fields("/hpack-bomb");
    fields.extend(std::iter::repeat_n(
        (b"x-bomb".to_vec(), vec![b'b'; 4000]),
        copies,
    ));
    let mut all = Seen::default();
    let mut sent = 0;
    for id in (0..streams).map(|i| 1 + 2 * i) {
        let block = writer.encode(&fields);
        assert!(block.len() < 16_384, "the bomb fits one frame");
        let frame = frame(HEADERS, END_STREAM | END_HEADERS, id, &block);
        if writer.send(&frame).await.is_err() {
            break;
        }
        sent += 1;
        let seen = reader
            .watch(Duration::from_millis(200), Duration::from_secs(10))
            .await;
        let answered = seen.statuses.contains(&(id, 431)) || seen.resets.iter().any(|r| r.0 == id);
        assert!(
            answered || seen.refused(),
            "{copies} copies, stream {id}: not refused: {seen:?}"
        );
        all.statuses.extend(seen.statuses);
        all.resets.extend(seen.resets);
        all.goaway = all.goaway.or(seen.goaway);
        all.closed |= seen.closed;
        if all.refused() {
            break;
        }
    }
    (all, sent)
}

/// HPACK bombs: 20 KB of header list (just over the 16 KiB limit) from 4 KB on the wire, and
/// 12 MB from 7 KB. Each request must be refused (431, a stream reset, or the connection
/// ended), none forwarded, and the gateway's memory must not follow the decoded size.
#[tokio::test]
async fn hpack_bomb_is_refused() {
    let gw = Gateway::start().await;
    let baseline = gw.memory_baseline();
    for copies in [5, 3000] {
        let (seen, sent) = hpack_bomb(&gw, copies, 10).await;
        eprintln!("HPACK bomb of {copies}: {sent} requests sent, {seen:?}");
        assert!(sent > 0, "no bomb could be sent");
        assert!(
            seen.statuses.iter().all(|&(_, code)| code == 431),
            "a bomb got an answer other than 431: {seen:?}"
        );
        assert_eq!(
            gw.upstream_requests(),
            0,
            "a bombed request reached the upstream"
        );
        gw.assert_served("after an HPACK bomb").await;
    }
    gw.assert_memory_bounded(baseline, "HPACK bomb");
}

/// What happened to a flood of frames the gateway must answer, sent by a client that never reads.
#[derive(Debug, PartialEq)]
enum FloodEnd {
    /// The connection was ended.
    Closed,
    /// The gateway stopped reading: writes made no progress for a while.
    Stalled,
    /// Everything was written and the connection is still open.
    AllWritten,
}

/// Writes `frame` up to `total` times in batches from a task, without reading; reports how the
/// flood ended. Normal clients are checked while it runs.
async fn flood(gw: &Gateway, one: Vec<u8>, total: usize) -> (FloodEnd, u64) {
    let (reader, mut writer) = open(gw.addr).await;
    let written = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let (w, f) = (written.clone(), failed.clone());
    let batch: Vec<u8> = one.repeat(4096);
    let per_batch = 4096;
    let task = tokio::spawn(async move {
        let mut left = total;
        while left > 0 {
            if writer.send(&batch).await.is_err() {
                f.store(true, Ordering::SeqCst);
                return;
            }
            w.fetch_add(batch.len() as u64, Ordering::SeqCst);
            left = left.saturating_sub(per_batch);
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.assert_served("during a flood").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (written.load(Ordering::SeqCst), Instant::now());
    let end = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if failed.load(Ordering::SeqCst) {
            break FloodEnd::Closed;
        }
        if task.is_finished() {
            break FloodEnd::AllWritten;
        }
        let now = written.load(Ordering::SeqCst);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(2) {
            break FloodEnd::Stalled;
        }
        assert!(Instant::now() < deadline, "flood neither ended nor stalled");
    };
    gw.assert_served("at the end of a flood").await;
    task.abort();
    drop(reader);
    (end, written.load(Ordering::SeqCst))
}

/// CVE-2019-9515: SETTINGS frames, each of which must be acknowledged, from a client that never
/// reads the acknowledgements. The gateway must not queue them: it ends the connection or stops
/// reading once the socket is full.
#[tokio::test]
async fn settings_flood_is_bounded() {
    let gw = Gateway::start().await;
    let baseline = gw.memory_baseline();
    // One setting, SETTINGS_ENABLE_PUSH = 0, so that each frame has something to apply.
    let one = frame(SETTINGS, 0, 0, &[0, 2, 0, 0, 0, 0]);
    let (end, written) = flood(&gw, one, 20_000_000).await;
    eprintln!("SETTINGS flood: {end:?} after {written} bytes");
    assert_ne!(
        end,
        FloodEnd::AllWritten,
        "the gateway read 300 MB of SETTINGS"
    );
    assert_eq!(gw.upstream_requests(), 0);
    gw.assert_served("after a SETTINGS flood").await;
    gw.assert_memory_bounded(baseline, "SETTINGS flood");
}

/// CVE-2019-9512: PING frames from a client that never reads the PING ACKs.
#[tokio::test]
async fn ping_flood_is_bounded() {
    let gw = Gateway::start().await;
    let baseline = gw.memory_baseline();
    let one = frame(PING, 0, 0, b"12345678");
    let (end, written) = flood(&gw, one, 20_000_000).await;
    eprintln!("PING flood: {end:?} after {written} bytes");
    assert_ne!(
        end,
        FloodEnd::AllWritten,
        "the gateway read 340 MB of PINGs"
    );
    assert_eq!(gw.upstream_requests(), 0);
    gw.assert_served("after a PING flood").await;
    gw.assert_memory_bounded(baseline, "PING flood");
}
