//! When a job runs: cron fire times plus jitter, what happens on overlap, and retry backoff.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cron::CronSchedule;

/// What happens when a job's next fire time comes while its previous run (with its retries,
/// retention and drill) is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Overlap {
    /// Drop the fire time (counted in `thinledger_backup_job_skipped_total`); the next run is
    /// the next fire time after the running one ends. Never two runs of one job at once.
    #[default]
    Skip,
    /// Run once more as soon as the running one ends (several missed fire times coalesce into
    /// one run; the others are counted as skipped). Never two runs of one job at once.
    Wait,
}

impl Overlap {
    /// The name used in the schedule file.
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Wait => "wait",
        }
    }
}

/// Exponential backoff between attempts of a failed backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts after the first (0: no retries).
    pub retries: u32,
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            initial_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// Sets [`RetryPolicy::retries`].
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Sets [`RetryPolicy::initial_backoff`].
    pub fn with_initial_backoff(mut self, wait: Duration) -> Self {
        self.initial_backoff = wait;
        self
    }

    /// Sets [`RetryPolicy::max_backoff`].
    pub fn with_max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// The wait before retry number `retry` (1 for the first retry): `initial × 2^(retry-1)`,
    /// capped at `max_backoff`. No random part: one job's retries do not stampede anything.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// Everything about when one job runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobTiming {
    /// Fire times.
    pub cron: CronSchedule,
    /// Each run starts a uniformly random delay in `[0, jitter]` after its fire time, so many
    /// jobs (or tenants) on one schedule do not hit a store at the same second.
    pub jitter: Duration,
    /// Overlap policy.
    pub overlap: Overlap,
    /// Retries of the backup step.
    pub retry: RetryPolicy,
    /// Time allowed for one attempt of the backup step (`None`: unlimited).
    pub attempt_timeout: Option<Duration>,
    /// Run the restore drill after every `drill_every`-th successful backup (0: never).
    pub drill_every: u32,
}

impl JobTiming {
    /// Timing for `cron` with no jitter, skip on overlap, default retries, no timeout and a
    /// drill after every success.
    pub fn new(cron: CronSchedule) -> Self {
        JobTiming {
            cron,
            jitter: Duration::ZERO,
            overlap: Overlap::Skip,
            retry: RetryPolicy::default(),
            attempt_timeout: None,
            drill_every: 1,
        }
    }
}

/// A small random source for jitter (SplitMix64): seeded from the operating system, or fixed
/// for reproducible tests.
#[derive(Debug, Clone)]
pub struct JitterSource(u64);

impl JitterSource {
    /// Seeded from the operating system's random source (falls back to the clock).
    pub fn from_os() -> Self {
        let mut seed = [0u8; 8];
        if getrandom::getrandom(&mut seed).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            seed = nanos.to_le_bytes();
        }
        JitterSource(u64::from_le_bytes(seed))
    }

    /// A fixed seed.
    pub fn seeded(seed: u64) -> Self {
        JitterSource(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A delay uniformly in `[0, max]`, in whole milliseconds.
    pub fn delay(&mut self, max: Duration) -> Duration {
        let ms = max.as_millis().min(u128::from(u64::MAX)) as u64;
        if ms == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(self.next_u64() % (ms + 1))
    }
}

/// A duration written as text in the schedule file: `90s`, `5m`, `2h`, `1h30m`, `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct DurationText(pub Duration);

impl FromStr for DurationText {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.is_empty() {
            return Err("empty duration".to_owned());
        }
        if text == "0" {
            return Ok(DurationText(Duration::ZERO));
        }
        let mut total: u64 = 0;
        let mut number = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(format!("unknown unit `{c}`")),
            };
            let n: u64 = number
                .parse()
                .map_err(|_| format!("a number must come before `{c}`"))?;
            number.clear();
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| "too long".to_owned())?;
        }
        if !number.is_empty() {
            return Err(format!("`{number}` has no unit"));
        }
        Ok(DurationText(Duration::from_secs(total)))
    }
}

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.0.as_secs();
        if s == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if s >= size {
                write!(f, "{}{unit}", s / size)?;
                s %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for DurationText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|e| {
            serde::de::Error::custom(format!(
                "duration {text:?}: {e}; write it like 90s, 5m, 2h or 1h30m"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("90s", 90)]
    #[case("5m", 300)]
    #[case("1h30m", 5400)]
    #[case("1d", 86_400)]
    #[case("0", 0)]
    fn durations_parse(#[case] text: &str, #[case] secs: u64) {
        let d: DurationText = text.parse().unwrap();
        assert_eq!(d.0, Duration::from_secs(secs));
        let again: DurationText = d.to_string().parse().unwrap();
        assert_eq!(again, d);
    }

    #[rstest]
    #[case("", "empty")]
    #[case("5", "no unit")]
    #[case("5x", "unknown unit")]
    #[case("m", "number must come before")]
    fn bad_durations_explain(#[case] text: &str, #[case] want: &str) {
        let err = text.parse::<DurationText>().unwrap_err();
        assert!(err.contains(want), "{err}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            retries: 10,
            initial_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(300),
        };
        let waits: Vec<u64> = (1..=6).map(|r| p.backoff(r).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 300, 300]);
        assert_eq!(p.backoff(200), Duration::from_secs(300));
    }

    #[test]
    fn jitter_stays_in_bounds_and_spreads() {
        let mut j = JitterSource::seeded(7);
        let max = Duration::from_secs(60);
        let samples: Vec<Duration> = (0..2000).map(|_| j.delay(max)).collect();
        assert!(samples.iter().all(|d| *d <= max));
        // Spread over the range, not stuck at one end.
        assert!(samples.iter().any(|d| *d < Duration::from_secs(6)));
        assert!(samples.iter().any(|d| *d > Duration::from_secs(54)));
        assert_eq!(
            JitterSource::seeded(1).delay(Duration::ZERO),
            Duration::ZERO
        );
    }
}
