//! Every template helper rendered for real, with minijinja and with tera,
//! on a session that went through the middleware.
#![cfg(feature = "minijinja")]

use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::{test, web, App, HttpResponse};
use minijinja::{context, Environment};
use serde_json::json;
use session_actix::{templates, MemoryDriver, Session, SessionMiddleware};

const MINIJINJA: &str = "\
user={% if session.has('user') %}{{ session.get('user') }}{% endif %}\n\
cart={{ session.get('cart', 'empty') }}\n\
attr={{ session.user }}\n\
title={{ flash_messages.get('errors.title') }}\n\
default={{ flash_messages.get('missing', 'fallback') }}\n\
has={{ flash_messages.has('errors') }}/{{ flash_messages.has('nope') }}\n\
all={{ flash_messages.all() | tojson }}\n\
levels={% for m in flash_messages.messages() %}{{ m.level }}:{{ m.text }},{% endfor %}\n\
errors={% for m in flash_messages.messages('error') %}{{ m.text }},{% endfor %}\n\
old={{ flash_messages.old('title') }}/{{ flash_messages.old('password', '-') }}\n\
token={{ csrf_token() }}\n\
field={{ csrf_field() }}";

const TERA: &str = "\
user={{ session.user }}\n\
title={{ flash_messages.values.errors.title | default(value='') }}\n\
levels={% for m in flash_messages.messages %}{{ m.level }}:{{ m.text }},{% endfor %}\n\
old={{ flash_messages.old.title | default(value='') }}\n\
token={{ csrf_token }}\n\
field={{ csrf_field | safe }}";

async fn prepare(s: Session) -> actix_web::Result<HttpResponse> {
    s.put("user", "<b>Ada</b>")?;
    s.flash("errors", json!({"title": "is required"}))?;
    s.flash_success("Saved")?;
    s.flash_error("But <not> this")?;
    s.flash_except(
        json!({"title": "Draft & co", "password": "hunter2"}),
        &["password"],
    )?;
    Ok(HttpResponse::NoContent().finish())
}

async fn minijinja_page(s: Session) -> actix_web::Result<String> {
    // A `.html` name turns on the engine's HTML escaping.
    let mut env = Environment::new();
    env.add_template("page.html", MINIJINJA).unwrap();
    let page = env.get_template("page.html").unwrap();
    Ok(page
        .render(context! { ..templates::minijinja_context(&s)? })
        .unwrap())
}

async fn tera_page(s: Session) -> actix_web::Result<String> {
    let mut tera = tera::Tera::default();
    tera.add_raw_template("page.html", TERA).unwrap();
    let values = templates::values(&s)?;
    let ctx = tera::Context::from_serialize(values).unwrap();
    Ok(tera.render("page.html", &ctx).unwrap())
}

fn field_of(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|part| part.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_owned()
}

async fn render(page: &str) -> (String, String) {
    let app = test::init_service(
        App::new()
            .wrap(
                SessionMiddleware::builder(MemoryDriver::new())
                    .build()
                    .unwrap(),
            )
            .route("/prepare", web::post().to(prepare))
            .route("/minijinja", web::get().to(minijinja_page))
            .route("/tera", web::get().to(tera_page)),
    )
    .await;
    let res =
        test::call_service(&app, test::TestRequest::post().uri("/prepare").to_request()).await;
    let cookie = res
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let get = |cookie: String| {
        test::TestRequest::get()
            .uri(page)
            .insert_header((COOKIE, cookie))
            .to_request()
    };
    let first = test::read_body(test::call_service(&app, get(cookie.clone())).await).await;
    let second = test::read_body(test::call_service(&app, get(cookie)).await).await;
    (
        String::from_utf8(first.to_vec()).unwrap(),
        String::from_utf8(second.to_vec()).unwrap(),
    )
}

#[actix_web::test]
async fn minijinja_helpers_render_with_the_engine_s_escaping() {
    let (page, again) = render("/minijinja").await;
    assert_eq!(field_of(&page, "user"), "&lt;b&gt;Ada&lt;&#x2f;b&gt;");
    assert_eq!(field_of(&page, "cart"), "empty");
    assert_eq!(field_of(&page, "attr"), "&lt;b&gt;Ada&lt;&#x2f;b&gt;");
    assert_eq!(field_of(&page, "title"), "is required");
    assert_eq!(field_of(&page, "default"), "fallback");
    assert_eq!(field_of(&page, "has"), "True/False");
    assert_eq!(
        field_of(&page, "all"),
        r#"{"errors":{"title":"is required"}}"#,
        "neither levelled messages nor old input among the values"
    );
    assert_eq!(
        field_of(&page, "levels"),
        "success:Saved,error:But &lt;not&gt; this,"
    );
    assert_eq!(field_of(&page, "errors"), "But &lt;not&gt; this,");
    assert_eq!(field_of(&page, "old"), "Draft &amp; co/-");
    let token = field_of(&page, "token");
    assert_eq!(token.len(), 86);
    let field = field_of(&page, "field");
    assert!(
        field.starts_with(r#"<input type="hidden" name="_csrf" value=""#)
            && field.ends_with(r#"">"#),
        "{field}"
    );
    assert_eq!(
        field,
        format!(r#"<input type="hidden" name="_csrf" value="{token}">"#),
        "one token per page"
    );
    // The flash was consumed by the request that rendered it.
    assert_eq!(field_of(&again, "title"), "");
    assert_eq!(field_of(&again, "levels"), "");
    assert_eq!(field_of(&again, "user"), "&lt;b&gt;Ada&lt;&#x2f;b&gt;");
    assert_ne!(
        field_of(&again, "token"),
        token,
        "a fresh mask on every page"
    );
}

#[actix_web::test]
async fn tera_renders_the_serde_snapshot() {
    let (page, again) = render("/tera").await;
    assert_eq!(field_of(&page, "user"), "&lt;b&gt;Ada&lt;&#x2F;b&gt;");
    assert_eq!(field_of(&page, "title"), "is required");
    assert_eq!(
        field_of(&page, "levels"),
        "success:Saved,error:But &lt;not&gt; this,"
    );
    assert_eq!(field_of(&page, "old"), "Draft &amp; co");
    let token = field_of(&page, "token");
    assert_eq!(
        field_of(&page, "field"),
        format!(r#"<input type="hidden" name="_csrf" value="{token}">"#)
    );
    assert_eq!(field_of(&again, "levels"), "");
}
