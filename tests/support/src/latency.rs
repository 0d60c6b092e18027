//! A TCP proxy that adds network latency and counts round trips, so the
//! tests and `scripts/bench` can see what imglife costs on a real network
//! (20 ms, 80 ms RTT) while every service runs on 127.0.0.1.
//!
//! [`Proxy::start`] listens on `127.0.0.1:0` and forwards each connection to
//! one upstream address. Every chunk read from one side is written to the
//! other side `one_way` later; chunks are queued with their due time, so the
//! delay adds latency without limiting throughput (like a long, fat pipe).
//! An end of stream (half-close) is forwarded after the same delay, so HTTP
//! clients and servers see their peers finish as they would directly.
//!
//! The kernel accepts the client's connection at once, so the proxy charges
//! the TCP handshake itself: the client's bytes cannot leave before the
//! SYN / SYN-ACK round trip is over (2 × `one_way` after accept), and then
//! travel `one_way` like any other chunk. One HTTP/1.1 request on a fresh
//! connection therefore takes 2 round trips (4 × `one_way`) end to end.
//!
//! # Round trips
//!
//! Counted per connection and summed over all of them:
//!
//! - 1 for the TCP handshake;
//! - 1 each time the client sends after the server has sent (the client's
//!   first send counts too): a client waiting for an answer before it can go
//!   on is what a round trip costs on a real network.
//!
//! So one HTTP/1.1 request on a fresh connection counts 2, every further
//! request on the kept-alive connection 1 more, and a TLS handshake adds its
//! turns as they happen. This is what `BENCHMARKS.md` calls "round trips".
//! Requests sent in parallel on several connections each count, although
//! their latencies overlap: the count is the work done, the wall time is the
//! latency paid. The proxy sees bytes, not protocols: a client's send that
//! waits for nothing (an HTTP/2 SETTINGS acknowledgement or window update
//! after server data) counts as well, so multiplexed protocols read high.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// Counters of a [`Proxy`] (see the module documentation for round trips).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted.
    pub connections: u64,
    /// Round trips, as defined in the module documentation.
    pub round_trips: u64,
    /// Bytes from the clients to the upstream.
    pub bytes_up: u64,
    /// Bytes from the upstream to the clients.
    pub bytes_down: u64,
}

/// Called with the counters and the number of open connections after every
/// accept and every close (the `latency-proxy` bin writes its stats file).
pub type Hook = Box<dyn Fn(Stats, u64) + Send + Sync>;

/// State shared by the proxy's tasks and its handle.
struct Shared {
    state: Mutex<State>,
    /// Notified when a connection closes ([`Proxy::settled`]).
    closed: Condvar,
    hook: Option<Hook>,
    timer: Timer,
}

#[derive(Default)]
struct State {
    stats: Stats,
    open: u64,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut State)) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state);
        // Under the lock: hooks see the updates in their order, so the last
        // call always reports the current state (a stats file never ends
        // on a stale `open`).
        if let Some(hook) = &self.hook {
            hook(state.stats, state.open);
        }
    }
}

