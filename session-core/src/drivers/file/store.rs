//! The blocking side of the file driver: per-session locks, reads, atomic
//! writes and the cleanup scan. Everything here runs on Tokio's blocking
//! thread pool, one closure per driver call.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
#[cfg(test)]
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::error::IoFailure;
use super::platform;
use super::template::{Entry, Template};
use crate::id::SessionId;
use crate::record::Record;
use crate::time::Timestamp;

/// What the driver shares between its clones.
pub(super) struct Store {
    pub(super) dir: PathBuf,
    pub(super) template: Template,
    /// One async mutex per session being worked on in this process, so that
    /// at most one blocking thread per session waits for the OS lock.
    locks: Mutex<HashMap<SessionId, Arc<AsyncMutex<()>>>>,
    /// Test hook: fail every write after its temporary file is written.
    #[cfg(test)]
    pub(super) fail_before_rename: std::sync::atomic::AtomicBool,
}

/// What a session file holds.
pub(super) enum Stored {
    /// No file.
    Missing,
    /// A file that is not a record (truncated, damaged, foreign).
    Corrupt,
    /// A record, live or expired.
    Found(Record),
}

/// This process's hold on one session. Dropping it lets the next request for
/// the session in.
pub(super) struct IdGuard {
    store: Arc<Store>,
    id: SessionId,
    _held: OwnedMutexGuard<()>,
}

impl Drop for IdGuard {
    fn drop(&mut self) {
        let mut locks = self.store.locks.lock().unwrap_or_else(|p| p.into_inner());
        // Two owners left (the map and this guard) means no one is waiting:
        // forget the mutex so the map does not grow with every id ever seen.
        // Anyone arriving later must take the map lock first, after this.
        if locks
            .get(&self.id)
            .is_some_and(|m| Arc::strong_count(m) == 2)
        {
            locks.remove(&self.id);
        }
    }
}

