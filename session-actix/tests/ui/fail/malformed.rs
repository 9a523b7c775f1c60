use session_actix::TypedSession;

#[derive(TypedSession)]
#[session(namespace)]
struct NoValue {
    #[session(rename = 3)]
    a: u8,
    #[session(rename)]
    b: u8,
    #[session(skip = true)]
    c: u8,
    #[session(default(1))]
    d: u8,
    #[session]
    e: u8,
    #[session = "f"]
    f: u8,
    #[session(rename = "")]
    g: u8,
}

#[derive(TypedSession)]
#[session(namespace = "")]
struct EmptyNamespace {
    a: u8,
}

#[derive(TypedSession)]
#[session(crate = "not a path")]
struct BadCrate {
    a: u8,
}

#[derive(TypedSession)]
#[session(namespace = "x" "y")]
struct Syntax {
    #[session(default = )]
    a: u8,
}

fn main() {}
