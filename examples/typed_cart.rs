//! A shopping cart kept in the session through `#[derive(TypedSession)]`:
//! the handlers take `CartSession` (or the read-only `ReadonlyCartSession`)
//! instead of `Session` and read and write typed fields. The data lands under
//! plain keys (`cart.items`, `cart.c`), readable by the untyped API and in
//! any store.
//!
//! ```text
//! cargo run --example typed_cart
//! curl -c jar -b jar http://127.0.0.1:8080/cart                    # {"items":[],"coupon":null,"count":0}
//! curl -c jar -b jar -X POST http://127.0.0.1:8080/cart/items/apple  # 1 item(s)
//! curl -c jar -b jar -X POST http://127.0.0.1:8080/cart/items/pear   # 2 item(s)
//! curl -c jar -b jar -X POST http://127.0.0.1:8080/cart/coupon/TEN   # coupon TEN
//! curl -c jar -b jar http://127.0.0.1:8080/cart                    # {"items":["apple","pear"],"coupon":"TEN","count":2}
//! curl -c jar -b jar http://127.0.0.1:8080/raw                     # {"cart.c":"TEN","cart.items":["apple","pear"]}
//! curl -c jar -b jar -X DELETE http://127.0.0.1:8080/cart           # (204, the cart is gone)
//! ```

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Serialize;
use session_actix::{MemoryDriver, ReadonlySession, SessionMiddleware, TypedSession};

/// The cart: each field is one session key under the `cart` namespace.
#[derive(TypedSession)]
#[session(namespace = "cart")]
struct Cart {
    /// Stored under `cart.items`; an empty list until something is added.
    items: Vec<String>,
    /// Stored under `cart.c`; `None` when absent.
    #[session(rename = "c")]
    coupon: Option<String>,
    /// Not stored: recomputed by whoever loads the cart.
    #[session(skip)]
    count: usize,
}

/// What `GET /cart` answers.
#[derive(Serialize)]
struct CartView {
    items: Vec<String>,
    coupon: Option<String>,
    count: usize,
}

async fn show(cart: ReadonlyCartSession) -> actix_web::Result<HttpResponse> {
    // A read-only view: this request never writes the session or sets a cookie.
    let mut cart = cart.load()?;
    cart.count = cart.items.len();
    Ok(HttpResponse::Ok().json(CartView {
        items: cart.items,
        coupon: cart.coupon,
        count: cart.count,
    }))
}

async fn add(cart: CartSession, item: web::Path<String>) -> actix_web::Result<String> {
    let mut items = cart.items()?;
    items.push(item.into_inner());
    cart.set_items(&items)?;
    Ok(format!("{} item(s)", items.len()))
}

async fn coupon(cart: CartSession, code: web::Path<String>) -> actix_web::Result<String> {
    cart.set_coupon(Some(code.into_inner()))?;
    Ok(format!("coupon {}", cart.coupon()?.unwrap_or_default()))
}

async fn clear(cart: CartSession) -> actix_web::Result<HttpResponse> {
    // Forgets cart.items and cart.c; any other session data stays.
    cart.forget()?;
    Ok(HttpResponse::NoContent().finish())
}

/// The same data through the untyped API.
async fn raw(session: ReadonlySession) -> HttpResponse {
    HttpResponse::Ok().json(session.all())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let sessions = SessionMiddleware::builder(MemoryDriver::new())
        // The example serves plain http on localhost; keep Secure on in production.
        .secure(false)
        .build()
        .expect("valid session settings");
    println!("typed cart on http://127.0.0.1:8080/cart");
    HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            .route("/cart", web::get().to(show))
            .route("/cart/items/{item}", web::post().to(add))
            .route("/cart/coupon/{code}", web::post().to(coupon))
            .route("/cart", web::delete().to(clear))
            .route("/raw", web::get().to(raw))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
