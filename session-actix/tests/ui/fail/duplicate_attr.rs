use session_actix::TypedSession;

#[derive(TypedSession)]
#[session(namespace = "a")]
#[session(namespace = "b")]
struct Cart {
    #[session(rename = "x", rename = "y")]
    items: Vec<String>,
    #[session(default = 1, default)]
    total: u32,
    #[session(skip, skip)]
    cache: Vec<u8>,
}

fn main() {}
