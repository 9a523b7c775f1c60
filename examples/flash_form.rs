//! A form with a required field, using flash messages across redirects.
//!
//! ```text
//! cargo run --example flash_form
//! # then open http://127.0.0.1:8080/ in a browser, or with curl:
//! curl -c jar -b jar -L -d 'title=&note=hello' http://127.0.0.1:8080/posts   # form again, error + old input
//! curl -c jar -b jar -L -d 'title=Hi&note=' http://127.0.0.1:8080/posts      # "Post “Hi” saved."
//! curl -c jar -b jar http://127.0.0.1:8080/saved                              # no message any more
//! ```

use actix_web::http::header::{ContentType, LOCATION};
use actix_web::{web, App, HttpResponse, HttpServer};
use serde::{Deserialize, Serialize};
use session_actix::{MemoryDriver, Session, SessionMiddleware};

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

/// Escapes text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn form(session: Session) -> actix_web::Result<HttpResponse> {
    let flash = session.flash_messages();
    let error: Option<String> = flash.get("errors.title")?;
    let title: String = flash.old("title")?.unwrap_or_default();
    let note: String = flash.old("note")?.unwrap_or_default();
    let error = error
        .map(|e| format!(r#"<p class="error">{}</p>"#, esc(&e)))
        .unwrap_or_default();
    let page = format!(
        r#"<!doctype html><title>New post</title>
<h1>New post</h1>
{error}
<form method="post" action="/posts">
  <label>Title (required) <input name="title" value="{}"></label>
  <label>Note <input name="note" value="{}"></label>
  <button>Save</button>
</form>"#,
        esc(&title),
        esc(&note)
    );
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(page))
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

async fn saved(session: Session) -> HttpResponse {
    let messages: String = session
        .flash_messages()
        .messages()
        .iter()
        .map(|m| format!(r#"<p class="{:?}">{}</p>"#, m.level, esc(&m.text)))
        .collect();
    let body = if messages.is_empty() {
        "<p>No news.</p>".to_owned()
    } else {
        messages
    };
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(format!(
            "<!doctype html><title>Posts</title>{body}<a href=\"/\">New post</a>"
        ))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let sessions = SessionMiddleware::builder(MemoryDriver::new())
        .secure(false) // plain http on localhost; keep Secure in production
        .build()
        .expect("valid session settings");
    println!("flash_form on http://127.0.0.1:8080/");
    HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            .route("/", web::get().to(form))
            .route("/posts", web::post().to(create))
            .route("/saved", web::get().to(saved))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
