//! The names PostgreSQL gives the files it archives, and WAL positions.
//!
//! | kind | example | what it is |
//! |---|---|---|
//! | segment | `000000010000000A000000FE` | timeline, then the segment number split in two 32-bit halves |
//! | partial | `000000010000000A000000FE.partial` | the last, incomplete segment of a timeline left at promotion |
//! | history | `00000002.history` | how a timeline branched from its parent |
//! | backup label | `000000010000000A000000FE.00000028.backup` | a base backup's start and stop, written at `pg_backup_stop` |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{PitrError, PitrResult};

/// PostgreSQL's default WAL segment size (`--wal-segsize` at initdb).
pub(crate) const DEFAULT_SEGMENT_SIZE: u64 = 16 * 1024 * 1024;
/// Smallest WAL segment size PostgreSQL allows (`initdb --wal-segsize 1`).
pub(crate) const MIN_SEGMENT_SIZE: u64 = 1 << 20;
/// Largest WAL segment size PostgreSQL allows (`initdb --wal-segsize 1024`).
pub(crate) const MAX_SEGMENT_SIZE: u64 = 1 << 30;

/// A WAL position (`pg_lsn`), printed `HI/LO` in hex like PostgreSQL does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl FromStr for Lsn {
    type Err = String;
    fn from_str(s: &str) -> Result<Lsn, String> {
        let (hi, lo) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a WAL position like `0/3000028`"))?;
        let hi = u32::from_str_radix(hi, 16).map_err(|_| format!("`{s}`: bad high half"))?;
        let lo = u32::from_str_radix(lo, 16).map_err(|_| format!("`{s}`: bad low half"))?;
        Ok(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

impl Serialize for Lsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Lsn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Lsn, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Lsn {
    /// The segment number holding this position.
    pub fn segment(self, segment_size: u64) -> u64 {
        self.0 / segment_size.max(1)
    }
}

/// A timeline and segment number: the identity of a WAL segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId {
    /// Timeline.
    pub timeline: u32,
    /// Segment number (position / segment size).
    pub segno: u64,
}

impl SegmentId {
    /// The file name of this segment for a segment size.
    pub fn file_name(self, segment_size: u64) -> String {
        let per_log = segments_per_log(segment_size);
        format!(
            "{:08X}{:08X}{:08X}",
            self.timeline,
            self.segno / per_log,
            self.segno % per_log
        )
    }
}

/// Segments in one 4 GiB "log" (the middle eight hex digits of a segment name).
pub(crate) fn segments_per_log(segment_size: u64) -> u64 {
    (0x1_0000_0000 / segment_size.max(1)).max(1)
}

/// What kind of archived file a name is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WalFileKind {
    /// A complete segment.
    Segment {
        /// Timeline.
        timeline: u32,
        /// High half of the segment number (the "log").
        log: u32,
        /// Low part of the segment number.
        seg: u32,
    },
    /// An incomplete last segment of a timeline.
    Partial {
        /// Timeline.
        timeline: u32,
        /// The "log".
        log: u32,
        /// The segment within the log.
        seg: u32,
    },
    /// A timeline history file.
    History {
        /// The timeline it describes.
        timeline: u32,
    },
    /// A backup history file (`.backup`).
    BackupLabel {
        /// Timeline.
        timeline: u32,
    },
}

/// A validated archive file name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalFileName {
    name: String,
    kind: WalFileKind,
}

fn hex8(s: &str) -> Option<u32> {
    (s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(s, 16).ok())
        .flatten()
}

fn segment_parts(s: &str) -> Option<(u32, u32, u32)> {
    if s.len() != 24 {
        return None;
    }
    Some((hex8(&s[0..8])?, hex8(&s[8..16])?, hex8(&s[16..24])?))
}

/// Why a name is not one PostgreSQL archives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadWalName(pub String);

impl fmt::Display for BadWalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a WAL archive file name: expected a segment (24 hex digits), `SEGMENT.partial`, `TIMELINE.history` (8 hex digits) or `SEGMENT.OFFSET.backup`",
            self.0
        )
    }
}

impl std::error::Error for BadWalName {}

/// Parses `name`, or fails with [`PitrError::InvalidInput`] naming `field` and `value` (the
/// name as the user gave it: a file name, or a path ending in one).
pub(crate) fn parse_input(name: &str, field: &'static str, value: &str) -> PitrResult<WalFileName> {
    name.parse()
        .map_err(|e: BadWalName| PitrError::invalid(field, value.to_string(), e.to_string()))
}

