//! Real app servers on free loopback ports, and a client that keeps cookies
//! the way a browser does.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::http::StatusCode;

/// An app server on its own port (a second one on the same store plays a
/// second machine), stopped when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    handle: actix_web::dev::ServerHandle,
}

impl Server {
    /// Runs the server `serve` makes from a listener on a free port (for
    /// example `HttpServer::new(..).workers(2).listen(listener)?.run()`), on
    /// the current actix runtime.
    pub fn start(
        serve: impl FnOnce(TcpListener) -> std::io::Result<actix_web::dev::Server>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = serve(listener).expect("the test server starts");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { base, handle }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}

/// What a [`Browser`] got back.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The `Location` of a redirect.
    pub location: Option<String>,
    /// Whether the response set (or removed) the session cookie.
    pub set_cookie: bool,
    /// The body, as text.
    pub body: String,
}

/// A client with a cookie jar: it sends back what servers set, and forgets a
/// cookie that a server removes. It can talk to any server.
pub struct Browser {
    client: awc::Client,
    jar: BTreeMap<String, String>,
    session_cookie: String,
}

impl Browser {
    /// A browser whose session cookie is called `session`.
    pub fn new() -> Self {
        Self::with_cookie_name("session")
    }

    /// A browser whose session cookie is called `name`.
    pub fn with_cookie_name(name: &str) -> Self {
        Self {
            // Redirects come back as they are, as a test wants to see them.
            client: awc::Client::builder()
                .disable_redirects()
                .timeout(Duration::from_secs(60))
                .finish(),
            jar: BTreeMap::new(),
            session_cookie: name.to_owned(),
        }
    }

    /// The session cookie's value, if the jar has one.
    pub fn cookie(&self) -> Option<&str> {
        self.jar.get(&self.session_cookie).map(String::as_str)
    }

    /// Sets (or with `None`, drops) the session cookie, as an attacker who
    /// planted or stole one would.
    pub fn set_cookie(&mut self, value: Option<&str>) {
        match value {
            Some(v) => self.jar.insert(self.session_cookie.clone(), v.to_owned()),
            None => self.jar.remove(&self.session_cookie),
        };
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Sends `method path` to `server`, with `json` as the body if given.
    pub async fn send(
        &mut self,
        server: &Server,
        method: &str,
        path: &str,
        json: Option<&str>,
    ) -> Reply {
        let body = json.map(|b| ("application/json", b.to_owned()));
        self.request(server, method, path, body, &[]).await
    }

    /// Sends `method path` with no body and extra request headers (such as
    /// `User-Agent`).
    pub async fn send_with(
        &mut self,
        server: &Server,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.request(server, method, path, None, headers).await
    }

    /// Posts an url-encoded form, as a browser submits one, with extra
    /// request headers (such as `Origin`).
    pub async fn post_form(
        &mut self,
        server: &Server,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = serde_urlencoded::to_string(fields).expect("form fields encode");
        let body = Some(("application/x-www-form-urlencoded", body));
        self.request(server, "POST", path, body, headers).await
    }

    async fn request(
        &mut self,
        server: &Server,
        method: &str,
        path: &str,
        body: Option<(&str, String)>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{}", server.base, path);
        let mut req = self.client.request(method.parse().unwrap(), url);
        if !self.jar.is_empty() {
            req = req.insert_header((COOKIE, self.cookie_header()));
        }
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let mut res = match body {
            Some((content_type, body)) => req
                .insert_header(("content-type", content_type))
                .send_body(body)
                .await
                .unwrap(),
            None => req.send().await.unwrap(),
        };
        let mut set_cookie = false;
        for h in res.headers().get_all(SET_COOKIE) {
            let pair = h.to_str().unwrap().split(';').next().unwrap();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if name == self.session_cookie {
                set_cookie = true;
            }
            if value.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = res.body().limit(1 << 20).await.unwrap();
        Reply {
            status: res.status(),
            location: res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            set_cookie,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    /// `GET path` as JSON, asserting a 200.
    pub async fn json(&mut self, server: &Server, path: &str) -> serde_json::Value {
        let reply = self.send(server, "GET", path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.body);
        serde_json::from_str(&reply.body).unwrap()
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}
