//! Lock files (`locks/<id>`), compatible with restic's: exclusive for removing data, shared for
//! adding it; stale when older than 30 minutes, or made on this host by a process that is gone.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::Repository;
use super::backend::FileType;
use super::id::Id;
use crate::{Error, Result};

/// How old a lock may get before others treat it as stale.
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
/// How often a held lock is rewritten with a fresh time, unless the repository says otherwise
/// ([`Repository::with_lock_refresh`]).
pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);

/// First pause before retrying a lock another process holds; doubles up to [`LOCK_RETRY_MAX`].
const LOCK_RETRY_FIRST: Duration = Duration::from_millis(500);
const LOCK_RETRY_MAX: Duration = Duration::from_secs(10);

/// A number in [0, 1) from the OS, for retry jitter (0 if the OS has none to give).
fn jitter_fraction() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::getrandom(&mut b) {
        Ok(()) => f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.0,
    }
}

/// The JSON of a lock file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockFile {
    /// When it was made (or refreshed).
    pub time: DateTime<FixedOffset>,
    /// Exclusive or shared.
    pub exclusive: bool,
    /// Host of the holder.
    #[serde(default)]
    pub hostname: String,
    /// User of the holder.
    #[serde(default)]
    pub username: String,
    /// Process id of the holder.
    #[serde(default)]
    pub pid: i64,
    /// Uid of the holder.
    #[serde(default)]
    pub uid: u32,
    /// Gid of the holder.
    #[serde(default)]
    pub gid: u32,
}

impl LockFile {
    /// Whether the lock no longer protects anything.
    pub fn is_stale(&self, now: DateTime<Utc>, this_host: &str) -> bool {
        let age = now.signed_duration_since(self.time.with_timezone(&Utc));
        if age.to_std().is_ok_and(|a| a > STALE_AFTER) {
            return true;
        }
        if self.hostname == this_host && !self.hostname.is_empty() {
            return !process_alive(self.pid);
        }
        false
    }

    pub(crate) fn describe(&self, id: &Id) -> String {
        format!(
            "{} lock {} held by PID {} on host `{}` (user `{}`) since {}",
            if self.exclusive {
                "an exclusive"
            } else {
                "a shared"
            },
            id.short(),
            self.pid,
            self.hostname,
            self.username,
            self.time.to_rfc3339()
        )
    }
}

fn process_alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        // No portable safe probe: assume alive; the 30-minute rule still applies.
        true
    }
}

/// Where an operation started by [`Repository::locked_early`] stands with its lock.
#[derive(Debug, Clone)]
enum GateState {
    Pending,
    Open,
    Refused(String),
}

/// Stores of an operation that began before its lock was confirmed wait here
/// ([`Repository::locked_early`]). Cheap to clone; once open, [`WriteGate::wait`] returns at
/// once.
#[derive(Debug, Clone)]
pub(crate) struct WriteGate(tokio::sync::watch::Receiver<GateState>);

impl WriteGate {
    /// A gate that is open from the start, for work that holds its lock already.
    pub(crate) fn open() -> WriteGate {
        let (tx, rx) = tokio::sync::watch::channel(GateState::Open);
        drop(tx);
        WriteGate(rx)
    }

    /// Waits until the lock is confirmed; an error if it was refused (or its taking was
    /// abandoned), in which case nothing may be stored.
    pub(crate) async fn wait(&self) -> Result<()> {
        let mut rx = self.0.clone();
        let state = match rx.wait_for(|s| !matches!(s, GateState::Pending)).await {
            Ok(s) => s.clone(),
            Err(_) => GateState::Refused("taking the repository lock was abandoned".into()),
        };
        let why = match state {
            GateState::Open => return Ok(()),
            GateState::Refused(why) => why,
            GateState::Pending => "still pending".into(),
        };
        Err(Error::Task(format!(
            "nothing was stored: the repository lock was not confirmed ({why})"
        )))
    }
}

/// A lock this process holds. Refreshed in the background; call [`Lock::release`] when done.
///
/// On a repository opened with [`Repository::with_no_lock`] a shared lock is a no-op guard:
/// nothing is written, refreshed or deleted.
#[derive(Debug)]
pub struct Lock {
    held: Option<Held>,
}

/// The lock file behind a [`Lock`] and its refresher.
#[derive(Debug)]
struct Held {
    state: Arc<Mutex<Id>>,
    refresher: tokio::task::JoinHandle<()>,
    repo: Arc<Repository>,
    released: bool,
}

