//! What differs between operating systems: permissions, flushing a
//! directory, and the lock that keeps processes sharing the directory apart.
//!
//! On Unix, files are created owner-only and each session has a lock file
//! held with `flock(2)` (advisory, released by the kernel if the process
//! dies). Elsewhere the driver relies on its in-process locks alone, so only
//! one process may use a directory; the driver's docs say so.

#[cfg(unix)]
pub(super) use unix::*;

#[cfg(not(unix))]
pub(super) use other::*;

#[cfg(unix)]
mod unix {
    use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
    use std::io;
    use std::os::unix::fs::{
        DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
    };
    use std::path::{Path, PathBuf};

    use rustix::fs::{flock, FlockOperation};
    use rustix::io::Errno;

    /// Mode of the session directory when the driver creates it.
    pub(crate) const DIR_MODE: u32 = 0o700;
    /// Mode of session, temporary and lock files.
    pub(crate) const FILE_MODE: u32 = 0o600;

    /// Creates `path` and any missing parents with mode 0700 (the umask
    /// cannot widen it, and the leaf is set explicitly in case it narrowed
    /// it).
    pub(crate) fn create_dir(path: &Path) -> io::Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(path)?;
        fs::set_permissions(path, Permissions::from_mode(DIR_MODE))
    }

    /// Whether an existing directory lets users other than its owner in.
    pub(crate) fn is_shared(meta: &fs::Metadata) -> bool {
        meta.mode() & 0o077 != 0
    }

    /// Creates a new file readable and writable by the owner only; fails if
    /// it exists.
    pub(crate) fn create_private_file(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)
    }

    /// Flushes a directory's entries (a rename or removal in it) to disk.
    pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    /// An exclusive `flock` on a session's lock file.
    pub(crate) struct OsLock {
        path: PathBuf,
        // Closing the file releases the lock.
        _file: File,
    }

    impl OsLock {
        /// Waits for the lock.
        pub(crate) fn acquire(path: PathBuf) -> io::Result<Self> {
            loop {
                if let Some(lock) = Self::attempt(&path, FlockOperation::LockExclusive)? {
                    return Ok(lock);
                }
            }
        }

        /// Takes the lock if it is free.
        pub(crate) fn try_acquire(path: PathBuf) -> io::Result<Option<Self>> {
            loop {
                match Self::attempt(&path, FlockOperation::NonBlockingLockExclusive) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                    Err(e) => return Err(e),
                    Ok(Some(lock)) => return Ok(Some(lock)),
                    Ok(None) => continue,
                }
            }
        }

        /// One try; `None` when the file locked was removed meanwhile.
        fn attempt(path: &Path, op: FlockOperation) -> io::Result<Option<Self>> {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(FILE_MODE)
                .open(path)?;
            loop {
                match flock(&file, op) {
                    Ok(()) => break,
                    Err(Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            // The holder before us may have removed the lock file (it does
            // when the session is gone) after we opened it: then we hold a
            // lock on a file no one else will open, and must start over on
            // the file now at `path`.
            let held = file.metadata()?;
            match fs::metadata(path) {
                Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => Ok(Some(Self {
                    path: path.to_owned(),
                    _file: file,
                })),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }

        /// Releases the lock, first removing the lock file if `remove`
        /// (while still held, so no one can be using it).
        pub(crate) fn release(self, remove: bool) {
            if remove {
                if let Err(e) = fs::remove_file(&self.path) {
                    if e.kind() != io::ErrorKind::NotFound {
                        tracing::debug!(driver = "file", error = %e, "could not remove a session lock file; cleanup will retry");
                    }
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod other {
    use std::fs::{self, File, OpenOptions};
    use std::io;
    use std::path::{Path, PathBuf};

    pub(crate) fn create_dir(path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    pub(crate) fn is_shared(_meta: &fs::Metadata) -> bool {
        false
    }

    pub(crate) fn create_private_file(path: &Path) -> io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(path)
    }

    /// Directories cannot be opened as files here; the rename itself is
    /// what is relied on.
    pub(crate) fn sync_dir(_path: &Path) -> io::Result<()> {
        Ok(())
    }

    /// No lock across processes: the in-process locks are all there is.
    pub(crate) struct OsLock;

    impl OsLock {
        pub(crate) fn acquire(_path: PathBuf) -> io::Result<Self> {
            Ok(Self)
        }

        pub(crate) fn try_acquire(_path: PathBuf) -> io::Result<Option<Self>> {
            Ok(Some(Self))
        }

        pub(crate) fn release(self, _remove: bool) {}
    }
}