/// A running latency proxy; stops (and closes its connections) when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards every connection to `upstream`,
    /// delaying each chunk by `one_way` in each direction (so one round trip
    /// costs 2 × `one_way`). Runs on its own threads; stops when dropped.
    pub fn start(upstream: SocketAddr, one_way: Duration) -> std::io::Result<Proxy> {
        Self::start_with_hook(upstream, one_way, None)
    }

    /// [`Proxy::start`], calling `hook` after every accept and every close.
    pub fn start_with_hook(
        upstream: SocketAddr,
        one_way: Duration,
        hook: Option<Hook>,
    ) -> std::io::Result<Proxy> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        // Its own runtime, so the proxy works from synchronous tests and
        // keeps its timing whatever the caller's threads do.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("latency-proxy")
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            closed: Condvar::new(),
            hook,
            timer: Timer::default(),
        });
        let timer = shared.clone();
        std::thread::Builder::new()
            .name("latency-proxy-timer".to_owned())
            .spawn(move || timer.timer.run())?;
        runtime.spawn(accept_loop(listener, upstream, one_way, shared.clone()));
        Ok(Proxy {
            addr,
            shared,
            runtime: Some(runtime),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// Waits until no proxied connection is open any more, at most
    /// `timeout`, then returns the counters. For a test: run the client
    /// process to its end, then `settled()`, then assert on the counts.
    pub fn settled(&self, timeout: Duration) -> Stats {
        let state = self.lock();
        let (state, _) = self
            .shared
            .closed
            .wait_timeout_while(state, timeout, |s| s.open > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state.stats
    }

    /// Zeroes the counters (between a warm-up and a counted run).
    pub fn reset(&self) {
        self.shared.update(|s| s.stats = Stats::default());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Drops every task, which closes the listener and all sockets.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        self.shared.timer.stop();
    }
}

/// Wakes the writers at their chunks' due times. tokio's timer rounds every
/// deadline up to its next millisecond tick: up to a millisecond late on
/// each hop, ~2 ms on every round trip measured (10% at 20 ms). A thread
/// waiting on a condition variable with a timeout (a high-resolution timer
/// underneath) wakes within tens of microseconds.
#[derive(Default)]
struct Timer {
    queue: Mutex<TimerQueue>,
    changed: Condvar,
}

#[derive(Default)]
struct TimerQueue {
    due: BinaryHeap<Reverse<Wake>>,
    /// Breaks ties between equal due times (the heap needs a total order).
    seq: u64,
    stop: bool,
}

struct Wake {
    at: Instant,
    seq: u64,
    tx: oneshot::Sender<()>,
}

impl PartialEq for Wake {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Wake {}
impl PartialOrd for Wake {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Wake {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl Timer {
    fn lock(&self) -> std::sync::MutexGuard<'_, TimerQueue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns at `at` (at once when it has passed: no delay added at 0 ms).
    async fn sleep_until(&self, at: Instant) {
        if at <= Instant::now() {
            return;
        }
        let (tx, rx) = oneshot::channel();
        let earliest = {
            let mut queue = self.lock();
            let seq = queue.seq;
            queue.seq += 1;
            let earliest = queue.due.peek().is_none_or(|Reverse(w)| at < w.at);
            queue.due.push(Reverse(Wake { at, seq, tx }));
            earliest
        };
        if earliest {
            self.changed.notify_one();
        }
        // An error means the proxy is stopping: nothing left to wait for.
        let _ = rx.await;
    }

    /// The timer thread: wakes whatever is due, sleeps until the next.
    fn run(&self) {
        let mut queue = self.lock();
        loop {
            if queue.stop {
                return;
            }
            let now = Instant::now();
            while queue.due.peek().is_some_and(|Reverse(w)| w.at <= now) {
                if let Some(Reverse(wake)) = queue.due.pop() {
                    let _ = wake.tx.send(());
                }
            }
            queue = match queue.due.peek() {
                Some(Reverse(next)) => {
                    let wait = next.at - now;
                    self.changed
                        .wait_timeout(queue, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .changed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_one();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    one_way: Duration,
    shared: Arc<Shared>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let accepted = Instant::now();
        shared.update(|s| {
            s.stats.connections += 1;
            s.stats.round_trips += 1; // the TCP handshake
            s.open += 1;
        });
        let shared = shared.clone();
        tokio::spawn(async move {
            // The upstream is local: connecting costs nothing worth charging.
            if let Ok(server) = TcpStream::connect(upstream).await {
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                relay(client, server, accepted, one_way, &shared).await;
            }
            shared.update(|s| s.open -= 1);
            shared.closed.notify_all();
        });
    }
}

/// Relays both directions of one connection until both have ended.
async fn relay(
    client: TcpStream,
    server: TcpStream,
    accepted: Instant,
    one_way: Duration,
    shared: &Arc<Shared>,
) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Who sent last on this connection; true at first, so that the client's
    // first send counts a round trip.
    let server_spoke = Arc::new(AtomicBool::new(true));
    let up = pipe(
        client_read,
        server_write,
        // The client's bytes wait for the handshake's round trip.
        accepted + 2 * one_way,
        one_way,
        Direction::Up,
        server_spoke.clone(),
        shared.clone(),
    );
    let down = pipe(
        server_read,
        client_write,
        accepted,
        one_way,
        Direction::Down,
        server_spoke,
        shared.clone(),
    );
    tokio::join!(up, down);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Client to upstream.
    Up,
    /// Upstream to client.
    Down,
}

/// A chunk in flight: its bytes (empty for the end of stream) and when it
/// arrives at the other side.
struct Chunk {
    due: Instant,
    bytes: Vec<u8>,
}

/// Chunks in flight per direction before the reader waits for the writer;
/// 256 × 64 KiB, far more than any bandwidth × delay the tests reach.
const IN_FLIGHT: usize = 256;
const CHUNK: usize = 64 * 1024;

/// Forwards one direction: a reader stamps each chunk with its due time
/// (never before `not_before`, then `one_way` later), a writer delivers it
/// then. The two run concurrently, so reading is never held up by the delay.
async fn pipe(
    from: OwnedReadHalf,
    to: OwnedWriteHalf,
    not_before: Instant,
    one_way: Duration,
    direction: Direction,
    server_spoke: Arc<AtomicBool>,
    shared: Arc<Shared>,
) {
    let (tx, mut rx) = mpsc::channel::<Chunk>(IN_FLIGHT);
    let timer = shared.clone();
    let reader = async move {
        loop {
            let mut buf = vec![0; CHUNK];
            // A reset ends this direction like an end of stream would (0).
            let n: usize = read(&from, &mut buf).await.unwrap_or_default();
            buf.truncate(n);
            if n > 0 {
                count(&shared, direction, &server_spoke, n);
            }
            let due = Instant::now().max(not_before) + one_way;
            if tx.send(Chunk { due, bytes: buf }).await.is_err() || n == 0 {
                return;
            }
        }
    };
    let writer = async move {
        while let Some(chunk) = rx.recv().await {
            timer.timer.sleep_until(chunk.due).await;
            if chunk.bytes.is_empty() || write_all(&to, &chunk.bytes).await.is_err() {
                break;
            }
        }
        // Dropping the write half shuts it down: the peer sees the end of
        // stream (the half-close is forwarded). Dropping `rx` stops the reader.
        drop(to);
        drop(rx);
    };
    tokio::join!(reader, writer);
}

/// Counts bytes, and a round trip when the client speaks after the server.
fn count(shared: &Shared, direction: Direction, server_spoke: &AtomicBool, n: usize) {
    let n = n as u64;
    let turn = match direction {
        Direction::Up => server_spoke.swap(false, Ordering::SeqCst),
        Direction::Down => {
            server_spoke.store(true, Ordering::SeqCst);
            false
        }
    };
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    match direction {
        Direction::Up => state.stats.bytes_up += n,
        Direction::Down => state.stats.bytes_down += n,
    }
    if turn {
        state.stats.round_trips += 1;
    }
}

// The crate's tokio has no `io-util`: read and write with the readiness API.
async fn read(from: &OwnedReadHalf, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        from.readable().await?;
        match from.try_read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

async fn write_all(to: &OwnedWriteHalf, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        to.writable().await?;
        match to.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::time::Instant;

    use super::*;

    /// A tiny HTTP/1.1 server: answers every request (headers only) with a
    /// 5-byte body, keeps the connection until the client closes it.
    fn http_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut writer = conn;
                    loop {
                        let mut line = String::new();
                        // Read one request's head.
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let response = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
                        if writer.write_all(response.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
    const RESPONSE_LEN: usize = 43;

    /// Sends `requests` requests one after the other on one connection,
    /// reading each response, then closes. Returns the time from connecting
    /// to the last response.
    fn client(addr: SocketAddr, requests: usize) -> Duration {
        let start = Instant::now();
        let mut conn = TcpStream::connect(addr).unwrap();
        for _ in 0..requests {
            conn.write_all(REQUEST).unwrap();
            let mut response = [0; RESPONSE_LEN];
            conn.read_exact(&mut response).unwrap();
            assert!(response.ends_with(b"hello"), "{response:?}");
        }
        let elapsed = start.elapsed();
        conn.shutdown(Shutdown::Write).unwrap();
        // The server's end of stream comes back through the proxy.
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        elapsed
    }

    fn counts(requests: usize, one_way: Duration) -> (Stats, Duration) {
        let proxy = Proxy::start(http_server(), one_way).unwrap();
        let elapsed = client(proxy.addr(), requests);
        (proxy.settled(Duration::from_secs(10)), elapsed)
    }

    fn expected(requests: u64) -> Stats {
        Stats {
            connections: 1,
            round_trips: 1 + requests,
            bytes_up: requests * REQUEST.len() as u64,
            bytes_down: requests * RESPONSE_LEN as u64,
        }
    }

    #[test]
    fn one_request_pays_the_handshake_and_its_round_trip() {
        let one_way = Duration::from_millis(50);
        let (stats, elapsed) = counts(1, one_way);
        assert_eq!(stats, expected(1));
        // Physics: 2 round trips of 2 × one_way each.
        assert!(elapsed >= 4 * one_way, "{elapsed:?}");
    }

    #[test]
    fn a_kept_alive_request_adds_one_round_trip() {
        let one_way = Duration::from_millis(50);
        let (stats, elapsed) = counts(2, one_way);
        assert_eq!(stats, expected(2));
        assert!(elapsed >= 6 * one_way, "{elapsed:?}");
    }

    #[test]
    fn without_delay_the_counts_are_the_same() {
        assert_eq!(counts(1, Duration::ZERO).0, expected(1));
        assert_eq!(counts(2, Duration::ZERO).0, expected(2));
    }

    #[test]
    fn settled_waits_for_the_close_and_reset_zeroes() {
        let proxy = Proxy::start(http_server(), Duration::from_millis(20)).unwrap();
        let mut conn = TcpStream::connect(proxy.addr()).unwrap();
        // A response came back: the proxy has accepted the connection.
        conn.write_all(REQUEST).unwrap();
        conn.read_exact(&mut [0; RESPONSE_LEN]).unwrap();
        // Still open: settled gives up after its timeout.
        let open = proxy.settled(Duration::from_millis(100));
        assert_eq!(open, expected(1));
        drop(conn);
        // Closed: settled returns once the close went through (the test
        // would hang otherwise).
        assert_eq!(proxy.settled(Duration::from_secs(3600)), expected(1));
        proxy.reset();
        assert_eq!(proxy.stats(), Stats::default());
        client(proxy.addr(), 1);
        assert_eq!(proxy.settled(Duration::from_secs(10)), expected(1));
    }

    #[test]
    fn the_hook_ends_on_the_current_counters() {
        let last = Arc::new(Mutex::new(None));
        let seen = last.clone();
        let hook: Hook = Box::new(move |stats, open| *seen.lock().unwrap() = Some((stats, open)));
        let proxy = Proxy::start_with_hook(http_server(), Duration::ZERO, Some(hook)).unwrap();
        let addr = proxy.addr();
        // Many connections opening and closing at once.
        let clients: Vec<_> = (0..32)
            .map(|_| std::thread::spawn(move || client(addr, 1)))
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        let stats = proxy.settled(Duration::from_secs(10));
        assert_eq!(stats.connections, 32);
        assert_eq!(*last.lock().unwrap(), Some((stats, 0)));
    }

    #[test]
    fn large_transfers_are_forwarded_whole() {
        // An echo server: what goes up comes back down, across many chunks.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            let mut reader = conn.try_clone().unwrap();
            let mut writer = conn;
            std::io::copy(&mut reader, &mut writer).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let proxy = Proxy::start(upstream, Duration::from_millis(10)).unwrap();
        let mut conn = TcpStream::connect(proxy.addr()).unwrap();
        let sent: Vec<u8> = (0..3_000_000_u32).map(|i| i as u8).collect();
        let mut writer = conn.try_clone().unwrap();
        let data = sent.clone();
        let sender = std::thread::spawn(move || {
            writer.write_all(&data).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut received = Vec::new();
        conn.read_to_end(&mut received).unwrap();
        sender.join().unwrap();
        assert!(received == sent, "{} bytes back", received.len());
        let stats = proxy.settled(Duration::from_secs(10));
        assert_eq!((stats.bytes_up, stats.bytes_down), (3_000_000, 3_000_000));
    }
}
