//! Forget: choose which snapshots a retention policy keeps (a pure plan), then delete the rest;
//! [`forget()`] does both and prunes afterwards if asked.
//!
//! Rules follow restic: snapshots are grouped by host and paths; within a group, newest
//! first, `keep-last N` keeps the N newest, and each `keep-<period> N` keeps the newest
//! snapshot of each of the N most recent periods (hour, day, ISO week, month, year) that have
//! one. A snapshot kept by any rule is kept. Periods use the time zone stored in the snapshot.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, Timelike};
use serde::Serialize;

use crate::commands::prune::{PruneOptions, PrunePlan, prune};
use crate::repo::Repository;
use crate::repo::backend::FileType;
use crate::repo::id::Id;
use crate::repo::retained::{Deletes, RetainedObject, retained};
use crate::repo::snapshot::SnapshotEntry;
use crate::{Error, Result};

/// How many snapshots each rule keeps (0 = rule off): `KeepPolicy::default()` (keeps
/// nothing by rule) and the `with_*` setters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KeepPolicy {
    /// The N newest.
    pub last: u32,
    /// One per hour, N hours.
    pub hourly: u32,
    /// One per day, N days.
    pub daily: u32,
    /// One per ISO week, N weeks.
    pub weekly: u32,
    /// One per month, N months.
    pub monthly: u32,
    /// One per year, N years.
    pub yearly: u32,
}

impl KeepPolicy {
    /// Whether no rule is set.
    pub fn is_empty(&self) -> bool {
        *self == KeepPolicy::default()
    }

    /// Sets `last`: the N newest.
    #[must_use]
    pub fn with_last(mut self, n: u32) -> Self {
        self.last = n;
        self
    }

    /// Sets `hourly`: one per hour, N hours.
    #[must_use]
    pub fn with_hourly(mut self, n: u32) -> Self {
        self.hourly = n;
        self
    }

    /// Sets `daily`: one per day, N days.
    #[must_use]
    pub fn with_daily(mut self, n: u32) -> Self {
        self.daily = n;
        self
    }

    /// Sets `weekly`: one per ISO week, N weeks.
    #[must_use]
    pub fn with_weekly(mut self, n: u32) -> Self {
        self.weekly = n;
        self
    }

    /// Sets `monthly`: one per month, N months.
    #[must_use]
    pub fn with_monthly(mut self, n: u32) -> Self {
        self.monthly = n;
        self
    }

    /// Sets `yearly`: one per year, N years.
    #[must_use]
    pub fn with_yearly(mut self, n: u32) -> Self {
        self.yearly = n;
        self
    }
}

/// One snapshot the plan keeps, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    /// The snapshot.
    #[serde(flatten)]
    pub snapshot: SnapshotEntry,
    /// The rules that keep it (`last`, `daily`, …).
    pub reasons: Vec<&'static str>,
}

/// The plan for one host + paths group.
#[derive(Debug, Clone, Serialize)]
pub struct ForgetGroup {
    /// Host.
    pub hostname: String,
    /// Paths.
    pub paths: Vec<String>,
    /// Kept, newest first.
    pub keep: Vec<Kept>,
    /// Removed, newest first.
    pub remove: Vec<SnapshotEntry>,
}

/// What `forget` will do.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ForgetPlan {
    /// The policy.
    pub policy: KeepPolicy,
    /// Per group.
    pub groups: Vec<ForgetGroup>,
}

impl ForgetPlan {
    /// Every snapshot to remove.
    pub fn to_remove(&self) -> impl Iterator<Item = &SnapshotEntry> {
        self.groups.iter().flat_map(|g| g.remove.iter())
    }
}

