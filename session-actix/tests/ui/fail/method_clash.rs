use session_actix::TypedSession;

#[derive(TypedSession)]
struct Cart {
    load: Vec<String>,
    total: u32,
    set_total: u32,
    #[session(rename = "keys")]
    KEYS: u8,
}

fn main() {}
