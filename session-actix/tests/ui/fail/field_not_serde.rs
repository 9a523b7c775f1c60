use session_actix::TypedSession;

#[derive(Default)]
struct NotSerde;

#[derive(TypedSession)]
struct Cart {
    items: NotSerde,
}

fn main() {}