impl Store {
    /// How many sessions have an in-process lock entry (for tests).
    #[cfg(test)]
    pub(super) fn lock_entries(&self) -> usize {
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub(super) fn new(dir: PathBuf, template: Template) -> Self {
        Self {
            dir,
            template,
            locks: Mutex::default(),
            #[cfg(test)]
            fail_before_rename: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn mutex_for(&self, id: &SessionId) -> Arc<AsyncMutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(id.clone()).or_default())
    }

    /// Waits for this process's turn on `id`.
    pub(super) async fn lock_id(self: &Arc<Self>, id: &SessionId) -> IdGuard {
        let held = self.mutex_for(id).lock_owned().await;
        IdGuard {
            store: Arc::clone(self),
            id: id.clone(),
            _held: held,
        }
    }

    /// Takes this process's turn on `id` if no one has it.
    fn try_lock_id(self: &Arc<Self>, id: &SessionId) -> Option<IdGuard> {
        let held = self.mutex_for(id).try_lock_owned().ok();
        // On failure the clone taken above is dropped here; the holder's
        // guard removes the entry when it is done.
        held.map(|held| IdGuard {
            store: Arc::clone(self),
            id: id.clone(),
            _held: held,
        })
    }

    pub(super) fn session_path(&self, id: &SessionId) -> PathBuf {
        self.dir.join(self.template.session(id))
    }

    fn lock_path(&self, id: &SessionId) -> PathBuf {
        self.dir.join(self.template.lock(id))
    }

    /// Maps an I/O error to a failure naming the operation and the directory
    /// (never the file, whose name holds the id).
    pub(super) fn io(&self, op: &'static str) -> impl Fn(io::Error) -> IoFailure + '_ {
        move |source| IoFailure {
            op,
            dir: self.dir.clone(),
            source,
        }
    }

    /// Runs `f` holding the OS lock of `id` (this process's turn on it must
    /// already be held), then drops the lock file if no session file is left
    /// so lock files do not pile up.
    pub(super) fn with_os_lock<R>(
        &self,
        id: &SessionId,
        f: impl FnOnce(&Self) -> Result<R, IoFailure>,
    ) -> Result<R, IoFailure> {
        let lock = platform::OsLock::acquire(self.lock_path(id))
            .map_err(self.io("lock a session file"))?;
        let result = f(self);
        lock.release(!self.session_exists(id));
        result
    }

    fn session_exists(&self, id: &SessionId) -> bool {
        match fs::symlink_metadata(self.session_path(id)) {
            Ok(_) => true,
            Err(e) => e.kind() != io::ErrorKind::NotFound,
        }
    }

    /// Reads the session file of `id`.
    pub(super) fn read(&self, id: &SessionId) -> Result<Stored, IoFailure> {
        match fs::read(self.session_path(id)) {
            Ok(bytes) => Ok(Record::decode(&bytes).map_or(Stored::Corrupt, Stored::Found)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Stored::Missing),
            Err(e) => Err(self.io("read a session file")(e)),
        }
    }

    /// Replaces the session file of `id` with `bytes` atomically: a reader
    /// sees the old file or the new one, never a part. The bytes go to a
    /// temporary file in the same directory, which is flushed to disk and
    /// renamed over the session file; then the directory is flushed so the
    /// rename survives a crash. On failure the temporary file is removed.
    pub(super) fn write(&self, id: &SessionId, bytes: &[u8]) -> Result<(), IoFailure> {
        // Random, not a counter: another driver in this process, or a process
        // that reused our pid after a crash, must not pick the same name.
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| {
            self.io("name a temporary session file")(io::Error::other(e.to_string()))
        })?;
        let unique = format!("{}-{:016x}", std::process::id(), u64::from_le_bytes(random));
        let temp = self.dir.join(self.template.temp(id, &unique));
        let mut file = platform::create_private_file(&temp)
            .map_err(self.io("create a temporary session file"))?;
        let remove_temp = RemoveOnDrop(Some(&temp));
        file.write_all(bytes)
            .map_err(self.io("write a session file"))?;
        file.sync_all()
            .map_err(self.io("flush a session file to disk"))?;
        drop(file);
        #[cfg(test)]
        if self.fail_before_rename.load(Ordering::SeqCst) {
            return Err(self.io("move a session file into place")(io::Error::other(
                "injected failure",
            )));
        }
        fs::rename(&temp, self.session_path(id))
            .map_err(self.io("move a session file into place"))?;
        remove_temp.disarm();
        platform::sync_dir(&self.dir).map_err(self.io("flush the session directory"))
    }

    /// Removes the session file of `id`; returns whether there was one.
    pub(super) fn remove(&self, id: &SessionId) -> Result<bool, IoFailure> {
        match fs::remove_file(self.session_path(id)) {
            Ok(()) => {
                platform::sync_dir(&self.dir).map_err(self.io("flush the session directory"))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io("remove a session file")(e)),
        }
    }

    /// Removes the session files expired (or corrupt) at `now`, with their
    /// lock files and any temporary files left by interrupted writes. Sessions
    /// busy in this or another process are skipped until the next run.
    /// Returns how many session files were removed.
    pub(super) fn cleanup(self: &Arc<Self>, now: Timestamp) -> Result<usize, IoFailure> {
        #[derive(Default)]
        struct Files {
            session: bool,
            others: bool,
            temps: Vec<PathBuf>,
        }
        let mut found: BTreeMap<SessionId, Files> = BTreeMap::new();
        let list = self.io("list the session directory");
        for entry in fs::read_dir(&self.dir).map_err(&list)? {
            let entry = entry.map_err(&list)?;
            let name = entry.file_name();
            let Some(kind) = name.to_str().and_then(|n| self.template.classify(n)) else {
                continue;
            };
            match kind {
                Entry::Session(id) => found.entry(id).or_default().session = true,
                Entry::Lock(id) => found.entry(id).or_default().others = true,
                Entry::Temp(id) => {
                    let files = found.entry(id).or_default();
                    files.others = true;
                    files.temps.push(entry.path());
                }
            }
        }

        let mut removed = 0;
        for (id, files) in found {
            // The common case, a live session (with its lock file), needs no
            // lock: writes are atomic, so this read sees a whole record.
            if files.session && files.temps.is_empty() {
                if let Stored::Found(record) = self.read(&id)? {
                    if !record.is_expired(now) {
                        continue;
                    }
                }
            }
            let Some(_turn) = self.try_lock_id(&id) else {
                continue;
            };
            let lock = platform::OsLock::try_acquire(self.lock_path(&id))
                .map_err(self.io("lock a session file"))?;
            let Some(lock) = lock else {
                continue;
            };
            let outcome = self.collect(&id, now, &files.temps);
            lock.release(!self.session_exists(&id));
            if outcome? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Under the locks of `id`: removes its session file if expired or
    /// corrupt, and its leftover temporary files. Returns whether a session
    /// file was removed.
    fn collect(
        &self,
        id: &SessionId,
        now: Timestamp,
        temps: &[PathBuf],
    ) -> Result<bool, IoFailure> {
        for temp in temps {
            match fs::remove_file(temp) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io("remove a temporary session file")(e)),
            }
        }
        match self.read(id)? {
            Stored::Found(record) if !record.is_expired(now) => Ok(false),
            Stored::Missing => Ok(false),
            Stored::Found(_) => self.remove(id),
            Stored::Corrupt => {
                tracing::warn!(
                    driver = "file",
                    "removed a corrupt or truncated session file during cleanup"
                );
                self.remove(id)
            }
        }
    }
}

/// Removes a file when dropped, unless disarmed.
struct RemoveOnDrop<'a>(Option<&'a Path>);

impl RemoveOnDrop<'_> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.0 {
            if let Err(e) = fs::remove_file(path) {
                tracing::warn!(
                    driver = "file",
                    error = %e,
                    "could not remove a temporary session file after a failed write; the next cleanup will"
                );
            }
        }
    }
}
