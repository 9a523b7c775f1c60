//! A session driver of your own: sessions in a `BTreeMap` behind a mutex,
//! registered under a name and chosen in configuration like the built-ins.
//!
//! ```text
//! SESSION_DRIVER=btree SESSION_SECURE=false cargo run --example custom_driver
//! curl -c jar -b jar http://127.0.0.1:8080/     # This is your 1 visit (btree driver)
//! ```
//!
//! `cargo test --example custom_driver` runs the driver conformance suite on
//! it, as every driver author should.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpServer};
use session_actix::driver::async_trait;
use session_actix::driver::{
    DriverError, DriverRegistry, DriverSettings, Record, SessionDriver, SessionId, Timestamp,
    Update,
};
use session_actix::{Session, SessionSettings};

/// Sessions in an ordered map. The mutex is held only for a map operation,
/// never across an `.await`.
#[derive(Clone, Debug, Default)]
pub struct BTreeDriver {
    sessions: Arc<Mutex<BTreeMap<SessionId, Record>>>,
}

impl BTreeDriver {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<SessionId, Record>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl SessionDriver for BTreeDriver {
    fn name(&self) -> &'static str {
        "btree"
    }

    async fn load(&self, id: &SessionId, now: Timestamp) -> Result<Option<Record>, DriverError> {
        Ok(self.map().get(id).filter(|r| !r.is_expired(now)).cloned())
    }

    async fn create(&self, id: &SessionId, record: &Record) -> Result<(), DriverError> {
        let mut map = self.map();
        // A live record under this id must never be overwritten.
        if map
            .get(id)
            .is_some_and(|r| !r.is_expired(record.last_active))
        {
            return Err(DriverError::AlreadyExists);
        }
        map.insert(id.clone(), record.clone());
        Ok(())
    }

    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        expected: u64,
    ) -> Result<Update, DriverError> {
        let mut map = self.map();
        match map.get(id) {
            // Gone: never re-insert, or a logged-out session would come back.
            None => Ok(Update::Gone),
            Some(r) if r.is_expired(record.last_active) => Ok(Update::Gone),
            Some(r) if r.version != expected => Ok(Update::Conflict(Some(r.clone()))),
            Some(_) => {
                map.insert(id.clone(), record.clone());
                Ok(Update::Updated)
            }
        }
    }

    async fn touch(
        &self,
        id: &SessionId,
        last_active: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, DriverError> {
        match self.map().get_mut(id) {
            Some(r) if !r.is_expired(last_active) => {
                r.last_active = last_active;
                r.expires_at = expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn destroy(&self, id: &SessionId) -> Result<(), DriverError> {
        self.map().remove(id);
        Ok(())
    }
}

async fn index(session: Session) -> actix_web::Result<String> {
    let n = session.increment("counter", 1)?;
    Ok(format!("This is your {n} visit (btree driver)\n"))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // One store for all workers: the factory hands out clones of it.
    let store = BTreeDriver::default();
    let mut registry = DriverRegistry::with_builtins();
    registry.register("btree", move |_settings: DriverSettings| {
        let store = store.clone();
        async move { Ok(Arc::new(store) as Arc<dyn SessionDriver>) }
    });
    let built = match SessionSettings::from_env() {
        Ok(settings) => settings.build_with(&registry).await,
        Err(e) => Err(e),
    };
    let sessions = built.unwrap_or_else(|e| {
        eprintln!("custom_driver: {e}");
        std::process::exit(2)
    });
    println!("custom_driver on http://127.0.0.1:8080/");
    HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            .route("/", web::get().to(index))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}

#[cfg(test)]
mod tests {
    use super::BTreeDriver;
    use session_actix::driver::conformance;

    /// Every contract of the driver trait, checked by the public suite.
    #[actix_web::test]
    async fn btree_driver_passes_the_conformance_suite() {
        conformance::run(|| async { BTreeDriver::default() }).await;
    }
}
