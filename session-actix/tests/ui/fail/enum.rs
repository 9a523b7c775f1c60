use session_actix::TypedSession;

#[derive(TypedSession)]
enum Cart {
    Empty,
    Full(Vec<String>),
}

#[derive(TypedSession)]
union Bits {
    n: u32,
}

fn main() {}
