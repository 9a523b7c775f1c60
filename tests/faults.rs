//! The store breaks in the middle of a request: the fault matrix of
//! `docs/faults.md`, checked over HTTP.
//!
//! Each server store (Redis, Redis Cluster, PostgreSQL, MariaDB) is reached
//! through a [`FaultProxy`] that drops, resets, stalls, delays or cuts the
//! connection. A forwarding driver switches the fault on right before the
//! store call under test (load, save, touch, destroy, regenerate), so it
//! lands in the middle of the request. For each cell the client must get an
//! opaque 500 within a few store timeouts and keep its cookie; once the
//! fault ends, the app must answer again by itself, and the session must
//! read as it was before the request or as the request left it, never as a
//! mix, and never come back after it was gone.
//!
//! The file driver's faults (a full disk, a read-only directory) and a
//! killed app process are in `mod file` below.
#![cfg(all(
    feature = "redis",
    feature = "redis-cluster",
    feature = "postgres",
    feature = "mysql",
    feature = "file"
))]

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use serde_json::{json, Value};
use session_actix::driver::{SessionDriver, SessionId};
use session_actix::{RedisDriver, SessionMiddleware, SqlDriver};
use session_examples::testbed;
use session_test_support::driver::{Forward, Op};
use session_test_support::http::{Browser, Server};
use session_test_support::proxy::{Fault, FaultProxy};
use session_test_support::redis::RedisCluster;

#[path = "support/sql_query.rs"]
mod sql_query;

/// Every store call's limit in these tests.
const TIMEOUT: Duration = Duration::from_millis(500);

/// What a request may take when its store call hangs: a few store calls at
/// [`TIMEOUT`] each, plus scheduling on a busy machine.
const BOUND: Duration = Duration::from_secs(4);

/// The delay of [`Fault::Delay`]: longer than the timeout, so the call
/// fails, and the delayed bytes still land afterwards.
const DELAY: Duration = Duration::from_millis(1000);

/// The request under a fault, and the store call the fault is switched on
/// in front of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// `GET /read` on a stored session: its load fails.
    Load,
    /// `POST /write`: the load works, the update fails.
    Save,
    /// `GET /read` once the expiry is due for a refresh: the touch fails.
    Touch,
    /// `POST /logout`: the destroy fails.
    Destroy,
    /// `POST /regenerate`: the copy under the new id fails.
    Regenerate,
}

impl Step {
    const ALL: [Step; 5] = [
        Step::Load,
        Step::Save,
        Step::Touch,
        Step::Destroy,
        Step::Regenerate,
    ];

    fn request(self) -> (&'static str, &'static str) {
        match self {
            Step::Load | Step::Touch => ("GET", "/read"),
            Step::Save => ("POST", "/write"),
            Step::Destroy => ("POST", "/logout"),
            Step::Regenerate => ("POST", "/regenerate"),
        }
    }

    fn op(self) -> Op {
        match self {
            Step::Load => Op::Load,
            Step::Save => Op::Update,
            Step::Touch => Op::Touch,
            Step::Destroy => Op::Destroy,
            Step::Regenerate => Op::Create,
        }
    }
}

/// The testbed on `driver`: ten-minute sessions whose expiry a read
/// refreshes once it is a second old, so a touch is one sleep away.
fn serve(driver: Arc<dyn SessionDriver>) -> Server {
    let mw = SessionMiddleware::builder_dyn(driver)
        .cookie_name(testbed::COOKIE_NAME)
        .secure(false)
        .idle_timeout(Duration::from_secs(600))
        .refresh_after(Duration::from_secs(1))
        .build()
        .unwrap();
    Server::start(move |listener| testbed::serve(Some(mw), listener))
}

