//! The derive's read-only view has getters and `load` only.
use session_actix::TypedSession;

#[derive(TypedSession)]
struct Cart {
    items: Vec<String>,
}

fn writes(ro: &ReadonlyCartSession) {
    let _ = ro.set_items(Vec::new());
    let _ = ro.forget_items();
    let _ = ro.save(&Cart { items: Vec::new() });
    let _ = ro.forget();
    let _ = ro.session().put("cart", 1);
}

fn escapes(ro: ReadonlyCartSession) -> CartSession {
    CartSession::from(ro)
}

fn main() {}
