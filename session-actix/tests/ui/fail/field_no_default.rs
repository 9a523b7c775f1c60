use session_actix::TypedSession;

#[derive(serde::Serialize, serde::Deserialize)]
struct Level(u8);

#[derive(TypedSession)]
struct Game {
    level: Level,
    #[session(skip)]
    since: std::time::Instant,
}

fn main() {}
