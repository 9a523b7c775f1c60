//! A `ReadonlySession` has no writing method and no way to a writable one.
use session_actix::{ReadonlySession, Session};

fn writes(ro: &ReadonlySession) {
    let _ = ro.put("k", 1);
    let _ = ro.forget("k");
    let _ = ro.pull::<i32>("k");
    let _ = ro.increment("k", 1);
    let _ = ro.clear();
    let _ = ro.destroy();
    let _ = ro.regenerate();
    let _ = ro.flash("notice", "saved");
    let _ = ro.flash_now("notice", "saved");
    let _ = ro.reflash();
    let _ = ro.clear_flash();
}

fn escapes(ro: ReadonlySession) -> Session {
    Session::from(ro)
}

fn main() {}
