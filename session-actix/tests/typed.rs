//! `#[derive(TypedSession)]`: the typed views and the untyped API see the
//! same data under the same keys, over HTTP with actix-web's test utilities.

use actix_web::dev::ServiceResponse;
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use session_actix::{
    MemoryDriver, Session, SessionError, SessionExt, SessionMiddleware, TypedSession,
};

/// A cart with one field per attribute.
#[derive(TypedSession, Debug, Clone, PartialEq)]
#[session(namespace = "cart")]
struct Cart {
    /// What is in the cart.
    items: Vec<String>,
    #[session(default = 1)]
    qty: u32,
    #[session(rename = "c")]
    coupon: Option<String>,
    #[session(default = Some("WELCOME".to_owned()))]
    promo: Option<String>,
    #[session(default)]
    note: String,
    #[session(skip)]
    cache: Vec<u8>,
}

/// No namespace: the keys are the field names (or renames).
#[derive(TypedSession)]
struct Prefs {
    theme: String,
    #[session(rename = "lang")]
    language: Option<String>,
    /// A raw identifier: the key and the accessor names drop the `r#`.
    r#type: u8,
}

fn full_cart() -> Cart {
    Cart {
        items: vec!["apple".into(), "pear".into()],
        qty: 3,
        coupon: Some("TEN".into()),
        promo: None,
        note: "ring twice".into(),
        cache: vec![1, 2, 3],
    }
}

async fn typed_save(cart: CartSession) -> actix_web::Result<HttpResponse> {
    cart.save(&full_cart())?;
    Ok(HttpResponse::NoContent().finish())
}

async fn typed_set(cart: CartSession) -> actix_web::Result<HttpResponse> {
    let mut items = cart.items()?;
    items.push("plum".into());
    cart.set_items(&items)?;
    cart.set_qty(7)?;
    cart.set_coupon(Some("FIVE".to_owned()))?;
    Ok(HttpResponse::NoContent().finish())
}

async fn untyped_put(session: Session) -> actix_web::Result<HttpResponse> {
    session.put("cart.items", ["fig"])?;
    session.put("cart.qty", 9)?;
    session.put("cart.c", "HALF")?;
    session.put("cart.promo", Value::Null)?;
    session.put("cart.note", "hi")?;
    session.put("other", true)?;
    Ok(HttpResponse::NoContent().finish())
}

/// All the session data, as the untyped API sees it.
async fn all(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(session.all())
}

/// What the typed view reads, field by field and as a whole.
async fn typed_read(cart: CartSession) -> actix_web::Result<HttpResponse> {
    let whole = cart.load()?;
    assert_eq!(whole.items, cart.items()?);
    assert_eq!(whole.qty, cart.qty()?);
    assert_eq!(whole.coupon, cart.coupon()?);
    assert_eq!(whole.promo, cart.promo()?);
    assert_eq!(whole.note, cart.note()?);
    assert!(whole.cache.is_empty(), "skipped fields load as Default");
    Ok(HttpResponse::Ok().json(json!({
        "items": whole.items,
        "qty": whole.qty,
        "coupon": whole.coupon,
        "promo": whole.promo,
        "note": whole.note,
    })))
}

async fn forget_cart(cart: CartSession) -> actix_web::Result<HttpResponse> {
    cart.forget()?;
    Ok(HttpResponse::NoContent().finish())
}

async fn forget_promo(cart: CartSession) -> actix_web::Result<HttpResponse> {
    cart.forget_promo()?;
    Ok(HttpResponse::NoContent().finish())
}

// Its writes (`set_items`, `forget_items`, `save`, `forget`) do not exist:
// tests/ui/fail/readonly_view_writes.rs.
async fn readonly(cart: ReadonlyCartSession) -> String {
    format!("{:?} {}", cart.items().unwrap(), cart.load().unwrap().qty)
}

async fn via_ext(req: HttpRequest) -> actix_web::Result<String> {
    let cart = CartSession::new(req.session().await?);
    cart.set_qty(cart.qty()? + 1)?;
    let ro = ReadonlyCartSession::new(req.readonly_session().await?);
    Ok(ro.qty()?.to_string())
}

async fn qty(cart: CartSession) -> Result<String, SessionError> {
    Ok(cart.qty()?.to_string())
}

async fn bad_qty(session: Session) -> actix_web::Result<HttpResponse> {
    session.put("cart.qty", "lots")?;
    Ok(HttpResponse::NoContent().finish())
}

