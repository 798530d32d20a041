//! A TCP chaos proxy for resilience tests: put it between a client (a connection pool, a Redis
//! connection manager) and its server, then cut the path and restore it while the client runs.
//!
//! ```no_run
//! use clientnest_testkit::proxy::ChaosProxy;
//!
//! # async fn demo(server: std::net::SocketAddr) -> std::io::Result<()> {
//! let proxy = ChaosProxy::start(server).await?;
//! // Point the client at `proxy.addr()` instead of `server`.
//! let url = format!("postgres://postgres@{}/test", proxy.addr());
//! # let _ = url;
//! proxy.cut().await; // every open connection is closed, new ones are closed at once
//! // ... the client's calls now fail ...
//! proxy.restore(); // new connections reach the server again
//! # Ok(()) }
//! ```
//!
//! What the client sees while the proxy is cut:
//! - on a connection it already had: the peer closes it (end of stream or a reset), as when the
//!   server or the network dies mid-conversation;
//! - on a new connection: the TCP handshake succeeds, then the proxy closes the socket before a
//!   single byte is exchanged, as a server that dies while starting up. (Refusing the handshake
//!   would need closing the listener, which could lose the port to another process.)
//!
//! The proxy uses only tokio. Dropping it stops accepting (the port is closed) and closes every
//! connection it relays. It is meant for tests on loopback, not for production traffic.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The proxy's mode, shared with the accept loop and every relay task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mode {
    /// Whether the path is cut (new connections are closed at once).
    cut: bool,
    /// Bumped by every cut and by the drop: relays started under an older epoch close.
    epoch: u64,
}

/// A TCP proxy from a loopback port to one upstream address, whose path a test can cut and
/// restore. See the [module documentation](self).
#[derive(Debug)]
pub struct ChaosProxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    open: Arc<watch::Sender<usize>>,
    accept_task: JoinHandle<()>,
}

impl ChaosProxy {
    /// Listen on `127.0.0.1` on a free port and relay every accepted connection to `upstream`
    /// (a connection whose upstream cannot be reached is closed).
    pub async fn start(upstream: SocketAddr) -> io::Result<ChaosProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (mode, mode_rx) = watch::channel(Mode { cut: false, epoch: 0 });
        let open = Arc::new(watch::channel(0usize).0);
        let accept_task = tokio::spawn(accept_loop(listener, upstream, mode_rx, Arc::clone(&open)));
        Ok(ChaosProxy { addr, mode, open, accept_task })
    }

    /// The address clients connect to instead of the upstream's.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cut the path: close every relayed connection and close new ones as soon as they are
    /// accepted, until [`restore`](Self::restore). Returns once every relayed connection is
    /// closed on both sides.
    pub async fn cut(&self) {
        self.mode.send_modify(|m| {
            m.cut = true;
            m.epoch += 1;
        });
        let mut open = self.open.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = open.wait_for(|n| *n == 0).await;
    }

    /// Restore the path: new connections are relayed again. Connections closed by the cut stay
    /// closed; clients reconnect.
    pub fn restore(&self) {
        self.mode.send_modify(|m| m.cut = false);
    }

    /// Whether the path is cut: `true` from a cut until the next restore.
    pub fn is_cut(&self) -> bool {
        self.mode.borrow().cut
    }

    /// How many connections are being relayed right now.
    pub fn open_connections(&self) -> usize {
        *self.open.borrow()
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.accept_task.abort();
        self.mode.send_modify(|m| {
            m.cut = true;
            m.epoch += 1;
        });
    }
}

/// Accept connections until the task is aborted: close them at once while cut, else relay them.
async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    mode: watch::Receiver<Mode>,
    open: Arc<watch::Sender<usize>>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Accept errors (e.g. too many open files) are transient: try again.
            tokio::task::yield_now().await;
            continue;
        };
        let now = *mode.borrow();
        if now.cut {
            drop(client);
            continue;
        }
        let guard = OpenGuard::new(Arc::clone(&open));
        tokio::spawn(relay(client, upstream, mode.clone(), now.epoch, guard));
    }
}

