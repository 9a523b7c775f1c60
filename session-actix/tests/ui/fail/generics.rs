use session_actix::TypedSession;

#[derive(TypedSession)]
struct Cart<T> {
    items: Vec<T>,
}

#[derive(TypedSession)]
struct Borrowed<'a> {
    name: &'a str,
}

#[derive(TypedSession)]
struct Bounded
where
    u8: Copy,
{
    n: u8,
}

fn main() {}
