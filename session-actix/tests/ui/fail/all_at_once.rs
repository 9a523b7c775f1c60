//! Every mistake in one item is reported in one compile.
use session_actix::TypedSession;

#[derive(TypedSession)]
#[session(namespace = "cart", prefix = "x")]
struct Cart<T> {
    #[session(rename = 1)]
    items: Vec<T>,
    #[session(rename = "total")]
    count: u32,
    total: u32,
    #[session(skip, default = 0)]
    cache: u32,
}

fn main() {}
