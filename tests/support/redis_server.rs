//! A private `redis-server` for tests that stop it or count its commands:
//! a free loopback port, its own directory, an append-only file so a restart
//! keeps what was committed, and stopped on drop.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("session-http-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = Self {
            child: None,
            port,
            dir,
        };
        s.spawn();
        s
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is not installed: run scripts/test.sh, which installs it");
        self.child = Some(child);
        let start = Instant::now();
        while self.cli(&["PING"]).as_deref() != Some("PONG") {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "private redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
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

    /// Stops the server (it writes its append-only file first).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = self.cli(&["SHUTDOWN"]);
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none()
                && start.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory.
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
    }
}
