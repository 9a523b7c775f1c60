//! A form with a required field: flash messages and old input across
//! redirects, rendered with minijinja, and the form guarded against CSRF.
//!
//! ```text
//! cargo run --example flash_form
//! # then open http://127.0.0.1:8080/ in a browser
//! ```
//!
//! A post without the form's hidden `_csrf` field (from curl, or from
//! another site) gets 403.

use actix_web::http::header::{ContentType, LOCATION};
use actix_web::{web, App, HttpResponse, HttpServer};
use minijinja::Environment;
use serde::{Deserialize, Serialize};
use session_actix::{templates, CsrfGuard, MemoryDriver, Session, SessionMiddleware};

#[derive(Serialize, Deserialize)]
struct Post {
    title: String,
    note: String,
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, to))
        .finish()
}

/// Renders `name` with the session's template values.
fn render(
    env: &Environment<'static>,
    name: &str,
    session: &Session,
) -> actix_web::Result<HttpResponse> {
    let context = templates::minijinja_context(session)?;
    let page = env
        .get_template(name)
        .and_then(|t| t.render(context))
        .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(page))
}

async fn form(
    env: web::Data<Environment<'static>>,
    session: Session,
) -> actix_web::Result<HttpResponse> {
    render(&env, "form.html", &session)
}

async fn create(session: Session, post: web::Form<Post>) -> actix_web::Result<HttpResponse> {
    if post.title.trim().is_empty() {
        session.flash(
            "errors",
            serde_json::json!({ "title": "The title is required." }),
        )?;
        session.flash_all(&*post)?;
        return Ok(redirect("/"));
    }
    session.flash_success(format!("Post “{}” saved.", post.title.trim()))?;
    Ok(redirect("/saved"))
}

async fn saved(
    env: web::Data<Environment<'static>>,
    session: Session,
) -> actix_web::Result<HttpResponse> {
    render(&env, "saved.html", &session)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut env = Environment::new();
    // `.html` names: minijinja escapes every value.
    env.add_template("form.html", include_str!("flash_form/form.html"))
        .expect("a valid template");
    env.add_template("saved.html", include_str!("flash_form/saved.html"))
        .expect("a valid template");
    let env = web::Data::new(env);
    let sessions = SessionMiddleware::builder(MemoryDriver::new())
        .secure(false) // plain http on localhost; keep Secure in production
        .build()
        .expect("valid session settings");
    println!("flash_form on http://127.0.0.1:8080/");
    HttpServer::new(move || {
        App::new()
            .app_data(env.clone())
            // The guard reads the session, so it goes inside the session middleware.
            .wrap(CsrfGuard::new())
            .wrap(sessions.clone())
            .route("/", web::get().to(form))
            .route("/posts", web::post().to(create))
            .route("/saved", web::get().to(saved))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