/// One store behind a proxy, and an app server on it.
struct Rig {
    proxy: Arc<FaultProxy>,
    forward: Forward<dyn SessionDriver>,
    server: Server,
    /// A SQL store's table, dropped at the end.
    sql: Option<(&'static str, String, String)>,
    _cluster: Option<RedisCluster>,
}

/// `host:port` of a database URL such as `postgres://user@host:port/db`.
fn url_addr(url: &str) -> (SocketAddr, String, String) {
    let (scheme_user, rest) = url.split_once('@').expect("a URL with a user");
    let (host_port, path) = rest.split_once('/').expect("a URL with a database");
    let addr = host_port.to_socket_addrs().unwrap().next().unwrap();
    (addr, scheme_user.to_owned(), path.to_owned())
}

/// A prefix of its own, so parallel tests never meet on one Redis.
fn prefix() -> String {
    format!("test-faults:{}:", &SessionId::generate().as_str()[..12])
}

impl Rig {
    async fn new(store: &'static str) -> Self {
        let mut sql = None;
        let mut cluster = None;
        let (proxy, driver): (FaultProxy, Arc<dyn SessionDriver>) = match store {
            "redis" => {
                let upstream = "127.0.0.1:6379".parse().unwrap();
                let proxy = FaultProxy::start(upstream);
                let driver = RedisDriver::builder()
                    .prefix(prefix())
                    .timeout(TIMEOUT)
                    .connect_timeout(TIMEOUT)
                    .connect(&format!("redis://{}", proxy.addr()))
                    .await
                    .expect("Redis on 127.0.0.1:6379 (scripts/test.sh starts it)");
                (proxy, Arc::new(driver))
            }
            "redis-cluster" => {
                let nodes = RedisCluster::start();
                let upstreams: Vec<SocketAddr> = nodes
                    .nodes()
                    .iter()
                    .map(|n| SocketAddr::from(([127, 0, 0, 1], n.port())))
                    .collect();
                let proxy = FaultProxy::start_many(&upstreams);
                announce_through(&nodes, &proxy);
                let urls: Vec<String> = proxy
                    .addrs()
                    .iter()
                    .map(|a| format!("redis://{a}"))
                    .collect();
                let driver = RedisDriver::builder()
                    .prefix(prefix())
                    .timeout(TIMEOUT)
                    .connect_timeout(TIMEOUT)
                    .connect_cluster(urls)
                    .await
                    .expect("the test cluster answers through the proxy");
                cluster = Some(nodes);
                (proxy, Arc::new(driver))
            }
            backend => {
                let url = session_test_support::sql::url(backend, std::path::Path::new("."));
                let (upstream, user, db) = url_addr(&url);
                let proxy = FaultProxy::start(upstream);
                let table = session_test_support::sql::unique_table("faults");
                let driver = SqlDriver::connect(&format!("{user}@{}/{db}", proxy.addr()))
                    .await
                    .expect("the test database (scripts/test.sh starts it)")
                    .with_table(&table)
                    .unwrap()
                    .with_timeout(TIMEOUT);
                driver.migrate().await.unwrap();
                sql = Some((backend, url, table));
                (proxy, Arc::new(driver))
            }
        };
        let forward = Forward::<dyn SessionDriver>::shared(driver);
        let server = serve(Arc::new(forward.clone()));
        Self {
            proxy: Arc::new(proxy),
            forward,
            server,
            sql,
            _cluster: cluster,
        }
    }

    async fn finish(self) {
        if let Some((backend, url, table)) = &self.sql {
            let drop = format!("DROP TABLE IF EXISTS {}", sql_query::quoted(backend, table));
            sql_query::column(backend, url, &drop).await;
        }
    }

