use session_actix::TypedSession;

#[derive(TypedSession)]
#[session(namespace = "cart")]
struct Cart {
    items: Vec<String>,
    #[session(rename = "items")]
    other_items: Vec<String>,
    #[session(rename = "c")]
    coupon: Option<String>,
    #[session(rename = "c")]
    code: Option<String>,
}

fn main() {}
