//! Asynchronous pushing through a spool directory (documented in the parent module).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::catalog::Catalog;
use super::name::WalFileName;
use super::push::{
    Classified, CommittedBatch, PushOptions, PushOutcome, PushResult, classify, identity_of,
    sha256_file, stage,
};
use super::writer;
use crate::error::{PitrError, PitrResult};
use thinledger_repository::Repository;

/// Knobs of asynchronous pushing. The spool directory itself is an argument of
/// [`push_async`] and [`run_worker`]: it has no default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AsyncPushOptions {
    /// How long `wal push --async` waits for the worker's answer before failing (PostgreSQL
    /// then retries). Default 60 s.
    pub timeout: Duration,
    /// Most files per batch snapshot. Default 64.
    pub max_batch: usize,
    /// A worker with nothing to do for this long exits. Default 5 s.
    pub idle_exit: Duration,
}

impl Default for AsyncPushOptions {
    fn default() -> Self {
        AsyncPushOptions {
            timeout: Duration::from_secs(60),
            max_batch: 64,
            idle_exit: Duration::from_secs(5),
        }
    }
}

impl AsyncPushOptions {
    /// Sets [`AsyncPushOptions::timeout`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`AsyncPushOptions::max_batch`].
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch;
        self
    }

    /// Sets [`AsyncPushOptions::idle_exit`].
    pub fn with_idle_exit(mut self, idle_exit: Duration) -> Self {
        self.idle_exit = idle_exit;
        self
    }
}

/// The spool directory's layout: `out/` (answers), `in/` (requests), `worker.pid`.
#[derive(Debug, Clone, Copy)]
struct Spool<'a>(&'a Path);

impl Spool<'_> {
    fn out_dir(self) -> PathBuf {
        self.0.join("out")
    }

    fn in_dir(self) -> PathBuf {
        self.0.join("in")
    }

    fn pid_file(self) -> PathBuf {
        self.0.join("worker.pid")
    }

    /// Whether a worker process holds the spool.
    fn worker_running(self) -> bool {
        std::fs::read_to_string(self.pid_file())
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .is_some_and(pid_alive)
    }
}

fn valid_name(path: &Path) -> PitrResult<WalFileName> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    super::name::parse_input(&name, "WAL file path", &path.display().to_string())
}

fn pid_alive(pid: u32) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

async fn write_status(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    tokio::fs::write(&tmp, text).await?;
    tokio::fs::rename(&tmp, path).await
}