/// Relay one connection until either side closes it or the epoch moves on (a cut or a drop).
async fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    epoch: u64,
    guard: OpenGuard,
) {
    let cut = async move {
        // Resolves at once when the epoch already moved on; an error means the proxy is gone.
        let _ = mode.wait_for(|m| m.epoch != epoch).await;
    };
    tokio::pin!(cut);
    let mut server = tokio::select! {
        biased;
        () = &mut cut => return,
        server = TcpStream::connect(upstream) => match server {
            Ok(server) => server,
            Err(_) => return,
        },
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        biased;
        () = &mut cut => {}
        _ = copy_bidirectional(&mut client, &mut server) => {}
    }
    drop((client, server));
    drop(guard);
}

/// Counts a relayed connection while it lives.
struct OpenGuard(Arc<watch::Sender<usize>>);

impl OpenGuard {
    fn new(open: Arc<watch::Sender<usize>>) -> Self {
        open.send_modify(|n| *n += 1);
        Self(open)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A tiny echo server on loopback; returns its address.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = socket.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    /// Send `msg` and read the same number of bytes back.
    async fn round_trip(stream: &mut TcpStream, msg: &[u8]) -> io::Result<Vec<u8>> {
        stream.write_all(msg).await?;
        let mut buf = vec![0; msg.len()];
        stream.read_exact(&mut buf).await?;
        Ok(buf)
    }

    /// Whether the peer has closed the stream: a read gives end of stream or an error (bounded
    /// wait, so a broken proxy fails the test instead of hanging it).
    async fn is_closed(stream: &mut TcpStream) -> bool {
        let mut buf = [0u8; 16];
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }

    #[tokio::test]
    async fn relays_bytes_both_ways() {
        let proxy = ChaosProxy::start(echo_server().await).await.unwrap();
        assert_ne!(proxy.addr().port(), 0);
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"hello").await.unwrap(), b"hello");
        let big = vec![7u8; 1 << 20];
        assert_eq!(round_trip(&mut stream, &big).await.unwrap(), big);
        assert_eq!(proxy.open_connections(), 1);
        assert!(!proxy.is_cut());
    }

    #[tokio::test]
    async fn cut_closes_open_connections_and_new_ones() {
        let proxy = ChaosProxy::start(echo_server().await).await.unwrap();
        let mut before = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut before, b"ping").await.unwrap(), b"ping");

        proxy.cut().await;
        assert!(proxy.is_cut());
        assert_eq!(proxy.open_connections(), 0);
        assert!(is_closed(&mut before).await, "an open connection survived the cut");

        let mut during = TcpStream::connect(proxy.addr()).await.expect("the handshake still succeeds");
        let _ = during.write_all(b"ping").await;
        assert!(is_closed(&mut during).await, "a new connection was relayed while cut");
        assert_eq!(proxy.open_connections(), 0);
    }

    #[tokio::test]
    async fn restore_relays_new_connections_again() {
        let proxy = ChaosProxy::start(echo_server().await).await.unwrap();
        proxy.cut().await;
        proxy.restore();
        assert!(!proxy.is_cut());
        let mut after = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut after, b"back").await.unwrap(), b"back");

        // A second cut and restore behave the same.
        proxy.cut().await;
        assert!(is_closed(&mut after).await);
        proxy.restore();
        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut again, b"again").await.unwrap(), b"again");
    }

    #[tokio::test]
    async fn unreachable_upstream_closes_the_client() {
        // A port that was free a moment ago: nothing listens there.
        let gone = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap().local_addr().unwrap();
        let proxy = ChaosProxy::start(gone).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert!(is_closed(&mut stream).await);
    }

    #[tokio::test]
    async fn drop_stops_the_proxy() {
        let proxy = ChaosProxy::start(echo_server().await).await.unwrap();
        let addr = proxy.addr();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"bye").await.unwrap(), b"bye");
        drop(proxy);
        assert!(is_closed(&mut stream).await, "a relayed connection outlived the proxy");
        // The listener goes with the aborted accept task: new connections are refused.
        let refused = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match TcpStream::connect(addr).await {
                    Err(_) => return true,
                    Ok(mut s) => {
                        // The abort may not have landed yet: such a socket is never relayed.
                        let _ = s.shutdown().await;
                        tokio::task::yield_now().await;
                    }
                }
            }
        })
        .await;
        assert_eq!(refused.ok(), Some(true));
    }
}