impl Repository {
    fn new_lock_file(&self, exclusive: bool) -> LockFile {
        let who = super::host::Identity::current();
        LockFile {
            time: Utc::now().fixed_offset(),
            exclusive,
            hostname: who.hostname,
            username: who.username,
            pid: i64::from(std::process::id()),
            uid: who.uid,
            gid: who.gid,
        }
    }

    /// Lists the lock files and their content; unreadable ones are returned as errors.
    pub async fn list_locks(&self) -> Result<Vec<(Id, LockFile)>> {
        let mut out = Vec::new();
        for (id, _) in self.backend.list(FileType::Lock).await? {
            // A lock may vanish between listing and reading.
            match self
                .load_unpacked_opt::<LockFile>(FileType::Lock, &id)
                .await?
            {
                Some(l) => out.push((id, l)),
                None => continue,
            }
        }
        Ok(out)
    }

    async fn conflicting_lock(&self, exclusive: bool, own: Option<&Id>) -> Result<Option<String>> {
        let host = super::host::Identity::current().hostname;
        let now = Utc::now();
        for (id, l) in self.list_locks().await? {
            if Some(&id) == own || l.is_stale(now, &host) {
                continue;
            }
            if exclusive || l.exclusive {
                return Ok(Some(l.describe(&id)));
            }
        }
        Ok(None)
    }

    /// One attempt: writes a lock file unless a live conflicting lock exists.
    async fn try_lock(&self, exclusive: bool) -> Result<Id> {
        if let Some(holder) = self.conflicting_lock(exclusive, None).await? {
            return Err(Error::Locked { holder });
        }
        let id = self
            .save_unpacked(FileType::Lock, &self.new_lock_file(exclusive))
            .await?;
        // Two processes may have passed the first check at once: look again after a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(holder) = self.conflicting_lock(exclusive, Some(&id)).await? {
            self.backend.delete(FileType::Lock, &id).await?;
            return Err(Error::Locked { holder });
        }
        Ok(id)
    }

    /// Like [`Repository::locked`], but `work` starts while the lock is being taken: taking
    /// one waits 200 ms after writing the lock file (and longer while a conflicting lock is
    /// held), time in which `work` can read, chunk and compress. Everything `work` stores
    /// must first pass `gate` ([`WriteGate::wait`]), which opens once the lock is confirmed;
    /// if the lock is refused, `work` is dropped without having written anything.
    pub(crate) async fn locked_early<T, F, Fut>(
        self: &Arc<Self>,
        exclusive: bool,
        work: F,
    ) -> Result<T>
    where
        F: FnOnce(WriteGate) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let (open, gate) = tokio::sync::watch::channel(GateState::Pending);
        let work = work(WriteGate(gate));
        let locking = async {
            let lock = self.lock(exclusive).await;
            let state = match &lock {
                Ok(_) => GateState::Open,
                Err(e) => GateState::Refused(e.to_string()),
            };
            // No receiver left only means `work` has already ended.
            let _ = open.send(state);
            lock
        };
        futures::pin_mut!(work, locking);
        match futures::future::select(locking, work).await {
            futures::future::Either::Left((lock, work)) => {
                // Refused: `work` is dropped here, having stored nothing.
                let lock = lock?;
                let res = work.await;
                lock.release().await?;
                res
            }
            futures::future::Either::Right((res, locking)) => {
                // `work` ended before the lock was confirmed, so it stored nothing (an early
                // error, most likely): let the lock settle, then release it.
                match locking.await {
                    Ok(lock) => {
                        lock.release().await?;
                        res
                    }
                    // The work's own error says more than the lock's.
                    Err(e) => res.and(Err(e)),
                }
            }
        }
    }

    /// Runs `work` holding a lock (see [`Repository::lock`]), and releases the lock however
    /// `work` ends.
    pub(crate) async fn locked<T>(
        self: &Arc<Self>,
        exclusive: bool,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let lock = self.lock(exclusive).await?;
        let res = work.await;
        lock.release().await?;
        res
    }

    /// Takes a lock. While a live conflicting lock exists it retries for up to the
    /// repository's lock wait ([`Repository::with_lock_wait`], zero by default), then fails
    /// with [`Error::Locked`] naming the holder.
    ///
    /// With [`Repository::with_no_lock`], a shared lock writes nothing and returns a no-op
    /// guard, and an exclusive lock is refused with [`Error::InvalidInput`] (`no-lock`):
    /// removing data without telling concurrent readers and writers is never safe.
    pub async fn lock(self: &Arc<Self>, exclusive: bool) -> Result<Lock> {
        if self.no_lock {
            if exclusive {
                return Err(Error::InvalidInput {
                    field: "no-lock",
                    value: "set".into(),
                    rule: "this operation removes data and needs an exclusive lock; run it without --no-lock, with write access to the repository".into(),
                });
            }
            tracing::debug!("repository opened without locking: no lock written");
            return Ok(Lock { held: None });
        }
        let started = tokio::time::Instant::now();
        let mut backoff = LOCK_RETRY_FIRST;
        let id = loop {
            match self.try_lock(exclusive).await {
                Ok(id) => break id,
                Err(Error::Locked { holder }) => {
                    let waited = started.elapsed();
                    // Jitter so two waiters that collided do not collide again.
                    let pause = backoff + backoff.mul_f64(jitter_fraction() / 2.0);
                    if waited + pause > self.lock_wait {
                        return Err(Error::Locked { holder });
                    }
                    tracing::info!(
                        %holder,
                        exclusive,
                        waited_secs = waited.as_secs(),
                        "repository is locked; waiting"
                    );
                    tokio::time::sleep(pause).await;
                    backoff = (backoff * 2).min(LOCK_RETRY_MAX);
                }
                Err(e) => return Err(e),
            }
        };
        let state = Arc::new(Mutex::new(id));
        let refresher = {
            let repo = Arc::clone(self);
            let state = Arc::clone(&state);
            let every = self.lock_refresh;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let mut cur = state.lock().await;
                    match repo
                        .save_unpacked(FileType::Lock, &repo.new_lock_file(exclusive))
                        .await
                    {
                        Ok(new) => {
                            let _ = repo.backend.delete(FileType::Lock, &cur).await;
                            *cur = new;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "refreshing the repository lock failed")
                        }
                    }
                }
            })
        };
        tracing::debug!(lock = %id.short(), exclusive, "repository locked");
        Ok(Lock {
            held: Some(Held {
                state,
                refresher,
                repo: Arc::clone(self),
                released: false,
            }),
        })
    }

    /// Removes stale locks (or all locks with `all`); returns the removed lock ids.
    pub async fn unlock(&self, all: bool) -> Result<Vec<Id>> {
        let host = super::host::Identity::current().hostname;
        let now = Utc::now();
        let mut removed = Vec::new();
        for (id, l) in self.list_locks().await? {
            if all || l.is_stale(now, &host) {
                self.backend.delete(FileType::Lock, &id).await?;
                removed.push(id);
            }
        }
        Ok(removed)
    }
}

