use session_actix::TypedSession;

#[derive(TypedSession)]
struct Cart {
    #[session(skip, default = 3)]
    cache: u32,
    #[session(default, skip)]
    more: Vec<u8>,
    #[session(skip)]
    #[session(rename = "x")]
    renamed: Vec<u8>,
}

fn main() {}