/// Applies `policy` to `snapshots`. Refuses an empty policy (it would remove everything).
pub fn plan_forget(snapshots: &[SnapshotEntry], policy: KeepPolicy) -> Result<ForgetPlan> {
    refuse_empty(policy)?;
    let mut groups: BTreeMap<(String, Vec<String>), Vec<SnapshotEntry>> = BTreeMap::new();
    for s in snapshots {
        let mut paths = s.snapshot.paths.clone();
        paths.sort();
        groups
            .entry((s.snapshot.hostname.clone(), paths))
            .or_default()
            .push(s.clone());
    }
    let mut out = Vec::new();
    for ((hostname, paths), mut list) in groups {
        list.sort_by(|a, b| b.snapshot.time.cmp(&a.snapshot.time).then(b.id.cmp(&a.id)));
        type Bucket = fn(&SnapshotEntry, usize) -> i64;
        let rules: [(&'static str, u32, Bucket); 6] = [
            ("last", policy.last, |_, i| i as i64),
            ("hourly", policy.hourly, |s, _| {
                let t = s.snapshot.time;
                i64::from(t.year()) * 1_000_000 + i64::from(t.ordinal()) * 100 + i64::from(t.hour())
            }),
            ("daily", policy.daily, |s, _| {
                let t = s.snapshot.time;
                i64::from(t.year()) * 1000 + i64::from(t.ordinal())
            }),
            ("weekly", policy.weekly, |s, _| {
                let w = s.snapshot.time.iso_week();
                i64::from(w.year()) * 100 + i64::from(w.week())
            }),
            ("monthly", policy.monthly, |s, _| {
                let t = s.snapshot.time;
                i64::from(t.year()) * 100 + i64::from(t.month())
            }),
            ("yearly", policy.yearly, |s, _| {
                i64::from(s.snapshot.time.year())
            }),
        ];
        let mut left: Vec<u32> = rules.iter().map(|r| r.1).collect();
        let mut last: Vec<Option<i64>> = vec![None; rules.len()];
        let mut keep = Vec::new();
        let mut remove = Vec::new();
        for (i, s) in list.into_iter().enumerate() {
            let mut reasons = Vec::new();
            for (r, (name, _, bucket)) in rules.iter().enumerate() {
                if left[r] == 0 {
                    continue;
                }
                let b = bucket(&s, i);
                if last[r] != Some(b) {
                    last[r] = Some(b);
                    left[r] -= 1;
                    reasons.push(*name);
                }
            }
            if reasons.is_empty() {
                remove.push(s);
            } else {
                keep.push(Kept {
                    snapshot: s,
                    reasons,
                });
            }
        }
        out.push(ForgetGroup {
            hostname,
            paths,
            keep,
            remove,
        });
    }
    Ok(ForgetPlan {
        policy,
        groups: out,
    })
}

/// An empty policy would remove every snapshot.
fn refuse_empty(policy: KeepPolicy) -> Result<()> {
    if policy.is_empty() {
        return Err(Error::InvalidInput {
            field: "policy",
            value: "no --keep-* rule".into(),
            rule: "give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly".into(),
        });
    }
    Ok(())
}

/// Deletes the snapshots a plan removes. Takes an exclusive lock. Returns how many.
///
/// On an immutable repository, snapshots still under retention stay (they are logged, and
/// [`forget()`] lists them in [`ForgetReport::retained`]); a later run after their date
/// removes them.
pub async fn apply_forget(repo: &Arc<Repository>, plan: &ForgetPlan) -> Result<usize> {
    let retained = retained_snapshots(repo, plan).await?;
    apply_forget_around(repo, plan, &retained).await
}

/// The snapshots among those `plan` removes that are still retained (none on a repository
/// without retention).
async fn retained_snapshots(
    repo: &Arc<Repository>,
    plan: &ForgetPlan,
) -> Result<Vec<RetainedObject>> {
    if plan.to_remove().next().is_none() {
        return Ok(Vec::new());
    }
    match repo.deletes("forget").await? {
        Deletes::Free => Ok(Vec::new()),
        Deletes::AroundRetention(lock) => {
            // Collected first: a borrowing iterator held across the awaits would make the
            // future not `Send` for every caller's lifetimes.
            let ids: Vec<Id> = plan.to_remove().map(|s| s.id).collect();
            retained(&lock, FileType::Snapshot, ids).await
        }
    }
}

async fn apply_forget_around(
    repo: &Arc<Repository>,
    plan: &ForgetPlan,
    retained: &[RetainedObject],
) -> Result<usize> {
    for r in retained {
        tracing::info!(snapshot = %r.id.short(), until = ?r.retained_until, "snapshot kept: under retention");
    }
    let lock = repo.lock(true).await?;
    let mut n = 0;
    let mut res = Ok(());
    for s in plan
        .to_remove()
        .filter(|s| !retained.iter().any(|r| r.id == s.id))
    {
        if let Err(e) = repo.delete_snapshot(&s.id).await {
            res = Err(e);
            break;
        }
        n += 1;
    }
    lock.release().await?;
    res.map(|()| n)
}

/// Knobs of [`forget()`]: `ForgetOptions::default()` and the `with_*` setters. The default
/// policy is empty, which `forget` refuses: set at least one rule.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ForgetOptions {
    /// Which snapshots are kept.
    pub policy: KeepPolicy,
    /// Plan only: remove nothing (and make the prune, if any, a dry run too).
    pub dry_run: bool,
    /// Prune afterwards with these options (restic's `forget --prune`).
    pub prune: Option<PruneOptions>,
}

