use session_actix::TypedSession;

#[derive(TypedSession)]
struct Cart(Vec<String>, u32);

fn main() {}
