//! Cron expressions evaluated in a time zone.
//!
//! Five fields (minute, hour, day of month, month, day of week) or a `@hourly`-style
//! nickname: the subset Kubernetes CronJobs accept, so the daemon and the rendered CronJobs
//! read an expression the same way. Seconds, years and the `L`/`W`/`#` extensions are refused.
//!
//! Evaluation uses `croner` over `chrono-tz` (the IANA database). Daylight-saving changes
//! follow croner's rules: a fixed-time job (e.g. `30 2 * * *`) whose wall-clock time falls in a
//! spring-forward gap runs at the first instant after the gap; in a fall-back overlap it runs
//! once, at the earlier instant. Interval jobs (`*/15 * * * *`) run on every real instant that
//! matches, including both passes through a repeated hour.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::error::ScheduleError;

/// A parsed cron expression and the time zone it is read in.
#[derive(Clone)]
pub struct CronSchedule {
    expression: String,
    zone: Tz,
    cron: Cron,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CronSchedule")
            .field("expression", &self.expression)
            .field("zone", &self.zone.name())
            .finish()
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.zone == other.zone
    }
}

impl CronSchedule {
    /// Parses `expression` (five fields or a nickname) in the IANA zone `zone`
    /// (e.g. `Europe/Zurich`, `UTC`). `field` names the input in errors (e.g. `jobs[0].schedule`).
    pub fn parse(field: &str, expression: &str, zone: &str) -> Result<Self, ScheduleError> {
        let zone_field = field
            .strip_suffix("schedule")
            .map_or_else(|| "time_zone".to_owned(), |p| format!("{p}time_zone"));
        let tz = Tz::from_str(zone.trim()).map_err(|_| {
            ScheduleError::invalid(
                &zone_field,
                zone,
                "not an IANA time zone name",
                "use a name such as UTC, Europe/Zurich or America/New_York",
            )
        })?;
        let text = expression.trim();
        let fields: Vec<String> = text
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        // `L`/`W` in day-of-month, `L` in day-of-week (no weekday name has an L) and `#`
        // anywhere are croner extensions Kubernetes does not read.
        let extension = text.contains('#')
            || fields
                .get(2)
                .is_some_and(|f| f.contains('L') || f.contains('W'))
            || fields.get(4).is_some_and(|f| f.contains('L'));
        if !text.starts_with('@') && extension {
            return Err(ScheduleError::invalid(
                field,
                expression,
                "the L, W and # extensions are not part of the cron syntax Kubernetes CronJobs read",
                "write the days out (e.g. `0 3 28-31 * *`), or use plain five-field cron",
            ));
        }
        if text.split_whitespace().count() > 5 {
            return Err(ScheduleError::invalid(
                field,
                expression,
                "has more than five fields; seconds and years are not supported (Kubernetes CronJobs read five fields)",
                "use `minute hour day-of-month month day-of-week`, e.g. `15 * * * *`",
            ));
        }
        if text.starts_with('@') && text.to_ascii_lowercase().starts_with("@every") {
            return Err(ScheduleError::invalid(
                field,
                expression,
                "@every intervals are not cron",
                "use a five-field expression such as `*/30 * * * *`",
            ));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(text).map_err(|e| {
            ScheduleError::invalid(
                field,
                expression,
                format!("not a valid cron expression ({e})"),
                "use `minute hour day-of-month month day-of-week`, e.g. `15 * * * *` for hourly at :15, or @hourly/@daily",
            )
        })?;
        let schedule = CronSchedule {
            expression: text.to_owned(),
            zone: tz,
            cron,
        };
        // An expression that never fires (e.g. 30 February) is a mistake, not a schedule.
        if schedule.next_after(Utc::now()).is_none() {
            return Err(ScheduleError::invalid(
                field,
                expression,
                "never fires",
                "check the day-of-month and month fields",
            ));
        }
        Ok(schedule)
    }

    /// The expression as written (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The IANA zone name.
    pub fn zone_name(&self) -> &'static str {
        self.zone.name()
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Fire times in `(after, until]`, at most `limit` of them.
    pub fn fires_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut t = after;
        while out.len() < limit {
            match self.next_after(t) {
                Some(next) if next <= until => {
                    out.push(next);
                    t = next;
                }
                _ => break,
            }
        }
        out
    }

    /// The shortest time between two consecutive fires over the next `samples` fires after
    /// `from` (what jitter must stay below).
    pub fn min_interval(&self, from: DateTime<Utc>, samples: usize) -> Option<chrono::Duration> {
        let mut prev = self.next_after(from)?;
        let mut min: Option<chrono::Duration> = None;
        for _ in 0..samples {
            let Some(next) = self.next_after(prev) else {
                break;
            };
            let gap = next - prev;
            min = Some(min.map_or(gap, |m| m.min(gap)));
            prev = next;
        }
        min
    }
}