async fn qty_error(cart: CartSession) -> String {
    match cart.qty() {
        Err(e) => e.to_string(),
        Ok(n) => format!("unexpected {n}"),
    }
}

async fn prefs(prefs: PrefsSession) -> actix_web::Result<HttpResponse> {
    prefs.set_theme("dark".to_owned())?;
    prefs.set_language(Some("nl".to_owned()))?;
    prefs.set_type(2)?;
    assert_eq!(prefs.r#type()?, 2);
    Ok(HttpResponse::Ok().json(prefs.session().all()))
}

fn app() -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let sessions = SessionMiddleware::builder(MemoryDriver::new())
        .build()
        .unwrap();
    App::new().route("/bare", web::get().to(qty)).service(
        web::scope("")
            .wrap(sessions)
            .route("/typed/save", web::post().to(typed_save))
            .route("/typed/set", web::post().to(typed_set))
            .route("/typed", web::get().to(typed_read))
            .route("/typed", web::delete().to(forget_cart))
            .route("/typed/promo", web::delete().to(forget_promo))
            .route("/untyped", web::post().to(untyped_put))
            .route("/untyped", web::get().to(all))
            .route("/readonly", web::get().to(readonly))
            .route("/ext", web::post().to(via_ext))
            .route("/bad", web::post().to(bad_qty))
            .route("/qty-error", web::get().to(qty_error))
            .route("/prefs", web::post().to(prefs)),
    )
}

/// The session cookie, kept like a browser keeps it.
#[derive(Default)]
struct Jar(Option<String>);

impl Jar {
    fn header(&self) -> Option<(actix_web::http::header::HeaderName, String)> {
        self.0.as_ref().map(|c| (COOKIE, format!("session={c}")))
    }

    /// Takes the session cookie from `res`; returns the `Set-Cookie` header.
    fn absorb<B>(&mut self, res: &ServiceResponse<B>) -> Option<String> {
        let set = res.headers().get(SET_COOKIE)?.to_str().unwrap().to_owned();
        let pair = set.split(';').next().unwrap();
        let value = pair.strip_prefix("session=").unwrap();
        self.0 = (!value.is_empty()).then(|| value.to_owned());
        Some(set)
    }
}

/// Sends `method path` with the jar's cookie; `(status, Set-Cookie, body)`.
macro_rules! send {
    ($app:expr, $jar:expr, $method:expr, $path:expr) => {{
        let mut req = test::TestRequest::default()
            .method($method.parse().unwrap())
            .uri($path);
        if let Some(h) = $jar.header() {
            req = req.insert_header(h);
        }
        let res = test::call_service(&$app, req.to_request()).await;
        let set = $jar.absorb(&res);
        let status = res.status();
        let body = test::read_body(res).await;
        (status, set, String::from_utf8(body.to_vec()).unwrap())
    }};
}

/// Sends `method path` and parses the 200 answer as JSON.
macro_rules! send_json {
    ($app:expr, $jar:expr, $method:expr, $path:expr) => {{
        let (status, _, body) = send!($app, $jar, $method, $path);
        assert_eq!(status, StatusCode::OK, "{} {}: {body}", $method, $path);
        serde_json::from_str::<Value>(&body).unwrap()
    }};
}

#[actix_rt::test]
async fn typed_writes_land_under_readable_keys() {
    let app = test::init_service(app()).await;
    let mut b = Jar::default();
    assert_eq!(
        send!(app, b, "POST", "/typed/save").0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send_json!(app, b, "GET", "/untyped"),
        json!({
            "cart.items": ["apple", "pear"],
            "cart.qty": 3,
            "cart.c": "TEN",
            "cart.promo": null,
            "cart.note": "ring twice",
        }),
        "one key per stored field, namespaced, renamed; nothing for the skipped field"
    );
    send!(app, b, "POST", "/typed/set");
    let all = send_json!(app, b, "GET", "/untyped");
    assert_eq!(all["cart.items"], json!(["apple", "pear", "plum"]));
    assert_eq!(all["cart.qty"], 7);
    assert_eq!(all["cart.c"], "FIVE");
}

#[actix_rt::test]
async fn untyped_writes_are_read_by_the_typed_view() {
    let app = test::init_service(app()).await;
    let mut b = Jar::default();
    send!(app, b, "POST", "/untyped");
    assert_eq!(
        send_json!(app, b, "GET", "/typed"),
        json!({"items": ["fig"], "qty": 9, "coupon": "HALF", "promo": null, "note": "hi"}),
        "a stored null is an explicit None, not the default"
    );
}

