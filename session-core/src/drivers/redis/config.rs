//! Building a [`RedisDriver`]: settings, connecting, and what can go wrong.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Conn, RedisDriver};

/// The key prefix used unless [`RedisDriverBuilder::prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "session:";
/// The per-call time limit used unless [`RedisDriverBuilder::timeout`] says
/// otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// The time limit for establishing a connection used unless
/// [`RedisDriverBuilder::connect_timeout`] says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest accepted key prefix, in bytes.
pub const MAX_PREFIX_LEN: usize = 256;

/// Reconnection attempts the `ConnectionManager` makes per outage before it
/// reports failure (the next call starts a new round).
const RECONNECT_RETRIES: usize = 4;
/// First pause between reconnection attempts; doubles (with jitter) after.
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(50);
/// Longest pause between reconnection attempts, so a server that comes back
/// is found again within about this long.
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

/// Why a [`RedisDriver`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisConnectError {
    /// A setting is unusable; the message says which and what to change.
    #[error("invalid Redis driver setting: {0}")]
    Config(&'static str),
    /// The URL is not a Redis URL this build understands.
    #[error(
        "the Redis URL is not valid ({0}); expected redis://[user:password@]host[:port][/db], \
         or rediss:// with the `redis-tls` feature"
    )]
    Url(#[source] redis::RedisError),
    /// Redis refused or failed the connection (down, wrong password, TLS
    /// failure ...).
    #[error("could not connect to Redis: {0}; check that it is running and that the URL and credentials are right")]
    Connect(#[source] redis::RedisError),
    /// No connection was established within the connect timeout.
    #[error(
        "no connection to Redis within {0:?}; check that it is reachable, or raise connect_timeout"
    )]
    ConnectTimeout(Duration),
}

/// Settings for a [`RedisDriver`], finished by one of the `connect` or
/// `build_with_*` methods.
///
/// ```no_run
/// # async fn f() -> Result<(), session_actix::driver::redis::RedisConnectError> {
/// use std::time::Duration;
/// use session_actix::driver::redis::RedisDriver;
///
/// let driver = RedisDriver::builder()
///     .prefix("myapp:session:")
///     .timeout(Duration::from_millis(500))
///     .connect("redis://127.0.0.1:6379")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `connect` or a `build_with_*` method is called"]
pub struct RedisDriverBuilder {
    prefix: String,
    timeout: Duration,
    connect_timeout: Duration,
}