    /// The session's data, once the app answers `/session` again; panics if
    /// it does not within ten seconds of the fault ending.
    async fn recovered(&self, b: &mut Browser) -> Value {
        let started = Instant::now();
        loop {
            let r = b.send(&self.server, "GET", "/session", None).await;
            if r.status == StatusCode::OK {
                let body: Value = serde_json::from_str(&r.body).unwrap();
                return body["data"].clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the app did not recover by itself: {}",
                r.status
            );
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `step` under `fault`, and what the session reads afterwards.
    async fn cell(&self, fault: Fault, step: Step) {
        let cell = format!("{fault:?} × {step:?}");
        let mut b = Browser::new();
        b.send(&self.server, "POST", "/write", None).await;
        assert_eq!(b.send(&self.server, "POST", "/write", None).await.body, "2");
        let r = b
            .send(&self.server, "PUT", "/kv/note", Some("\"kept\""))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{cell}");
        let before = json!({"counter": 2, "note": "kept"});
        let written = json!({"counter": 3, "note": "kept"});
        let cookie = b.cookie().unwrap().to_owned();
        if step == Step::Touch {
            // Past `refresh_after`, so the next read refreshes the expiry.
            actix_rt::time::sleep(Duration::from_millis(1100)).await;
        }

        if step == Step::Load {
            self.proxy.set(fault);
        } else {
            let proxy = Arc::clone(&self.proxy);
            self.forward
                .before_next(step.op(), async move { proxy.set(fault) });
        }
        let (method, path) = step.request();
        let started = Instant::now();
        let r = b.send(&self.server, method, path, None).await;
        let took = started.elapsed();
        assert!(
            !self.forward.hook_pending(),
            "{cell}: the request did not reach the faulted call"
        );
        self.proxy.set(Fault::Pass);
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{cell}");
        assert!(
            r.body.is_empty(),
            "{cell}: the cause is not shown: {:?}",
            r.body
        );
        assert!(
            !r.set_cookie,
            "{cell}: the cookie is neither replaced nor removed"
        );
        assert_eq!(b.cookie(), Some(cookie.as_str()), "{cell}");
        assert!(took < BOUND, "{cell}: the 500 took {took:?}");

        // The app answers again by itself; then bytes a stall or a delay
        // held land, and the session is read once more.
        let first = self.recovered(&mut b).await;
        if matches!(fault, Fault::Stall | Fault::Delay(_)) {
            actix_rt::time::sleep(DELAY * 2).await;
        }
        let last = self.recovered(&mut b).await;
        let fresh = json!({});
        let seen = |v: &Value| match v {
            v if *v == before => "old",
            v if *v == written => "new",
            v if *v == fresh => "gone",
            _ => "other",
        };
        eprintln!(
            "{} {cell}: {:?} in {took:?}, then {} → {}",
            self.forward.name(),
            r.status,
            seen(&first),
            seen(&last)
        );
        let may_be: &[&Value] = match step {
            Step::Load | Step::Touch | Step::Regenerate => &[&before],
            Step::Save => &[&before, &written],
            Step::Destroy => &[&before, &fresh],
        };
        assert!(
            may_be.contains(&&first) && may_be.contains(&&last),
            "{cell}: the session read {first} and then {last}"
        );
        assert!(
            first == last || first == before,
            "{cell}: the session went back from {first} to {last}"
        );
        // And it works again: one more write lands on what was read.
        let next = last["counter"].as_i64().unwrap_or(0) + 1;
        let r = b.send(&self.server, "POST", "/write", None).await;
        assert_eq!(r.status, StatusCode::OK, "{cell}: after the fault");
        assert_eq!(r.body, next.to_string(), "{cell}");
    }
}

/// Makes each cluster node announce its proxy's port, so clients that
/// learn the cluster's layout connect through the proxy too, and waits
/// until every node says so.
fn announce_through(cluster: &RedisCluster, proxy: &FaultProxy) {
    for (node, addr) in cluster.nodes().iter().zip(proxy.addrs()) {
        let port = addr.port().to_string();
        let bus = (node.port() + 10000).to_string();
        for (key, value) in [
            ("cluster-announce-bus-port", &bus),
            ("cluster-announce-port", &port),
        ] {
            assert_eq!(
                node.cli(&["CONFIG", "SET", key, value]).as_deref(),
                Some("OK"),
                "CONFIG SET {key}"
            );
        }
    }
    let wanted: Vec<String> = proxy.addrs().iter().map(|a| a.port().to_string()).collect();
    let started = Instant::now();
    loop {
        let announced = cluster.nodes().iter().all(|node| {
            let slots = node.cli(&["CLUSTER", "SHARDS"]).unwrap_or_default();
            let nodes = node.cli(&["CLUSTER", "NODES"]).unwrap_or_default();
            !slots.is_empty()
                && wanted
                    .iter()
                    .all(|p| nodes.contains(&format!("127.0.0.1:{p}@")))
        });
        if announced {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the cluster nodes did not learn each other's proxy ports"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every step of the matrix under `fault` on `store`.
async fn column(store: &'static str, fault: Fault) {
    let rig = Rig::new(store).await;
    for step in Step::ALL {
        rig.cell(fault, step).await;
    }
    rig.finish().await;
}

macro_rules! matrix {
    ($($store:ident = $name:literal),* $(,)?) => {
        $(
            mod $store {
                use super::*;

                #[actix_rt::test]
                async fn drop() {
                    column($name, Fault::Drop).await;
                }
                #[actix_rt::test]
                async fn reset() {
                    column($name, Fault::Reset).await;
                }
                #[actix_rt::test]
                async fn stall() {
                    column($name, Fault::Stall).await;
                }
                #[actix_rt::test]
                async fn delay() {
                    column($name, Fault::Delay(DELAY)).await;
                }
                #[actix_rt::test]
                async fn close_mid_reply() {
                    column($name, Fault::CloseMidReply).await;
                }
            }
        )*
    };
}

matrix! {
    redis = "redis",
    redis_cluster = "redis-cluster",
    postgres = "postgres",
    mysql = "mysql",
}

/// The file driver on a small tmpfs that the tests fill up or remount
/// read-only, and an app process killed in the middle of its writes.
/// Mounting needs root (or `CAP_SYS_ADMIN`); `SESSION_TEST_NO_MOUNT=1`
/// skips the mounted cells, saying so, on a machine that cannot.
mod file {
    use super::*;
    use session_actix::FileDriver;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// A tmpfs of `size` mounted on a new directory, unmounted when dropped.
    struct Tmpfs {
        dir: tempfile::TempDir,
    }

    impl Tmpfs {
        /// `None` when mounting is not possible here and the skip was asked
        /// for.
        fn mount(size: &str) -> Option<Self> {
            let dir = tempfile::tempdir().unwrap();
            let ok = Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={size},mode=0700"),
                    "tmpfs",
                ])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                if std::env::var_os("SESSION_TEST_NO_MOUNT").is_some() {
                    eprintln!("skipped: no tmpfs could be mounted (SESSION_TEST_NO_MOUNT is set)");
                    return None;
                }
                panic!(
                    "mounting a tmpfs failed: the file driver's disk faults need root \
                     (or CAP_SYS_ADMIN); set SESSION_TEST_NO_MOUNT=1 to skip them"
                );
            }
            Some(Self { dir })
        }

        fn path(&self) -> &Path {
            self.dir.path()
        }

        fn remount(&self, mode: &str) {
            let ok = Command::new("mount")
                .args(["-o", &format!("remount,{mode}")])
                .arg(self.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "remount,{mode}");
        }

        /// Writes a file until the volume is full; removing it frees the
        /// space again.
        fn fill(&self) -> PathBuf {
            use std::io::Write;
            let path = self.path().join("filler");
            let mut f = std::fs::File::create(&path).unwrap();
            let chunk = [0u8; 4096];
            while f.write_all(&chunk).and_then(|()| f.sync_all()).is_ok() {}
            // Even a byte more does not fit.
            assert!(f.write_all(&[0]).and_then(|()| f.sync_all()).is_err());
            path
        }

        /// Files the driver left in its directory that are not sessions.
        fn leftovers(&self) -> Vec<String> {
            std::fs::read_dir(self.path().join("sessions"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect()
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Disk {
        Full,
        ReadOnly,
    }

    /// `step` on a disk that is `disk`: what the client sees, and that the
    /// session is whole once the disk is writable again.
    async fn disk_cell(disk: Disk, step: Step) {
        let cell = format!("{disk:?} × {step:?}");
        let Some(fs) = Tmpfs::mount("256k") else {
            return;
        };
        let driver = FileDriver::new(fs.path().join("sessions")).unwrap();
        let server = serve(Arc::new(driver));
        let mut b = Browser::new();
        b.send(&server, "POST", "/write", None).await;
        assert_eq!(b.send(&server, "POST", "/write", None).await.body, "2");
        let cookie = b.cookie().unwrap().to_owned();
        if step == Step::Touch {
            actix_rt::time::sleep(Duration::from_millis(1100)).await;
        }

        let filler = match disk {
            Disk::Full => Some(fs.fill()),
            Disk::ReadOnly => {
                fs.remount("ro");
                None
            }
        };
        let (method, path) = step.request();
        let r = b.send(&server, method, path, None).await;
        // What works on a full disk: reading, and removing a file.
        let works = match disk {
            Disk::Full => matches!(step, Step::Load | Step::Destroy),
            Disk::ReadOnly => step == Step::Load,
        };
        eprintln!("file {cell}: {}", r.status);
        if works {
            assert!(r.status.is_success(), "{cell}: {}", r.status);
        } else {
            assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{cell}");
            assert!(r.body.is_empty(), "{cell}: {:?}", r.body);
            assert!(!r.set_cookie, "{cell}: the cookie is kept");
            assert_eq!(b.cookie(), Some(cookie.as_str()), "{cell}");
        }
        match filler {
            Some(filler) => std::fs::remove_file(filler).unwrap(),
            None => fs.remount("rw"),
        }
        assert_eq!(
            fs.leftovers(),
            Vec::<String>::new(),
            "{cell}: temporary files"
        );

        let r = b.send(&server, "GET", "/read", None).await;
        assert_eq!(r.status, StatusCode::OK, "{cell}: the disk is back");
        let expected = if step == Step::Destroy && works {
            "0"
        } else {
            "2"
        };
        assert_eq!(r.body, expected, "{cell}: the session reads whole");
        let r = b.send(&server, "POST", "/write", None).await;
        assert_eq!(r.status, StatusCode::OK, "{cell}");
    }

    macro_rules! disk_matrix {
        ($($name:ident = $disk:ident on $step:ident),* $(,)?) => {
            $(
                #[actix_rt::test]
                async fn $name() {
                    disk_cell(Disk::$disk, Step::$step).await;
                }
            )*
        };
    }

    disk_matrix! {
        full_disk_load = Full on Load,
        full_disk_save = Full on Save,
        full_disk_touch = Full on Touch,
        full_disk_destroy = Full on Destroy,
        full_disk_regenerate = Full on Regenerate,
        read_only_load = ReadOnly on Load,
        read_only_save = ReadOnly on Save,
        read_only_touch = ReadOnly on Touch,
        read_only_destroy = ReadOnly on Destroy,
        read_only_regenerate = ReadOnly on Regenerate,
    }
}

/// An app process killed (`SIGKILL`) in the middle of its commits leaves a
/// store that reads: every session it wrote loads, whole, as one of the
/// versions it wrote. The test runs itself again as the writer: with
/// [`WRITER`] set, the same test function writes until it is killed.
mod killed {
    use super::*;
    use session_actix::driver::{Record, Timestamp, Update};
    use session_actix::FileDriver;

    /// Set in the writer process: `store`, `place` and the id file, a line
    /// each.
    const WRITER: &str = "SESSION_FAULTS_WRITER";
    const SESSIONS: usize = 16;
    /// Large enough that a kill lands in the middle of a write.
    const BLOB: usize = 64 * 1024;

    async fn driver(store: &str, place: &str) -> Arc<dyn SessionDriver> {
        match store {
            "file" => Arc::new(FileDriver::new(place).unwrap()),
            "redis" => Arc::new(
                RedisDriver::builder()
                    .prefix(place)
                    .connect("redis://127.0.0.1:6379")
                    .await
                    .expect("Redis on 127.0.0.1:6379 (scripts/test.sh starts it)"),
            ),
            _ => Arc::new(
                SqlDriver::connect(&session_test_support::sql::postgres_url())
                    .await
                    .expect("PostgreSQL (scripts/test.sh starts it)")
                    .with_table(place)
                    .unwrap(),
            ),
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_secs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
    }

    /// Version `n` of a session: `n`, and a blob of `n`'s last digit.
    fn record(n: u64) -> Record {
        let now = now();
        let mut r = Record::new(now, Timestamp::from_secs(now.as_secs() + 600));
        r.version = n;
        r.data.insert("n".into(), json!(n));
        let digit = char::from(b'0' + (n % 10) as u8);
        r.data.insert(
            "blob".into(),
            json!(std::iter::repeat_n(digit, BLOB).collect::<String>()),
        );
        r
    }

    /// The writer: creates the sessions, lists their ids, then rewrites
    /// them for ever.
    async fn write_until_killed(store: &str, place: &str, ids: &str) {
        let driver = driver(store, place).await;
        let ids_list: Vec<SessionId> = (0..SESSIONS).map(|_| SessionId::generate()).collect();
        for id in &ids_list {
            driver.create(id, &record(1)).await.unwrap();
        }
        let listed: Vec<&str> = ids_list.iter().map(SessionId::as_str).collect();
        std::fs::write(ids, listed.join("\n")).unwrap();
        let mut versions = [1u64; SESSIONS];
        loop {
            for (id, v) in ids_list.iter().zip(versions.iter_mut()) {
                let next = record(*v + 1);
                match driver.update(id, &next, *v).await.unwrap() {
                    Update::Updated => *v += 1,
                    other => panic!("the writer is alone: {other:?}"),
                }
            }
        }
    }

    async fn killed_mid_commit(store: &'static str) {
        if let Ok(spec) = std::env::var(WRITER) {
            let parts: Vec<&str> = spec.lines().collect();
            write_until_killed(parts[0], parts[1], parts[2]).await;
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let place = match store {
            "file" => dir.path().join("sessions").display().to_string(),
            "redis" => prefix(),
            _ => {
                let table = session_test_support::sql::unique_table("killed");
                let sql = SqlDriver::connect(&session_test_support::sql::postgres_url())
                    .await
                    .expect("PostgreSQL (scripts/test.sh starts it)")
                    .with_table(&table)
                    .unwrap();
                sql.migrate().await.unwrap();
                table
            }
        };
        let ids = dir.path().join("ids");
        let mut writer = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                &format!("killed::{}", store.replace('-', "_")),
                "--exact",
                "--nocapture",
            ])
            .env(WRITER, format!("{store}\n{place}\n{}", ids.display()))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !ids.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the writer did not start"
            );
            assert!(writer.try_wait().unwrap().is_none(), "the writer stopped");
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
        // Let it rewrite for a while, then kill it wherever it is.
        actix_rt::time::sleep(Duration::from_millis(700)).await;
        writer.kill().unwrap();
        writer.wait().unwrap();

        let driver = driver(store, &place).await;
        let listed = std::fs::read_to_string(&ids).unwrap();
        let mut newest = 0;
        for line in listed.lines() {
            let id = SessionId::parse(line).unwrap();
            let r = driver
                .load(&id, now())
                .await
                .expect("the store reads after the kill")
                .expect("every session the writer created is there");
            let n = r.data["n"].as_u64().unwrap();
            assert_eq!(r.version, n, "version and data are one write");
            assert_eq!(
                r.data["blob"],
                record(n).data["blob"],
                "not a mix of two writes"
            );
            newest = newest.max(n);
            driver.destroy(&id).await.unwrap();
        }
        assert!(newest > 1, "the writer was killed while rewriting");
        if store == "postgres" {
            let url = session_test_support::sql::postgres_url();
            let drop = format!("DROP TABLE IF EXISTS {}", sql_query::quoted(store, &place));
            sql_query::column(store, &url, &drop).await;
        }
    }

    #[actix_rt::test]
    async fn file() {
        killed_mid_commit("file").await;
    }

    #[actix_rt::test]
    async fn redis() {
        killed_mid_commit("redis").await;
    }

    #[actix_rt::test]
    async fn postgres() {
        killed_mid_commit("postgres").await;
    }
}