impl FromStr for WalFileName {
    type Err = BadWalName;
    fn from_str(s: &str) -> Result<WalFileName, BadWalName> {
        let bad = || BadWalName(s.to_string());
        let kind = if let Some((t, l, g)) = segment_parts(s) {
            WalFileKind::Segment {
                timeline: t,
                log: l,
                seg: g,
            }
        } else if let Some(base) = s.strip_suffix(".partial") {
            let (t, l, g) = segment_parts(base).ok_or_else(bad)?;
            WalFileKind::Partial {
                timeline: t,
                log: l,
                seg: g,
            }
        } else if let Some(base) = s.strip_suffix(".history") {
            WalFileKind::History {
                timeline: hex8(base).ok_or_else(bad)?,
            }
        } else if let Some(base) = s.strip_suffix(".backup") {
            let (seg, off) = base.split_once('.').ok_or_else(bad)?;
            let (t, _, _) = segment_parts(seg).ok_or_else(bad)?;
            hex8(off).ok_or_else(bad)?;
            WalFileKind::BackupLabel { timeline: t }
        } else {
            return Err(bad());
        };
        Ok(WalFileName {
            name: s.to_string(),
            kind,
        })
    }
}

impl fmt::Display for WalFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl WalFileName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// What it is.
    pub fn kind(&self) -> &WalFileKind {
        &self.kind
    }

    /// The timeline it belongs to.
    pub fn timeline(&self) -> u32 {
        match self.kind {
            WalFileKind::Segment { timeline, .. }
            | WalFileKind::Partial { timeline, .. }
            | WalFileKind::History { timeline }
            | WalFileKind::BackupLabel { timeline } => timeline,
        }
    }

    /// For a complete segment, its identity (needs the segment size to number it).
    pub fn segment(&self, segment_size: u64) -> Option<SegmentId> {
        match self.kind {
            WalFileKind::Segment { timeline, log, seg } => Some(SegmentId {
                timeline,
                segno: u64::from(log) * segments_per_log(segment_size) + u64::from(seg),
            }),
            _ => None,
        }
    }

    /// Whether this is a complete segment.
    pub fn is_segment(&self) -> bool {
        matches!(self.kind, WalFileKind::Segment { .. })
    }
}

/// One line of a timeline history file: `parent_tli  switch_lsn  reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct HistoryEntry {
    /// A timeline in the ancestry.
    pub timeline: u32,
    /// Where the next timeline branched off it.
    pub switch_lsn: Lsn,
}

/// Parses a `.history` file's content (comments and blank lines skipped).
pub(crate) fn parse_history(text: &str) -> Vec<HistoryEntry> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') {
                return None;
            }
            let mut it = l.split_whitespace();
            let tli = it.next()?.parse::<u32>().ok()?;
            let lsn = it.next()?.parse::<Lsn>().ok()?;
            Some(HistoryEntry {
                timeline: tli,
                switch_lsn: lsn,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("000000010000000A000000FE", true)]
    #[case("000000010000000A000000FE.partial", false)]
    #[case("00000002.history", false)]
    #[case("000000010000000000000002.00000028.backup", false)]
    fn names_parse(#[case] name: &str, #[case] segment: bool) {
        let n: WalFileName = name.parse().unwrap();
        assert_eq!(n.as_str(), name);
        assert_eq!(n.is_segment(), segment);
    }

    #[rstest]
    #[case("")]
    #[case("00000001000000000000000")]
    #[case("0000000100000000000000GG")]
    #[case("../00000001000000000000001")]
    #[case("00000002.history.tmp")]
    #[case("backup_label")]
    fn bad_names_are_refused(#[case] name: &str) {
        assert!(name.parse::<WalFileName>().is_err());
    }

    #[test]
    fn segment_numbers_round_trip() {
        let n: WalFileName = "000000020000000A000000FE".parse().unwrap();
        let id = n.segment(DEFAULT_SEGMENT_SIZE).unwrap();
        assert_eq!(id.timeline, 2);
        assert_eq!(id.segno, 0xA * 256 + 0xFE);
        assert_eq!(id.file_name(DEFAULT_SEGMENT_SIZE), n.as_str());
        let lsn: Lsn = "A/FE000028".parse().unwrap();
        assert_eq!(lsn.segment(DEFAULT_SEGMENT_SIZE), id.segno);
        assert_eq!(lsn.to_string(), "A/FE000028");
    }

    #[test]
    fn history_is_parsed() {
        let h = parse_history(
            "1\t0/3000000\tno recovery target specified\n\n2\t0/5000A0\tbefore 2026\n",
        );
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].timeline, 2);
        assert_eq!(h[1].switch_lsn, Lsn(0x5000A0));
    }
}