#[actix_rt::test]
async fn absent_keys_give_defaults_and_none() {
    let app = test::init_service(app()).await;
    let mut b = Jar::default();
    let (_, cookie, _) = send!(app, b, "GET", "/typed");
    assert!(cookie.is_none(), "reading writes nothing");
    assert_eq!(
        send_json!(app, b, "GET", "/typed"),
        json!({"items": [], "qty": 1, "coupon": null, "promo": "WELCOME", "note": ""})
    );
    send!(app, b, "POST", "/typed/save");
    assert_eq!(send_json!(app, b, "GET", "/typed")["promo"], Value::Null);
    send!(app, b, "DELETE", "/typed/promo");
    assert_eq!(
        send_json!(app, b, "GET", "/typed")["promo"],
        "WELCOME",
        "forget_ brings the default back"
    );
}

#[actix_rt::test]
async fn forget_removes_only_the_structs_keys() {
    let app = test::init_service(app()).await;
    let mut b = Jar::default();
    send!(app, b, "POST", "/untyped");
    assert_eq!(send!(app, b, "DELETE", "/typed").0, StatusCode::NO_CONTENT);
    assert_eq!(
        send_json!(app, b, "GET", "/untyped"),
        json!({"other": true})
    );
    assert_eq!(
        CartSession::KEYS,
        [
            "cart.items",
            "cart.qty",
            "cart.c",
            "cart.promo",
            "cart.note"
        ]
    );
}

#[actix_rt::test]
async fn readonly_view_reads_and_never_commits() {
    let app = test::init_service(app()).await;
    let mut b = Jar::default();
    send!(app, b, "POST", "/untyped");
    let (status, set_cookie, body) = send!(app, b, "GET", "/readonly");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"["fig"] 9"#);
    assert!(set_cookie.is_none(), "a read-only request never commits");
    assert_eq!(
        send_json!(app, b, "GET", "/untyped")["cart.items"],
        json!(["fig"])
    );
}

#[actix_rt::test]
async fn views_wrap_sessions_from_session_ext() {
    let app = test::init_service(app()).await;
    let mut b = Jar::default();
    assert_eq!(send!(app, b, "POST", "/ext").2, "2");
    assert_eq!(send!(app, b, "POST", "/ext").2, "3");
}

#[actix_rt::test]
async fn wrong_stored_type_is_an_error_naming_the_key() {
    let app = test::init_service(app()).await;
    let mut b = Jar::default();
    send!(app, b, "POST", "/bad");
    let msg = send!(app, b, "GET", "/qty-error").2;
    assert!(msg.contains("\"cart.qty\""), "{msg}");
    assert_eq!(
        send!(app, b, "GET", "/typed").0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[actix_rt::test]
async fn extractor_without_middleware_fails_loudly() {
    let app = test::init_service(app()).await;
    let mut b = Jar::default();
    assert_eq!(
        send!(app, b, "GET", "/bare").0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[actix_rt::test]
async fn without_namespace_keys_are_field_names() {
    let app = test::init_service(app()).await;
    let mut b = Jar::default();
    assert_eq!(
        send_json!(app, b, "POST", "/prefs"),
        json!({"theme": "dark", "lang": "nl", "type": 2})
    );
    assert_eq!(PrefsSession::KEYS, ["theme", "lang", "type"]);
}

/// A view whose second field can hold something the session refuses.
#[derive(TypedSession)]
#[session(namespace = "form")]
struct Form {
    title: String,
    tree: Value,
}

#[actix_web::test]
async fn save_is_all_or_nothing() {
    let form = FormSession::new(Session::detached());
    let deep = (0..100).fold(json!(1), |inner, _| json!([inner]));
    let err = form
        .save(&Form {
            title: "draft".to_owned(),
            tree: deep,
        })
        .unwrap_err();
    assert!(
        matches!(err, SessionError::TooDeep { ref key, .. } if key == "form.tree"),
        "{err}"
    );
    assert!(
        form.session().all().is_empty(),
        "the title before the refused field was not stored either"
    );
    form.save(&Form {
        title: "final".to_owned(),
        tree: json!({"a": [1]}),
    })
    .unwrap();
    assert_eq!(form.title().unwrap(), "final");
    assert_eq!(form.tree().unwrap(), json!({"a": [1]}));
}
