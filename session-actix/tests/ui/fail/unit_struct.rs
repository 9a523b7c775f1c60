use session_actix::TypedSession;

#[derive(TypedSession)]
struct Cart;

fn main() {}
