//! A TCP proxy that breaks the connection to a store on command: put a
//! [`FaultProxy`] between a driver and a real Redis, PostgreSQL or MariaDB,
//! connect the driver to [`FaultProxy::addr`], and [`FaultProxy::set`] a
//! [`Fault`] at the moment the test chooses (for example from a
//! [`Forward::before_next`](crate::driver::Forward::before_next) hook, so it
//! lands between a request's load and its commit).
//!
//! The proxy runs on a thread of its own with its own runtime, so it keeps
//! working whatever the test's runtime is doing, and stops when dropped
//! (closing every connection it holds).

use std::net::{SocketAddr, TcpListener as StdListener};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the bytes between the client and the store. A
/// fault applies to the connections already open as well as to new ones,
/// until the next [`FaultProxy::set`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every byte goes through at once.
    Pass,
    /// Packets are lost: nothing goes through either way and nothing is
    /// answered, as when a link or the store's host goes dark. When the fault
    /// ends, the connections it held die without delivering what they held
    /// (as TCP gives up after its retransmissions), and new ones work.
    Drop,
    /// Every connection, open or new, is reset (`RST`), as when the store
    /// restarts or a firewall rejects.
    Reset,
    /// Nothing goes through, but nothing is lost either: when the fault
    /// ends, what was held is delivered, late (a long pause of the store, a
    /// congested link).
    Stall,
    /// Every chunk, either way, arrives this much later.
    Delay(Duration),
    /// Requests reach the store, but each reply is cut in the middle and the
    /// connection closed, so the client never learns what the store did.
    CloseMidReply,
}

/// A proxy on a free loopback port in front of one or more upstream
/// addresses (one listener each), all under the same [`Fault`].
pub struct FaultProxy {
    fault: watch::Sender<Fault>,
    addrs: Vec<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy in front of `upstream`, passing everything.
    pub fn start(upstream: SocketAddr) -> Self {
        Self::start_many(&[upstream])
    }

