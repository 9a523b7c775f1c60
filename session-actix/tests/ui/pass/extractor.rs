//! Both views are handler arguments, and wrap sessions taken other ways.
#![deny(warnings)]

use actix_web::{web, App, HttpRequest};
use session_actix::{ReadonlySession, Session, SessionExt, TypedSession};

#[derive(TypedSession)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<String>,
}

async fn write(cart: CartSession) -> actix_web::Result<String> {
    cart.set_items(vec!["apple".to_owned()])?;
    Ok(cart.items()?.len().to_string())
}

async fn read(cart: ReadonlyCartSession, session: Session) -> actix_web::Result<String> {
    let untyped: &ReadonlySession = cart.session();
    assert_eq!(untyped.id(), session.id(), "one session, two handles");
    Ok(cart.load()?.items.join(","))
}

async fn ext(req: HttpRequest) -> actix_web::Result<String> {
    let cart = CartSession::from(req.session().await?);
    let ro = ReadonlyCartSession::from(req.readonly_session().await?);
    let _: ReadonlySession = req.readonly_session().await?;
    let _: Session = cart.clone().into_session();
    let _: ReadonlyCartSession = cart.clone().into();
    let _: ReadonlySession = session_actix::Session::detached().into();
    Ok(format!("{:?} {:?}", cart.items()?, ro.items()?))
}

fn main() {
    let _ = App::new()
        .route("/w", web::post().to(write))
        .route("/r", web::get().to(read))
        .route("/e", web::get().to(ext));
}
