//! The demo shop of `examples/demo.rs`: log in and out, an account page
//! listing the devices signed in (each can be signed out, or all others at
//! once), a cart kept in the session through the derive, flash messages,
//! CSRF-guarded forms, and minijinja templates (`examples/demo/templates/`). Here so that
//! `tests/demo.rs` serves the same app.

use std::time::SystemTime;

use actix_web::http::header::{ContentType, LOCATION, USER_AGENT};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use minijinja::{context, Environment};
use serde::{Deserialize, Serialize};
use session_actix::{
    templates, CsrfGuard, DeviceInfo, Devices, Session, SessionMiddleware, TypedSession,
};

/// The cart, one session key (`cart.items`) through the derive.
#[derive(TypedSession)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct Item {
    item: String,
}

type Templates = web::Data<Environment<'static>>;

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, to))
        .finish()
}

/// Renders `name` with the session's helpers and `extra`.
fn render(
    env: &Environment<'static>,
    name: &str,
    session: &Session,
    extra: minijinja::Value,
) -> actix_web::Result<HttpResponse> {
    let helpers = templates::minijinja_context(session)?;
    let html = env
        .get_template(name)
        .and_then(|t| t.render(context! { ..extra, ..helpers }))
        .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(html))
}

async fn home(env: Templates, session: Session) -> actix_web::Result<HttpResponse> {
    render(&env, "home.html", &session, context! {})
}

async fn login_form(env: Templates, session: Session) -> actix_web::Result<HttpResponse> {
    render(&env, "login.html", &session, context! {})
}

async fn login(
    req: HttpRequest,
    session: Session,
    form: web::Form<Login>,
) -> actix_web::Result<HttpResponse> {
    let name = form.username.trim();
    if name.is_empty() || form.password != "demo" {
        session.flash_error("Wrong name or password.")?;
        // The name comes back in the form; the password never does.
        session.flash_except(&*form, &["password"])?;
        return Ok(redirect("/login"));
    }
    // A new id at every sign-in (an id planted before is worthless after),
    // entered in the user's device list with the browser's name.
    let mut device = DeviceInfo::new();
    if let Some(agent) = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()) {
        device = device.user_agent(agent);
    }
    session.login_with(name, device)?;
    session.flash_success(format!("Welcome, {name}"))?;
    Ok(redirect("/account"))
}

/// Minutes since `t`, for "last seen".
fn minutes_ago(t: SystemTime) -> u64 {
    SystemTime::now()
        .duration_since(t)
        .map_or(0, |d| d.as_secs() / 60)
}

async fn account(
    env: Templates,
    session: Session,
    devices: Devices,
) -> actix_web::Result<HttpResponse> {
    let Some(user) = session.user_id() else {
        session.flash_info("Please log in to see your account.")?;
        return Ok(redirect("/login"));
    };
    let current = session.device_handle();
    let devices: Vec<minijinja::Value> = devices
        .list(&user)
        .await?
        .into_iter()
        .map(|d| {
            context! {
                current => Some(&d.handle) == current.as_ref(),
                user_agent => d.user_agent.unwrap_or_else(|| "Unknown browser".to_owned()),
                minutes_ago => minutes_ago(d.last_seen),
                handle => d.handle,
            }
        })
        .collect();
    render(&env, "account.html", &session, context! { devices })
}

/// Signs one of the user's other devices out.
async fn sign_out_device(
    session: Session,
    devices: Devices,
    handle: web::Path<String>,
) -> actix_web::Result<HttpResponse> {
    let Some(user) = session.user_id() else {
        return Ok(redirect("/login"));
    };
    if devices.revoke(&user, &handle).await? {
        session.flash_success("That device is signed out.")?;
    }
    Ok(redirect("/account"))
}

async fn sign_out_others(session: Session, devices: Devices) -> actix_web::Result<HttpResponse> {
    let n = devices.revoke_others(&session).await?;
    session.flash_success(format!("Signed out of {n} other device(s)."))?;
    Ok(redirect("/account"))
}

async fn logout(session: Session) -> actix_web::Result<HttpResponse> {
    session.logout()?;
    // Flashed after the destroy, so it goes with the new, empty session.
    session.flash_success("Logged out")?;
    Ok(redirect("/"))
}

async fn cart(env: Templates, cart: CartSession) -> actix_web::Result<HttpResponse> {
    let items = cart.items()?;
    render(&env, "cart.html", cart.session(), context! { items })
}

async fn add_item(cart: CartSession, form: web::Form<Item>) -> actix_web::Result<HttpResponse> {
    let item = form.item.trim();
    if !item.is_empty() {
        let mut items = cart.items()?;
        items.push(item.to_owned());
        cart.set_items(&items)?;
    }
    Ok(redirect("/cart"))
}

async fn clear_cart(cart: CartSession) -> actix_web::Result<HttpResponse> {
    cart.forget()?;
    Ok(redirect("/cart"))
}

/// `fetch("/count", {method: "POST", headers: {"X-CSRF-Token": ...}})`:
/// parallel increments from the page all count.
async fn count(session: Session) -> actix_web::Result<String> {
    Ok(session.increment("count", 1)?.to_string())
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css")
        .body(include_str!("../examples/demo/style.css"))
}

/// The demo's templates, from `examples/demo/templates/`.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in [
        (
            "base.html",
            include_str!("../examples/demo/templates/base.html"),
        ),
        (
            "home.html",
            include_str!("../examples/demo/templates/home.html"),
        ),
        (
            "login.html",
            include_str!("../examples/demo/templates/login.html"),
        ),
        (
            "account.html",
            include_str!("../examples/demo/templates/account.html"),
        ),
        (
            "cart.html",
            include_str!("../examples/demo/templates/cart.html"),
        ),
    ] {
        // `.html` names: minijinja escapes every value.
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env
}

/// Serves the demo shop with `sessions` on `listener`.
pub fn serve(
    sessions: SessionMiddleware,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let env = web::Data::new(environment());
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(env.clone())
            // The guard reads the session: it goes inside the session middleware.
            .wrap(CsrfGuard::new())
            .wrap(sessions.clone())
            .route("/", web::get().to(home))
            .route("/style.css", web::get().to(style))
            .route("/login", web::get().to(login_form))
            .route("/login", web::post().to(login))
            .route("/account", web::get().to(account))
            .route(
                "/account/devices/others/sign-out",
                web::post().to(sign_out_others),
            )
            .route(
                "/account/devices/{handle}/sign-out",
                web::post().to(sign_out_device),
            )
            .route("/logout", web::post().to(logout))
            .route("/cart", web::get().to(cart))
            .route("/cart/items", web::post().to(add_item))
            .route("/cart/clear", web::post().to(clear_cart))
            .route("/count", web::post().to(count))
    })
    .listen(listener)?
    .run())
}