impl Default for RedisDriverBuilder {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl RedisDriverBuilder {
    /// The defaults: prefix [`DEFAULT_PREFIX`], timeout [`DEFAULT_TIMEOUT`],
    /// connect timeout [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The string put before every session id to make its key (default
    /// `"session:"`). Give each application sharing a Redis its own prefix.
    /// It must be 1 to [`MAX_PREFIX_LEN`] bytes, without whitespace, control
    /// characters, `{` or `}` (a hash tag would put every session in one
    /// cluster slot).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most one store call may take, reconnection included (default
    /// 2 s). Past it the call fails with
    /// [`DriverError::Timeout`](crate::driver::DriverError::Timeout). Also used as
    /// the connection's response timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most establishing a connection may take, at start-up and on each
    /// reconnection attempt (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    fn validate(&self) -> Result<(), RedisConnectError> {
        if self.prefix.is_empty() {
            return Err(RedisConnectError::Config(
                "the key prefix is empty; use one such as \"session:\" so session keys cannot collide with other keys",
            ));
        }
        if self.prefix.len() > MAX_PREFIX_LEN {
            return Err(RedisConnectError::Config(
                "the key prefix is longer than 256 bytes; use a short one such as \"session:\"",
            ));
        }
        if self
            .prefix
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}')
        {
            return Err(RedisConnectError::Config(
                "the key prefix contains whitespace, a control character, '{' or '}'; \
                 braces would make a Redis Cluster hash tag and put every session in one slot",
            ));
        }
        if self.timeout.is_zero() {
            return Err(RedisConnectError::Config(
                "the timeout is zero; every call would fail. Use a value such as 2 s",
            ));
        }
        if self.connect_timeout.is_zero() {
            return Err(RedisConnectError::Config(
                "the connect timeout is zero; no connection could be made. Use a value such as 5 s",
            ));
        }
        Ok(())
    }

    /// The `ConnectionManagerConfig` the driver uses when it opens the
    /// connection itself: bounded connection and response times, and a short
    /// reconnection back-off so a restarted server is found again quickly.
    fn manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(RECONNECT_MAX_DELAY)
    }

    /// `set_ifeq`: whether the server's `SET` takes `IFEQ`.
    fn finish(self, conn: Conn, target: String, set_ifeq: bool) -> RedisDriver {
        RedisDriver {
            conn,
            set_ifeq: Arc::new(AtomicBool::new(set_ifeq)),
            prefix: Arc::from(self.prefix),
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            target: Arc::from(target),
        }
    }

    /// Connects to one Redis server (or a primary behind a proxy) at `url`,
    /// such as `redis://127.0.0.1:6379/0` or
    /// `redis://:password@host:6379`; `rediss://` needs the `redis-tls`
    /// feature.
    ///
    /// The connection is made now, so a wrong URL, password or address fails
    /// at start-up rather than at the first request. Afterwards it reconnects
    /// by itself. The server is also asked whether its `SET` takes `IFEQ`
    /// (`COMMAND DOCS SET`; see [updates without Lua](super#updates-without-lua)).
    pub async fn connect(self, url: &str) -> Result<RedisDriver, RedisConnectError> {
        self.validate()?;
        let client = redis::Client::open(url).map_err(RedisConnectError::Url)?;
        let manager = ConnectionManager::new_with_config(client, self.manager_config());
        // The manager retries inside; bound the whole start-up as well.
        let limit = self.connect_timeout;
        let manager = tokio::time::timeout(limit, manager)
            .await
            .map_err(|_| RedisConnectError::ConnectTimeout(limit))?
            .map_err(RedisConnectError::Connect)?;
        let target = redact_url(url);
        let mut conn = Conn::Single(manager);
        let set_ifeq = super::set_takes_ifeq(&mut conn, self.timeout).await;
        Ok(self.finish(conn, target, set_ifeq))
    }

    /// Uses a `ConnectionManager` the application already has, so sessions
    /// share its connection. Its own reconnection and response-timeout
    /// settings apply; this driver's [`timeout`](Self::timeout) still bounds
    /// every call. Updates use the Lua script ([updates without
    /// Lua](super#updates-without-lua) needs [`connect`](Self::connect)).
    pub fn build_with_connection_manager(
        self,
        manager: ConnectionManager,
    ) -> Result<RedisDriver, RedisConnectError> {
        self.validate()?;
        Ok(self.finish(
            Conn::Single(manager),
            "(connection provided)".to_owned(),
            false,
        ))
    }

    /// Connects to a Redis Cluster through any of its nodes (`redis://` or,
    /// with `redis-tls`, `rediss://` URLs); the rest are discovered. Each
    /// session is one key, so every call goes to one slot's primary, and
    /// MOVED/ASK redirections are followed.
    #[cfg(feature = "redis-cluster")]
    pub async fn connect_cluster<I, S>(self, nodes: I) -> Result<RedisDriver, RedisConnectError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.validate()?;
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().to_owned()).collect();
        if nodes.is_empty() {
            return Err(RedisConnectError::Config(
                "no cluster node given; pass at least one node URL such as redis://10.0.0.1:6379",
            ));
        }
        let client = redis::cluster::ClusterClient::builder(nodes.iter().map(String::as_str))
            .connection_timeout(self.connect_timeout)
            .response_timeout(self.timeout)
            .build()
            .map_err(RedisConnectError::Url)?;
        let limit = self.connect_timeout;
        let conn = tokio::time::timeout(limit, client.get_async_connection())
            .await
            .map_err(|_| RedisConnectError::ConnectTimeout(limit))?
            .map_err(RedisConnectError::Connect)?;
        let target = nodes
            .iter()
            .map(|n| redact_url(n))
            .collect::<Vec<_>>()
            .join(", ");
        // Scripts on a cluster: its nodes may run different versions.
        Ok(self.finish(Conn::Cluster(conn), format!("cluster [{target}]"), false))
    }

    /// Uses a cluster connection the application already has.
    #[cfg(feature = "redis-cluster")]
    pub fn build_with_cluster_connection(
        self,
        conn: redis::cluster_async::ClusterConnection,
    ) -> Result<RedisDriver, RedisConnectError> {
        self.validate()?;
        Ok(self.finish(
            Conn::Cluster(conn),
            "cluster (connection provided)".to_owned(),
            false,
        ))
    }
}

/// `url` with any user name and password replaced and the query string
/// dropped, for `Debug` output.
pub(super) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme, rest),
        None => return "(unparsable URL)".to_owned(),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    // Everything up to the last '@' is user information, even if a password
    // holds an unescaped '/' or '@'.
    match rest.rsplit_once('@') {
        Some((_, host_and_path)) => format!("{scheme}://REDACTED@{host_and_path}"),
        None => format!("{scheme}://{rest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_credentials_and_query() {
        assert_eq!(
            redact_url("redis://user:s3cret@host:6379/2"),
            "redis://REDACTED@host:6379/2"
        );
        assert_eq!(redact_url("rediss://:p%40ss@h"), "rediss://REDACTED@h");
        assert_eq!(redact_url("redis://h:1"), "redis://h:1");
        assert_eq!(
            redact_url("redis+unix:///tmp/r.sock?db=1&pass=s3cret"),
            "redis+unix:///tmp/r.sock"
        );
        assert_eq!(redact_url("s3cret"), "(unparsable URL)");
        assert_eq!(redact_url("redis://u:a/b@c@h/0"), "redis://REDACTED@h/0");
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        let bad = [
            RedisDriverBuilder::new().prefix(""),
            RedisDriverBuilder::new().prefix("a b"),
            RedisDriverBuilder::new().prefix("{tag}"),
            RedisDriverBuilder::new().prefix("x".repeat(MAX_PREFIX_LEN + 1)),
            RedisDriverBuilder::new().timeout(Duration::ZERO),
            RedisDriverBuilder::new().connect_timeout(Duration::ZERO),
        ];
        for b in bad {
            assert!(
                matches!(b.validate(), Err(RedisConnectError::Config(_))),
                "{b:?}"
            );
        }
        assert!(RedisDriverBuilder::new()
            .prefix("app:s:")
            .validate()
            .is_ok());
    }
}
