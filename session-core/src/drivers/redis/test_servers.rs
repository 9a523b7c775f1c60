//! Private Redis servers for the tests: one `redis-server` (for counting
//! commands and for stopping it), and a three-node Redis Cluster. Each runs
//! on free loopback ports in its own temporary directory and is stopped when
//! dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const START_LIMIT: Duration = Duration::from_secs(20);

/// A port on 127.0.0.1 nothing listens on right now (and, for a cluster
/// node, whose cluster bus port, +10000, is free too).
pub(super) fn free_port(with_bus: bool) -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        if !with_bus {
            return port;
        }
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let unique = crate::driver::SessionId::generate().as_str()[..10].replace(['-', '_'], "x");
    let dir = std::env::temp_dir().join(format!("session-redis-{tag}-{unique}"));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// Whether something answers a RESP `PING` on `port` (`+PONG`, or an error
/// such as `-NOAUTH`, both mean the server is up).
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(1) if byte[0] == b'+' || byte[0] == b'-')
}

/// One `redis-server` process owned by a test.
pub(super) struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts a server without persistence on a free port.
    pub(super) fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra command-line arguments (such as
    /// `["--requirepass", "pw"]`).
    pub(super) fn start_with(extra: &[&str]) -> Self {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let cluster = extra.iter().any(|a| a == "--cluster-enabled");
        let mut server = Self {
            child: None,
            port: free_port(cluster),
            dir: temp_dir("node"),
            extra,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("could not run `redis-server` ({e}); install Redis 7 (apt-get install redis-server) to run these tests")
            });
        self.child = Some(child);
        let started = Instant::now();
        while !answers(self.port) {
            assert!(
                started.elapsed() < START_LIMIT,
                "redis-server on port {} did not start within {START_LIMIT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's port.
    pub(super) fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub(super) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would) and waits until the port is closed.
    pub(super) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty: no persistence).
    pub(super) fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A three-node Redis Cluster (three primaries, no replicas).
#[cfg(feature = "redis-cluster")]
pub(super) struct RedisCluster {
    nodes: Vec<RedisServer>,
}

#[cfg(feature = "redis-cluster")]
impl RedisCluster {
    pub(super) fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                ])
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run `redis-cli` ({e}); install Redis 7"));
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = Self { nodes };
        cluster.wait_until_ok();
        cluster
    }

    fn wait_until_ok(&self) {
        let started = Instant::now();
        loop {
            let ready = self.nodes.iter().all(|node| {
                let info = Command::new("redis-cli")
                    .args(["-p", &node.port().to_string(), "cluster", "info"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                info.contains("cluster_state:ok")
                    && info.contains("cluster_slots_ok:16384")
                    && info.contains("cluster_known_nodes:3")
            });
            if ready {
                return;
            }
            assert!(
                started.elapsed() < START_LIMIT,
                "the test cluster did not reach cluster_state:ok within {START_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The nodes' URLs.
    pub(super) fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}