impl Lock {
    /// Stops refreshing and deletes the lock file.
    pub async fn release(mut self) -> Result<()> {
        let Some(held) = self.held.as_mut() else {
            return Ok(());
        };
        held.released = true;
        held.refresher.abort();
        let id = *held.state.lock().await;
        held.repo.backend.delete(FileType::Lock, &id).await
    }

    /// Whether a lock file was written (false for the no-op guard of
    /// [`Repository::with_no_lock`]).
    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.refresher.abort();
        if self.released {
            return;
        }
        // Dropped on an error path: remove the lock file in the background, best effort (a
        // lock left behind by a process that has exited is stale anyway).
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let repo = Arc::clone(&self.repo);
            let state = Arc::clone(&self.state);
            handle.spawn(async move {
                let id = *state.lock().await;
                let _ = repo.backend.delete(FileType::Lock, &id).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(age_secs: i64, host: &str, pid: i64) -> LockFile {
        LockFile {
            time: (Utc::now() - chrono::Duration::seconds(age_secs)).fixed_offset(),
            exclusive: false,
            hostname: host.into(),
            username: "u".into(),
            pid,
            uid: 0,
            gid: 0,
        }
    }

    #[test]
    fn staleness_follows_restic() {
        let me = i64::from(std::process::id());
        let now = Utc::now();
        assert!(!lock(10, "here", me).is_stale(now, "here"));
        assert!(lock(31 * 60, "here", me).is_stale(now, "here"));
        // Same host, dead pid.
        assert!(lock(10, "here", i64::from(i32::MAX)).is_stale(now, "here"));
        // Another host: only age counts.
        assert!(!lock(10, "elsewhere", i64::from(i32::MAX)).is_stale(now, "here"));
    }
}