impl ForgetOptions {
    /// Sets `policy`: which snapshots are kept.
    #[must_use]
    pub fn with_policy(mut self, policy: KeepPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets `dry_run`: plan only, for the prune too.
    #[must_use]
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sets `prune`: prune afterwards with these options.
    #[must_use]
    pub fn with_prune(mut self, prune: PruneOptions) -> Self {
        self.prune = Some(prune);
        self
    }
}

/// What [`forget()`] did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ForgetReport {
    /// Which snapshots the policy keeps and removes, per host and paths.
    pub plan: ForgetPlan,
    /// Nothing was removed.
    pub dry_run: bool,
    /// Snapshots removed (0 in a dry run).
    pub removed: usize,
    /// Immutable repositories: snapshots the policy removes that are still under retention,
    /// and stay until their date (a later forget removes them). Empty on other repositories.
    pub retained: Vec<RetainedObject>,
    /// The prune's plan, when one was asked for (applied unless a dry run).
    pub prune: Option<PrunePlan>,
}

/// Forgets snapshots by a policy, then prunes if asked: [`plan_forget`] over every snapshot,
/// [`apply_forget`] unless a dry run, then [`prune()`](crate::prune()) (a dry run too when this
/// is one). An empty policy is refused before anything is read.
pub async fn forget(repo: &Arc<Repository>, opts: &ForgetOptions) -> Result<ForgetReport> {
    // Before the listing, so a mistake costs nothing.
    refuse_empty(opts.policy)?;
    let snapshots = repo.snapshots().await?;
    let plan = plan_forget(&snapshots, opts.policy)?;
    let retained = match retained_snapshots(repo, &plan).await {
        Ok(r) => r,
        // A dry run plans even where deletes would be refused.
        Err(e @ Error::Retained { .. }) if opts.dry_run => {
            tracing::warn!("{e}");
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let removed = if opts.dry_run {
        0
    } else {
        apply_forget_around(repo, &plan, &retained).await?
    };
    let prune = match &opts.prune {
        Some(p) => {
            let p = p.clone().with_dry_run(p.dry_run || opts.dry_run);
            Some(prune(repo, &p).await?)
        }
        None => None,
    };
    Ok(ForgetReport {
        plan,
        dry_run: opts.dry_run,
        removed,
        retained,
        prune,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::id::Id;
    use crate::repo::snapshot::Snapshot;
    use rstest::rstest;

    fn snap(ts: &str, n: u8) -> SnapshotEntry {
        SnapshotEntry {
            id: Id::hash(&[n]),
            snapshot: Snapshot {
                time: chrono::DateTime::parse_from_rfc3339(ts).unwrap(),
                parent: None,
                tree: Id::hash(b"t"),
                paths: vec!["/data".into()],
                hostname: "h".into(),
                username: String::new(),
                uid: 0,
                gid: 0,
                excludes: vec![],
                tags: vec![],
                original: None,
                program_version: String::new(),
                extra: Default::default(),
            },
        }
    }

    fn history() -> Vec<SnapshotEntry> {
        // Two a day for six days (Mon 2026-01-05 .. Sat 2026-01-10), then one in February.
        let mut v = Vec::new();
        let mut n = 0;
        for day in 5..=10 {
            for hour in [9, 21] {
                v.push(snap(&format!("2026-01-{day:02}T{hour:02}:00:00Z"), n));
                n += 1;
            }
        }
        v.push(snap("2026-02-01T12:00:00Z", n));
        v
    }

    fn kept_times(plan: &ForgetPlan) -> Vec<String> {
        plan.groups[0]
            .keep
            .iter()
            .map(|k| k.snapshot.snapshot.time.format("%m-%d %H").to_string())
            .collect()
    }

    #[rstest]
    #[case::last_3(KeepPolicy { last: 3, ..Default::default() }, &["02-01 12", "01-10 21", "01-10 09"])]
    #[case::daily_3(KeepPolicy { daily: 3, ..Default::default() }, &["02-01 12", "01-10 21", "01-09 21"])]
    #[case::weekly_2(KeepPolicy { weekly: 2, ..Default::default() }, &["02-01 12", "01-10 21"])]
    #[case::monthly_5(KeepPolicy { monthly: 5, ..Default::default() }, &["02-01 12", "01-10 21"])]
    #[case::last_1_daily_2(KeepPolicy { last: 1, daily: 2, ..Default::default() }, &["02-01 12", "01-10 21"])]
    #[case::hourly_2(KeepPolicy { hourly: 2, ..Default::default() }, &["02-01 12", "01-10 21"])]
    fn keep_rules(#[case] policy: KeepPolicy, #[case] kept: &[&str]) {
        let plan = plan_forget(&history(), policy).unwrap();
        assert_eq!(kept_times(&plan), kept);
        assert_eq!(plan.groups[0].keep.len() + plan.groups[0].remove.len(), 13);
    }

    #[test]
    fn empty_policy_is_refused_and_groups_are_separate() {
        assert!(plan_forget(&history(), KeepPolicy::default()).is_err());
        let mut v = history();
        let mut other = snap("2026-01-01T00:00:00Z", 200);
        other.snapshot.hostname = "other".into();
        v.push(other);
        let plan = plan_forget(
            &v,
            KeepPolicy {
                last: 1,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(plan.groups.len(), 2);
        assert_eq!(plan.to_remove().count(), 12);
    }

    /// A repository in memory with three backups of one host and path, a day apart.
    async fn three_days() -> Arc<Repository> {
        use crate::repo::InitOptions;
        use crate::repo::key::{KdfParams, Password};
        use crate::{BackupOptions, backup_reader};

        let store = Arc::new(object_store::memory::InMemory::new());
        // Cheap key derivation: the test is about forget.
        let init = InitOptions::default().with_kdf(KdfParams {
            n: 1024,
            r: 8,
            p: 1,
        });
        let repo = Repository::init(store, "memory://", &Password::new("pw"), &init)
            .await
            .unwrap();
        let repo = Arc::new(repo);
        for day in 1..=3u8 {
            let time =
                chrono::DateTime::parse_from_rfc3339(&format!("2026-01-0{day}T12:00:00Z")).unwrap();
            let opts = BackupOptions::default()
                .with_hostname(Some("h".into()))
                .with_time(Some(time));
            // Different data each day, so each backup leaves its own pack.
            let data = std::io::Cursor::new(vec![day; 100_000]);
            backup_reader(&repo, data, "db.sql", &opts).await.unwrap();
        }
        repo
    }

    #[tokio::test]
    async fn forget_then_prune_is_one_call_and_a_dry_run_changes_nothing() {
        let repo = three_days().await;
        let keep_newest = ForgetOptions::default()
            .with_policy(KeepPolicy::default().with_last(1))
            .with_prune(PruneOptions::default());

        let planned = forget(&repo, &keep_newest.clone().with_dry_run(true))
            .await
            .unwrap();
        assert!(planned.dry_run);
        assert_eq!(planned.plan.to_remove().count(), 2);
        assert_eq!(planned.removed, 0);
        let prune_plan = planned.prune.expect("a prune plan");
        assert!(!prune_plan.applied, "the prune of a dry run is a dry run");
        assert_eq!(repo.snapshots().await.unwrap().len(), 3);

        let done = forget(&repo, &keep_newest).await.unwrap();
        assert_eq!(done.removed, 2);
        let kept = &done.plan.groups[0].keep;
        assert_eq!(kept.len(), 1);
        assert_eq!(
            kept[0].snapshot.snapshot.time.format("%d").to_string(),
            "03"
        );
        let pruned = done.prune.expect("a prune report");
        assert!(pruned.applied);
        assert!(
            !pruned.packs_to_delete.is_empty(),
            "the forgotten days' data is freed: {pruned:?}"
        );
        assert_eq!(repo.snapshots().await.unwrap().len(), 1);
        let report = crate::check(&repo, &crate::CheckOptions::default())
            .await
            .unwrap();
        assert!(report.is_ok(), "{report:?}");

        // An empty policy would remove everything: refused.
        let none = forget(&repo, &ForgetOptions::default()).await.unwrap_err();
        assert!(
            matches!(
                none,
                Error::InvalidInput {
                    field: "policy",
                    ..
                }
            ),
            "{none}"
        );
    }
}