    /// One listener in front of each of `upstreams` (the nodes of a
    /// cluster), sharing one fault: [`addrs`](Self::addrs)`[i]` forwards
    /// to `upstreams[i]`.
    pub fn start_many(upstreams: &[SocketAddr]) -> Self {
        let listeners: Vec<StdListener> = upstreams
            .iter()
            .map(|_| {
                let l = StdListener::bind("127.0.0.1:0").expect("bind a loopback port");
                l.set_nonblocking(true).expect("a non-blocking listener");
                l
            })
            .collect();
        let addrs = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        let (fault, _) = watch::channel(Fault::Pass);
        let faults = fault.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let upstreams = upstreams.to_vec();
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the proxy's runtime");
                rt.block_on(async move {
                    for (listener, upstream) in listeners.into_iter().zip(upstreams) {
                        let listener = TcpListener::from_std(listener).unwrap();
                        tokio::spawn(accept(listener, upstream, faults.clone()));
                    }
                    let _ = stopped.await;
                });
                // Dropping the runtime drops every task and so closes every
                // connection.
            })
            .expect("start the proxy thread");
        Self {
            fault,
            addrs,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Where the client connects (to the first upstream).
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Where the client connects, one address per upstream.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// From now on, `fault`.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// The fault in force.
    pub fn fault(&self) -> Fault {
        *self.fault.borrow()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, fault: watch::Sender<Fault>) {
    while let Ok((client, _)) = listener.accept().await {
        let _ = client.set_nodelay(true);
        tokio::spawn(relay(client, upstream, fault.subscribe()));
    }
}

/// Closes `stream` with a reset instead of a FIN.
fn reset(stream: TcpStream) {
    // A zero linger makes the close send RST (and never blocks).
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Waits while the fault keeps the connection from opening; `false` when
/// the connection is to be dropped instead.
async fn may_open(client: &mut Option<TcpStream>, fault: &mut watch::Receiver<Fault>) -> bool {
    loop {
        let now = *fault.borrow_and_update();
        match now {
            Fault::Reset => {
                if let Some(c) = client.take() {
                    reset(c);
                }
                return false;
            }
            // A dark link: the client waits for an answer that never comes,
            // and the connection dies when the fault ends.
            Fault::Drop => {
                let _ = fault.changed().await;
                return false;
            }
            Fault::Stall => {
                if fault.changed().await.is_err() {
                    return false;
                }
            }
            Fault::Pass | Fault::Delay(_) | Fault::CloseMidReply => return true,
        }
    }
}

/// One client connection: opened to `upstream` when the fault allows, then
/// relayed chunk by chunk under the fault in force.
async fn relay(client: TcpStream, upstream: SocketAddr, mut fault: watch::Receiver<Fault>) {
    let mut held = Some(client);
    if !may_open(&mut held, &mut fault).await {
        return;
    }
    let Some(mut client) = held else { return };
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        reset(client);
        return;
    };
    let _ = server.set_nodelay(true);
    let mut up = vec![0u8; 64 * 1024];
    let mut down = vec![0u8; 64 * 1024];
    loop {
        let now = *fault.borrow_and_update();
        match now {
            Fault::Reset => {
                reset(client);
                reset(server);
                return;
            }
            Fault::Drop => {
                // Hold both ends, read nothing; when the fault ends the
                // connection is gone and what it held with it.
                let _ = fault.changed().await;
                return;
            }
            Fault::Stall => {
                // Read nothing: the bytes wait in the sockets' buffers and
                // go on when the fault ends.
                if fault.changed().await.is_err() {
                    return;
                }
                continue;
            }
            Fault::Pass | Fault::Delay(_) | Fault::CloseMidReply => {}
        }
        tokio::select! {
            read = client.read(&mut up) => {
                let Ok(n @ 1..) = read else { return };
                let now = *fault.borrow();
                if let Fault::Delay(d) = now {
                    tokio::time::sleep(d).await;
                }
                if server.write_all(&up[..n]).await.is_err() {
                    return;
                }
            }
            read = server.read(&mut down) => {
                let Ok(n @ 1..) = read else { return };
                let now = *fault.borrow();
                match now {
                    Fault::CloseMidReply => {
                        let _ = client.write_all(&down[..n / 2]).await;
                        let _ = client.shutdown().await;
                        return;
                    }
                    Fault::Delay(d) => tokio::time::sleep(d).await,
                    _ => {}
                }
                if client.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
            changed = fault.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that answers each chunk with the same bytes.
    fn echo() -> SocketAddr {
        let l = StdListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { return };
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let mut buf = [0u8; 1024];
                    while let Ok(n @ 1..) = conn.read(&mut buf) {
                        if conn.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Sends `msg` and reads what comes back within `wait`: `Ok(bytes)`
    /// (possibly fewer than sent when the connection closed), or `Err` with
    /// the I/O error kind, or `Err(TimedOut)` when nothing came.
    async fn ask(
        stream: &mut TcpStream,
        msg: &[u8],
        wait: Duration,
    ) -> Result<Vec<u8>, std::io::ErrorKind> {
        stream.write_all(msg).await.map_err(|e| e.kind())?;
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        let deadline = tokio::time::Instant::now() + wait;
        while got.len() < msg.len() {
            match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Err(_) if got.is_empty() => return Err(std::io::ErrorKind::TimedOut),
                Err(_) | Ok(Ok(0)) => break,
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => return Err(e.kind()),
            }
        }
        Ok(got)
    }

    #[test]
    fn each_fault_does_what_it_says_and_passing_again_recovers() {
        let proxy = FaultProxy::start(echo());
        rt().block_on(async {
            let short = Duration::from_millis(200);
            let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
            assert_eq!(ask(&mut c, b"ping", short).await, Ok(b"ping".to_vec()));

            proxy.set(Fault::Delay(Duration::from_millis(300)));
            assert_eq!(
                ask(&mut c, b"late", short).await,
                Err(std::io::ErrorKind::TimedOut)
            );
            let mut rest = [0u8; 4];
            tokio::time::timeout(Duration::from_secs(2), c.read_exact(&mut rest))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&rest, b"late", "a delayed chunk arrives");

            proxy.set(Fault::Stall);
            assert_eq!(
                ask(&mut c, b"held", short).await,
                Err(std::io::ErrorKind::TimedOut)
            );
            proxy.set(Fault::Pass);
            c.read_exact(&mut rest).await.unwrap();
            assert_eq!(
                &rest, b"held",
                "a stalled chunk is delivered when the stall ends"
            );

            proxy.set(Fault::Drop);
            assert_eq!(
                ask(&mut c, b"lost", short).await,
                Err(std::io::ErrorKind::TimedOut)
            );
            proxy.set(Fault::Pass);
            assert_eq!(
                c.read(&mut rest).await.unwrap_or(0),
                0,
                "the dark connection dies"
            );
            let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
            assert_eq!(ask(&mut c, b"back", short).await, Ok(b"back".to_vec()));

            proxy.set(Fault::CloseMidReply);
            assert_eq!(ask(&mut c, b"half", short).await, Ok(b"ha".to_vec()));

            proxy.set(Fault::Reset);
            // The reset can come before the connect returns, as its error.
            let answer = match TcpStream::connect(proxy.addr()).await {
                Ok(mut c) => ask(&mut c, b"gone", short).await,
                Err(e) => Err(e.kind()),
            };
            assert!(
                matches!(
                    answer,
                    Err(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe)
                ),
                "{answer:?}"
            );
            proxy.set(Fault::Pass);
            let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
            assert_eq!(ask(&mut c, b"well", short).await, Ok(b"well".to_vec()));
        });
    }
}
