//! Flash messages at the HTTP level: every lifetime rule as a request
//! sequence, and a property test against a small model of the rules.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use session_actix::{Level, ReadonlySession, Session, SessionMiddleware};
use session_test_support::driver::Forward;

type Res = actix_web::Result<HttpResponse>;
type Response = ServiceResponse<actix_web::body::EitherBody<actix_web::body::BoxBody>>;

fn seen(s: &ReadonlySession) -> Res {
    Ok(HttpResponse::Ok().json(s.flash_messages().all()))
}
async fn flash(s: Session, p: web::Path<(String, i64)>) -> Res {
    let (k, v) = p.into_inner();
    s.flash(k, v)?;
    seen(&s)
}
async fn now(s: Session, p: web::Path<(String, i64)>) -> Res {
    let (k, v) = p.into_inner();
    s.flash_now(k, v)?;
    seen(&s)
}
async fn plain(s: Session) -> Res {
    seen(&s)
}
async fn reflash(s: Session) -> Res {
    s.reflash()?;
    seen(&s)
}
async fn keep(s: Session, k: web::Path<String>) -> Res {
    s.keep(&k)?;
    seen(&s)
}
async fn reflash_except(s: Session, k: web::Path<String>) -> Res {
    s.reflash_except(&[k.as_str()])?;
    seen(&s)
}
async fn clear_flash(s: Session) -> Res {
    s.clear_flash()?;
    seen(&s)
}
async fn fail(s: Session, p: web::Path<(String, i64)>) -> Res {
    let (k, v) = p.into_inner();
    s.flash(k, v)?;
    Ok(HttpResponse::InternalServerError().json(s.flash_messages().all()))
}
async fn readonly(s: ReadonlySession) -> Res {
    seen(&s)
}
async fn login(s: Session) -> Res {
    s.put("user", 1)?;
    s.flash("welcome", "back")?;
    s.regenerate()?;
    seen(&s)
}
async fn logout(s: Session) -> Res {
    s.flash("lost", 1)?;
    s.destroy()?;
    seen(&s)
}
async fn levels(s: Session) -> Res {
    s.flash_success("saved")?;
    s.flash_warning("but check")?;
    s.flash_info("fyi")?;
    s.flash_error("oops")?;
    seen(&s)
}
async fn form(s: Session, body: web::Json<Value>) -> Res {
    s.flash_except(&*body, &["password"])?;
    s.flash("errors", json!({"title": "Title is required"}))?;
    seen(&s)
}
/// The whole snapshot, as a template engine would get it.
async fn snapshot(s: ReadonlySession) -> Res {
    Ok(HttpResponse::Ok().json(s.flash_messages()))
}
async fn data(s: Session) -> Res {
    s.put("data", 1)?;
    s.clear_flash()?;
    seen(&s)
}
async fn untouched() -> &'static str {
    "ok"
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/flash/{k}/{v}", web::post().to(flash))
        .route("/now/{k}/{v}", web::post().to(now))
        .route("/plain", web::get().to(plain))
        .route("/reflash", web::post().to(reflash))
        .route("/keep/{k}", web::post().to(keep))
        .route("/reflash_except/{k}", web::post().to(reflash_except))
        .route("/clear_flash", web::post().to(clear_flash))
        .route("/fail/{k}/{v}", web::post().to(fail))
        .route("/readonly", web::get().to(readonly))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/levels", web::post().to(levels))
        .route("/form", web::post().to(form))
        .route("/data", web::post().to(data))
        .route("/snapshot", web::get().to(snapshot))
        .route("/untouched", web::get().to(untouched));
}

/// Sends requests like a browser: keeps the session cookie.
struct Client<S> {
    app: S,
    cookie: Option<String>,
}

impl<S> Client<S>
where
    S: Service<actix_http::Request, Response = Response, Error = actix_web::Error>,
{
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Map<String, Value>) {
        let mut r = match method {
            "POST" => test::TestRequest::post(),
            _ => test::TestRequest::get(),
        }
        .uri(path);
        if let Some(c) = &self.cookie {
            r = r.insert_header((COOKIE, format!("session={c}")));
        }
        if let Some(b) = body {
            r = r.set_json(b);
        }
        let res = self.app.call(r.to_request()).await.unwrap();
        for h in res.headers().get_all(SET_COOKIE) {
            let pair = h.to_str().unwrap().split(';').next().unwrap().to_owned();
            if let Some(v) = pair.strip_prefix("session=") {
                self.cookie = (!v.is_empty()).then(|| v.to_owned());
            }
        }
        let status = res.status();
        let bytes = test::read_body(res).await;
        let map = serde_json::from_slice(&bytes).unwrap_or_default();
        (status, map)
    }

    async fn seen(&mut self, method: &str, path: &str) -> Value {
        Value::Object(self.send(method, path, None).await.1)
    }
}