/// The archive_command side of asynchronous pushing: waits until the worker of the `spool`
/// directory (local, writable by the PostgreSQL user; one per cluster) has stored `path`
/// (starting one with `start_worker` when none runs). Returns only once the file is durably in
/// the repository.
pub async fn push_async(
    path: &Path,
    spool: &Path,
    opts: &AsyncPushOptions,
    start_worker: &(dyn Fn() -> std::io::Result<()> + Sync),
) -> PitrResult<()> {
    let name = valid_name(path)?;
    let spool = Spool(spool);
    let out = spool.out_dir();
    tokio::fs::create_dir_all(&out)
        .await
        .map_err(|e| PitrError::io("creating the spool", &out, e))?;
    // Who the file is now; the acknowledgement names who the worker read.
    let identity = identity_of(path).await?;
    // Ask for this file explicitly: the worker otherwise only sees `.ready` files.
    let request = Request::make(&spool.in_dir(), &name.to_string()).await?;
    let ok = out.join(format!("{name}.ok"));
    let err = out.join(format!("{name}.error"));
    let deadline = Instant::now() + opts.timeout;
    let mut last_start: Option<Instant> = None;
    let mut pause = Duration::from_millis(5);
    loop {
        match tokio::fs::read_to_string(&ok).await {
            Ok(s) if acknowledges(&s, path, &identity).await => {
                // The request first: a worker seeing it without the `.ok` would push again.
                drop(request);
                let _ = tokio::fs::remove_file(&ok).await;
                return Ok(());
            }
            // A stale acknowledgement for other content: drop it, let the worker decide again.
            Ok(_) => {
                let _ = tokio::fs::remove_file(&ok).await;
            }
            Err(_) => {}
        }
        if let Ok(msg) = tokio::fs::read_to_string(&err).await {
            drop(request);
            let _ = tokio::fs::remove_file(&err).await;
            return Err(PitrError::Async {
                name: name.to_string(),
                detail: msg.trim().to_string(),
            });
        }
        if Instant::now() >= deadline {
            return Err(PitrError::Async {
                name: name.to_string(),
                detail: format!(
                    "no answer from the worker within {} s (see {}/worker.log); PostgreSQL will retry",
                    opts.timeout.as_secs(),
                    spool.0.display()
                ),
            });
        }
        if !spool.worker_running()
            && last_start.is_none_or(|t| t.elapsed() > Duration::from_secs(2))
        {
            start_worker().map_err(|e| PitrError::Async {
                name: name.to_string(),
                detail: format!("cannot start the worker: {e}"),
            })?;
            last_start = Some(Instant::now());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// A push's request for its file (`SPOOL/in/NAME`), removed when the push returns.
struct Request(PathBuf);

impl Request {
    async fn make(dir: &Path, name: &str) -> PitrResult<Request> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| PitrError::io("creating the spool", dir, e))?;
        let path = dir.join(name);
        tokio::fs::write(&path, b"")
            .await
            .map_err(|e| PitrError::io("writing the push request", &path, e))?;
        Ok(Request(path))
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Whether an acknowledgement (`SHA256 IDENTITY`, or `SHA256` from older workers) is for the
/// file at `path`, whose identity is `identity`: the same identity means the worker read this
/// very file unchanged; without one, the file is hashed.
async fn acknowledges(text: &str, path: &Path, identity: &str) -> bool {
    let mut words = text.split_whitespace();
    let (Some(sha), acked) = (words.next(), words.next()) else {
        return false;
    };
    match acked {
        Some(acked) => acked == identity,
        None => sha256_file(path).await.is_ok_and(|s| s == sha),
    }
}

/// What a worker did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerSummary {
    /// Batches written.
    pub batches: u64,
    /// Files stored.
    pub stored: u64,
    /// Files already archived identically.
    pub already_archived: u64,
    /// Files that failed (reported in `.error` files).
    pub failed: u64,
    /// Another worker held the spool; this one did nothing.
    pub already_running: bool,
}

struct PidFile(PathBuf);

impl Drop for PidFile {
    fn drop(&mut self) {
        let mine = std::fs::read_to_string(&self.0)
            .ok()
            .is_some_and(|s| s.trim() == std::process::id().to_string());
        if mine {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn claim_spool(spool: Spool<'_>) -> PitrResult<Option<PidFile>> {
    let path = spool.pid_file();
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                use std::io::Write;
                write!(f, "{}", std::process::id())
                    .map_err(|e| PitrError::io("writing", &path, e))?;
                return Ok(Some(PidFile(path)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if spool.worker_running() {
                    return Ok(None);
                }
                // Left by a worker that died: take it over.
                let _ = std::fs::remove_file(&path);
            }
            Err(e) => return Err(PitrError::io("creating", &path, e)),
        }
    }
    Ok(None)
}

/// Names PostgreSQL is waiting to archive (`archive_status/*.ready`) and names pushes asked
/// for (`SPOOL/in/*`, when the file is in `wal_dir`) that have no answer yet and are not in
/// `busy` (a batch being stored).
async fn pending(
    wal_dir: &Path,
    requests: &Path,
    out: &Path,
    max: usize,
    busy: &HashSet<String>,
) -> Vec<PathBuf> {
    let mut names = std::collections::BTreeSet::new();
    let status = wal_dir.join("archive_status");
    for (dir, suffix) in [(status.as_path(), ".ready"), (requests, "")] {
        let Ok(mut rd) = tokio::fs::read_dir(dir).await else {
            continue;
        };
        while let Ok(Some(e)) = rd.next_entry().await {
            let f = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = f.strip_suffix(suffix)
                && n.parse::<WalFileName>().is_ok()
                && !busy.contains(n)
                && !out.join(format!("{n}.ok")).exists()
                && !out.join(format!("{n}.error")).exists()
                && (!suffix.is_empty() || wal_dir.join(n).exists())
            {
                names.insert(n.to_string());
            }
        }
    }
    // History files first (a new timeline's segments need them), then in WAL order.
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort_by_key(|n| (!n.ends_with(".history"), n.clone()));
    names.truncate(max.max(1));
    names.into_iter().map(|n| wal_dir.join(n)).collect()
}

/// The worker of the `spool` directory: pushes every pending file of `wal_dir` in batches
/// until idle. Returns at once (with `already_running`) if another worker holds the spool.
///
/// Batches overlap: while one batch's packs, index and snapshot are being stored, the next
/// batch is already read and encoded, so the CPU does not idle at every batch boundary. A
/// file is still acknowledged only after the snapshot naming it is stored.
pub async fn run_worker(
    repo: &Arc<Repository>,
    catalog: &mut Catalog,
    wal_dir: &Path,
    spool: &Path,
    opts: &AsyncPushOptions,
    push: &PushOptions,
) -> PitrResult<WorkerSummary> {
    let spool = Spool(spool);
    let out = spool.out_dir();
    tokio::fs::create_dir_all(&out)
        .await
        .map_err(|e| PitrError::io("creating the spool", &out, e))?;
    let mut summary = WorkerSummary::default();
    let Some(_pid) = claim_spool(spool)? else {
        summary.already_running = true;
        return Ok(summary);
    };
    // One shared lock for the worker's life (refreshed in the background), not one per
    // batch: taking a lock costs a listing, a write and a deliberate pause, which the first
    // batch's reading overlaps (nothing is committed before the lock is held).
    let lock = tokio::spawn({
        let repo = Arc::clone(repo);
        async move { repo.lock(false).await }
    });
    let requests = spool.in_dir();
    let mut worker = Worker {
        repo,
        out: &out,
        requests: &requests,
        summary: &mut summary,
        lock: LockState::Taking(lock),
    };
    let res = worker.work(catalog, wal_dir, opts, push).await;
    let lock = std::mem::replace(&mut worker.lock, LockState::Released);
    let released = match lock {
        LockState::Held(l) => l.release().await.map_err(PitrError::from),
        LockState::Taking(h) => {
            h.abort();
            Ok(())
        }
        LockState::Released => Ok(()),
    };
    res?;
    released?;
    Ok(summary)
}

enum LockState {
    Taking(tokio::task::JoinHandle<thinledger_repository::Result<thinledger_repository::Lock>>),
    Held(thinledger_repository::Lock),
    Released,
}

/// A batch being committed in the background, and its names.
struct Committing {
    names: HashSet<String>,
    paths: Vec<PathBuf>,
    task: tokio::task::JoinHandle<PitrResult<CommittedBatch>>,
}

struct Worker<'a> {
    repo: &'a Arc<Repository>,
    out: &'a Path,
    requests: &'a Path,
    summary: &'a mut WorkerSummary,
    lock: LockState,
}

impl Worker<'_> {
    async fn work(
        &mut self,
        catalog: &mut Catalog,
        wal_dir: &Path,
        opts: &AsyncPushOptions,
        push: &PushOptions,
    ) -> PitrResult<()> {
        // Whole-segment buffers in flight: being read, queued, being encoded — for two
        // batches at once.
        let buffers = writer::file_buffers(push.read_concurrency + 2 * push.saver.encode_slots + 2);
        let mut committing: Option<Committing> = None;
        let none = HashSet::new();
        let mut idle_since = Instant::now();
        loop {
            let busy = committing.as_ref().map_or(&none, |c| &c.names);
            let batch = pending(wal_dir, self.requests, self.out, opts.max_batch, busy).await;
            if batch.is_empty() {
                if let Some(c) = committing.take() {
                    self.finish(c, catalog).await;
                    catalog.persist(self.repo).await;
                    idle_since = Instant::now();
                    continue;
                }
                if idle_since.elapsed() >= opts.idle_exit {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            let staged = async {
                catalog.refresh(self.repo).await?;
                let Classified { results, to_store } = classify(catalog, &batch).await;
                self.report(results).await;
                if to_store.is_empty() {
                    return Ok(None);
                }
                stage(
                    self.repo,
                    catalog.cluster(),
                    to_store,
                    push,
                    Arc::clone(&buffers),
                )
                .await
                .map(Some)
            }
            .await;
            // The previous batch was committed while this one was read: report it first.
            if let Some(c) = committing.take() {
                self.finish(c, catalog).await;
            }
            match staged {
                Ok(Some(staged)) => match self.hold_lock().await {
                    Ok(()) => {
                        committing = Some(Committing {
                            names: batch.iter().filter_map(|p| file_name(p)).collect(),
                            paths: batch,
                            task: tokio::spawn(staged.commit()),
                        });
                    }
                    Err(e) => {
                        self.fail_all(&batch, &e).await;
                        return Err(e);
                    }
                },
                // Every file was answered from the catalog.
                Ok(None) => self.summary.batches += 1,
                Err(e) => self.batch_failed(&batch, &e).await,
            }
            catalog.persist(self.repo).await;
            idle_since = Instant::now();
        }
        Ok(())
    }

    /// Waits for the lock taken at the start (once).
    async fn hold_lock(&mut self) -> PitrResult<()> {
        let state = std::mem::replace(&mut self.lock, LockState::Released);
        self.lock = match state {
            LockState::Taking(h) => {
                let lock = h.await.map_err(|e| {
                    PitrError::Engine(thinledger_repository::Error::Task(e.to_string()))
                })??;
                LockState::Held(lock)
            }
            other => other,
        };
        Ok(())
    }

    /// Waits for a committing batch, records it in the catalog and answers its files.
    async fn finish(&mut self, c: Committing, catalog: &mut Catalog) {
        let done = c
            .task
            .await
            .map_err(|e| PitrError::Engine(thinledger_repository::Error::Task(e.to_string())))
            .and_then(|r| r);
        match done {
            Ok(batch) => {
                self.summary.batches += 1;
                let results = batch.record(catalog);
                self.report(results).await;
            }
            Err(e) => self.batch_failed(&c.paths, &e).await,
        }
    }

    /// Writes each file's answer (`.ok` with SHA-256 and identity, or `.error`).
    async fn report(&mut self, results: Vec<PushResult>) {
        for r in results {
            let (file, text) = match (&r.outcome, &r.sha256) {
                (Ok(o), Some(sha)) => {
                    match o {
                        PushOutcome::Stored => self.summary.stored += 1,
                        PushOutcome::AlreadyArchived => self.summary.already_archived += 1,
                    }
                    let text = match &r.identity {
                        Some(id) => format!("{sha} {id}"),
                        None => sha.clone(),
                    };
                    (self.out.join(format!("{}.ok", r.name)), text)
                }
                (Ok(_), None) => continue,
                (Err(e), _) => {
                    self.summary.failed += 1;
                    (self.out.join(format!("{}.error", r.name)), e.to_string())
                }
            };
            if let Err(e) = write_status(&file, &text).await {
                tracing::warn!(path = %file.display(), error = %e, "cannot write status");
            }
        }
    }

    /// The repository failed a batch: tell the waiting pushes, pause, go on.
    async fn batch_failed(&mut self, batch: &[PathBuf], e: &PitrError) {
        tracing::warn!(error = %e, "batch failed");
        self.fail_all(batch, e).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    async fn fail_all(&mut self, batch: &[PathBuf], e: &PitrError) {
        for p in batch {
            if let Some(n) = file_name(p) {
                let f = self.out.join(format!("{n}.error"));
                let _ = write_status(&f, &e.to_string()).await;
            }
            self.summary.failed += 1;
        }
    }
}

fn file_name(p: &Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}
