use session_actix::TypedSession;

#[derive(TypedSession)]
#[session(bogus, rename = "cart")]
struct Cart {
    #[session(bogus)]
    items: Vec<String>,
    #[session(namespace = "x", defualt = 1)]
    total: u32,
    #[session(skip, rename_all = "camelCase")]
    cache: Vec<u8>,
}

fn main() {}