async fn client(
    driver: Forward,
) -> Client<impl Service<actix_http::Request, Response = Response, Error = actix_web::Error>> {
    let mw = SessionMiddleware::builder(driver).build().unwrap();
    let app = test::init_service(App::new().wrap(mw).configure(routes)).await;
    Client { app, cookie: None }
}

#[actix_web::test]
async fn flash_is_visible_in_the_next_request_only() {
    let mut c = client(Forward::memory()).await;
    assert_eq!(
        c.seen("POST", "/flash/notice/1").await,
        json!({}),
        "not visible in its own request"
    );
    assert_eq!(c.seen("GET", "/plain").await, json!({"notice": 1}));
    assert_eq!(c.seen("GET", "/plain").await, json!({}));
}

#[actix_web::test]
async fn untouched_failed_and_readonly_requests_do_not_consume() {
    let mut c = client(Forward::memory()).await;
    c.send("POST", "/flash/notice/1", None).await;
    c.send("GET", "/untouched", None).await;
    let (status, seen) = c.send("POST", "/fail/extra/2", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(Value::Object(seen), json!({"notice": 1}));
    assert_eq!(c.seen("GET", "/readonly").await, json!({"notice": 1}));
    assert_eq!(
        c.seen("GET", "/plain").await,
        json!({"notice": 1}),
        "the 5xx flash was not emitted"
    );
    assert_eq!(c.seen("GET", "/plain").await, json!({}));
}

#[actix_web::test]
async fn now_keep_reflash_and_clear() {
    let mut c = client(Forward::memory()).await;
    assert_eq!(c.seen("POST", "/now/tip/5").await, json!({"tip": 5}));
    assert_eq!(
        c.seen("GET", "/plain").await,
        json!({}),
        "flash_now is never stored"
    );

    c.send("POST", "/flash/a/1", None).await;
    c.send("POST", "/flash/b/2", None).await; // consumes a, flashes b
    assert_eq!(c.seen("POST", "/reflash").await, json!({"b": 2}));
    assert_eq!(c.seen("POST", "/keep/b").await, json!({"b": 2}));
    assert_eq!(c.seen("GET", "/plain").await, json!({"b": 2}));
    assert_eq!(c.seen("GET", "/plain").await, json!({}));

    c.send("POST", "/flash/a/1", None).await;
    c.send("POST", "/now/x/0", None).await; // consumes a
    c.send("POST", "/flash/a/1", None).await;
    c.send("POST", "/flash/b/2", None).await; // consumes a, flashes b
    c.send("POST", "/flash/a/3", None).await; // consumes b, flashes a
    assert_eq!(c.seen("POST", "/reflash_except/a").await, json!({"a": 3}));
    assert_eq!(c.seen("GET", "/plain").await, json!({}));

    c.send("POST", "/flash/a/1", None).await;
    assert_eq!(
        c.seen("POST", "/data").await,
        json!({}),
        "clear_flash hides incoming"
    );
    assert_eq!(c.seen("GET", "/plain").await, json!({}));
}

#[actix_web::test]
async fn flash_survives_regenerate_and_destroy_drops_it() {
    let mut c = client(Forward::memory()).await;
    c.send("POST", "/flash/old/1", None).await;
    let before = c.cookie.clone();
    c.send("POST", "/login", None).await;
    assert_ne!(c.cookie, before, "login regenerated the id");
    assert_eq!(c.seen("GET", "/plain").await, json!({"welcome": "back"}));

    c.send("POST", "/flash/gone/1", None).await;
    c.send("POST", "/logout", None).await;
    assert!(c.cookie.is_none(), "destroy removed the cookie");
    assert_eq!(c.seen("GET", "/plain").await, json!({}));
}

#[actix_web::test]
async fn levels_and_old_input_round_trip() {
    let mut c = client(Forward::memory()).await;
    c.send("POST", "/levels", None).await;
    let seen = c.seen("GET", "/snapshot").await;
    let messages: Vec<session_actix::FlashMessage> =
        serde_json::from_value(seen["messages"].clone()).unwrap();
    let levels: Vec<Level> = messages.iter().map(|m| m.level).collect();
    assert_eq!(
        levels,
        [Level::Success, Level::Warning, Level::Info, Level::Error]
    );
    assert_eq!(
        seen["values"],
        json!({}),
        "levelled messages stay out of the values"
    );

    // A form field may be called `errors`: the old input is kept apart.
    let input = json!({"title": "", "body": "draft", "password": "hunter2", "errors": "mine"});
    c.send("POST", "/form", Some(input)).await;
    let seen = c.seen("GET", "/snapshot").await;
    assert_eq!(
        seen["old"],
        json!({"title": "", "body": "draft", "errors": "mine"})
    );
    assert_eq!(
        seen["values"],
        json!({"errors": {"title": "Title is required"}})
    );
    assert_eq!(seen["messages"], json!([]));
    // A read-only look consumes nothing; a request that takes the session does.
    assert_eq!(c.seen("GET", "/snapshot").await["old"]["body"], "draft");
    c.send("GET", "/plain", None).await;
    let seen = c.seen("GET", "/snapshot").await;
    assert_eq!(seen, json!({"values": {}, "messages": [], "old": {}}));
}

// ---- property test -------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Flash(&'static str, i64),
    Now(&'static str, i64),
    Reflash,
    Keep(&'static str),
    ReflashExcept(&'static str),
    ClearFlash,
    Untouched,
    Failed(&'static str, i64),
    Readonly,
    Plain,
}

fn op() -> impl Strategy<Value = Op> {
    let key = prop::sample::select(vec!["a", "b", "c"]);
    prop_oneof![
        3 => (key.clone(), 0..5i64).prop_map(|(k, v)| Op::Flash(k, v)),
        1 => (key.clone(), 0..5i64).prop_map(|(k, v)| Op::Now(k, v)),
        1 => Just(Op::Reflash),
        1 => key.clone().prop_map(Op::Keep),
        1 => key.clone().prop_map(Op::ReflashExcept),
        1 => Just(Op::ClearFlash),
        1 => Just(Op::Untouched),
        1 => (key, 0..5i64).prop_map(|(k, v)| Op::Failed(k, v)),
        1 => Just(Op::Readonly),
        2 => Just(Op::Plain),
    ]
}

/// The rules, as plainly as they can be written: `stored` is what the next
/// request will see. Returns what this request sees (None: not checked).
fn model(stored: &mut Map<String, Value>, op: &Op) -> Option<Map<String, Value>> {
    let incoming = stored.clone();
    let (seen, next) = match op {
        Op::Flash(k, v) => (
            incoming.clone(),
            Map::from_iter([(k.to_string(), json!(v))]),
        ),
        Op::Now(k, v) => {
            let mut seen = incoming.clone();
            seen.insert(k.to_string(), json!(v));
            (seen, Map::new())
        }
        Op::Reflash | Op::Readonly => (incoming.clone(), incoming.clone()),
        Op::Keep(k) => {
            let kept = incoming
                .iter()
                .filter(|(key, _)| key == k)
                .map(|(a, b)| (a.clone(), b.clone()));
            (incoming.clone(), kept.collect())
        }
        Op::ReflashExcept(k) => {
            let kept = incoming
                .iter()
                .filter(|(key, _)| key != k)
                .map(|(a, b)| (a.clone(), b.clone()));
            (incoming.clone(), kept.collect())
        }
        Op::ClearFlash => (Map::new(), Map::new()),
        Op::Untouched => return None,
        Op::Failed(..) => (incoming.clone(), incoming.clone()),
        Op::Plain => (incoming.clone(), Map::new()),
    };
    *stored = next;
    Some(seen)
}

fn path(op: &Op) -> (&'static str, String) {
    match op {
        Op::Flash(k, v) => ("POST", format!("/flash/{k}/{v}")),
        Op::Now(k, v) => ("POST", format!("/now/{k}/{v}")),
        Op::Reflash => ("POST", "/reflash".into()),
        Op::Keep(k) => ("POST", format!("/keep/{k}")),
        Op::ReflashExcept(k) => ("POST", format!("/reflash_except/{k}")),
        Op::ClearFlash => ("POST", "/clear_flash".into()),
        Op::Untouched => ("GET", "/untouched".into()),
        Op::Failed(k, v) => ("POST", format!("/fail/{k}/{v}")),
        Op::Readonly => ("GET", "/readonly".into()),
        Op::Plain => ("GET", "/plain".into()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    // `test` alone would name actix_web::test, imported above.
    #[::core::prelude::v1::test]
    fn flash_follows_the_reference_model(ops in prop::collection::vec(op(), 1..25)) {
        actix_rt::System::new().block_on(async {
            let mut c = client(Forward::memory()).await;
            let mut stored = Map::new();
            for (i, op) in ops.iter().enumerate() {
                let expected = model(&mut stored, op);
                let (method, p) = path(op);
                let (status, seen) = c.send(method, &p, None).await;
                if let Some(expected) = expected {
                    assert_eq!(seen, expected, "request {i} ({op:?}) in {ops:?}");
                }
                let want = if matches!(op, Op::Failed(..)) { 500 } else { 200 };
                assert_eq!(status.as_u16(), want);
            }
        });
    }
}
