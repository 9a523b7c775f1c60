use session_actix::TypedSession;

#[derive(TypedSession)]
struct Cart {
    #[session(default = "0")]
    total: u32,
}

fn main() {}
