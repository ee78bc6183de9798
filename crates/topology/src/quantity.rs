//! Kubernetes-style quantities: memory and disk sizes in bytes, CPU in millicores.
//!
//! Accepted spellings follow Kubernetes (`32Gi`, `32768Mi`, `64G`, `4`, `4000m`, `1.5`) plus the
//! `GiB`/`TiB` forms people write in runbooks (`32GiB`, `6TiB`). Decimal suffixes (`k`, `M`,
//! `G`, `T`, `P`, also `GB`, `TB`) are powers of 1000 as in Kubernetes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A malformed quantity; the message names the field, the value and the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} quantity {value:?}: {reason}; write e.g. {examples}")]
pub struct QuantityError {
    /// `"memory"` or `"cpu"`.
    pub kind: &'static str,
    /// The rejected text.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
    /// Accepted examples.
    pub examples: &'static str,
}

const BYTE_EXAMPLES: &str = "32Gi, 32GiB, 32768Mi, 500G or 6TiB";
const CPU_EXAMPLES: &str = "4, 4000m or 0.5";

/// A size in bytes (memory, disk, data volume).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// One kibibyte.
    pub const KIB: u64 = 1 << 10;
    /// One mebibyte.
    pub const MIB: u64 = 1 << 20;
    /// One gibibyte.
    pub const GIB: u64 = 1 << 30;
    /// One tebibyte.
    pub const TIB: u64 = 1 << 40;

    /// `n` GiB (saturating: a product beyond `u64` is `u64::MAX` bytes, which every bound
    /// refuses, never a wrapped small size).
    pub const fn gib(n: u64) -> Self {
        ByteSize(n.saturating_mul(Self::GIB))
    }

    /// `n` MiB.
    pub const fn mib(n: u64) -> Self {
        ByteSize(n.saturating_mul(Self::MIB))
    }

    /// `n` TiB.
    pub const fn tib(n: u64) -> Self {
        ByteSize(n.saturating_mul(Self::TIB))
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// The size in GiB, as a float for ratios and display.
    pub fn as_gib_f64(self) -> f64 {
        self.0 as f64 / Self::GIB as f64
    }

    /// For people, rounded: `12.5 GiB`, or `1.50 TiB` from 1 TiB up (not a quantity:
    /// [`to_quantity`](Self::to_quantity) is exact).
    pub fn to_gib_text(self) -> String {
        let gib = self.as_gib_f64();
        if gib >= 1024.0 {
            format!("{:.2} TiB", gib / 1024.0)
        } else {
            format!("{gib:.1} GiB")
        }
    }

    /// The Kubernetes quantity in the largest binary unit that divides it exactly
    /// (`32Gi`, `8704Mi`, `1536Ki`, or plain bytes).
    pub fn to_quantity(self) -> String {
        for (unit, suffix) in [
            (1u64 << 50, "Pi"),
            (Self::TIB, "Ti"),
            (Self::GIB, "Gi"),
            (Self::MIB, "Mi"),
            (Self::KIB, "Ki"),
        ] {
            if self.0 >= unit && self.0.is_multiple_of(unit) {
                return format!("{}{suffix}", self.0 / unit);
            }
        }
        self.0.to_string()
    }

    /// The size as CockroachDB's size flags (`--cache`, `--max-sql-memory`) take it, and as
    /// every thinledger plan and message writes a size: the exact [quantity](Self::to_quantity)
    /// with `B` (`8GiB`, `8704MiB`, `6TiB`; `1000B` when no binary unit divides it).
    pub fn to_iec(self) -> String {
        format!("{}B", self.to_quantity())
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_quantity())
    }
}

impl FromStr for ByteSize {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| QuantityError {
            kind: "memory",
            value: s.to_owned(),
            reason: reason.to_owned(),
            examples: BYTE_EXAMPLES,
        };
        let text = s.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        if number.is_empty() {
            return Err(err("it does not start with a number"));
        }
        let multiplier: u64 = match suffix.trim() {
            "" | "B" => 1,
            "Ki" | "KiB" => 1 << 10,
            "Mi" | "MiB" => 1 << 20,
            "Gi" | "GiB" => 1 << 30,
            "Ti" | "TiB" => 1 << 40,
            "Pi" | "PiB" => 1 << 50,
            "k" | "K" | "kB" | "KB" => 1_000,
            "M" | "MB" => 1_000_000,
            "G" | "GB" => 1_000_000_000,
            "T" | "TB" => 1_000_000_000_000,
            "P" | "PB" => 1_000_000_000_000_000,
            "m" => return Err(err("millibytes make no sense for a size")),
            other => return Err(err(&format!("unknown unit {other:?}"))),
        };
        let (value, _rounded_up) =
            parse_scaled(number, multiplier).ok_or_else(|| err("not a number, or too large"))?;
        Ok(ByteSize(value))
    }
}

/// CPU in millicores (`1000` = one vCPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cpu(pub u32);

impl Cpu {
    /// `n` whole CPUs.
    pub const fn cores(n: u32) -> Self {
        Cpu(n.saturating_mul(1000))
    }

    /// Millicores.
    pub const fn millis(self) -> u32 {
        self.0
    }

    /// Whole CPUs, if the value is a whole number.
    pub fn whole_cores(self) -> Option<u32> {
        self.0.is_multiple_of(1000).then_some(self.0 / 1000)
    }

    /// Kubernetes quantity: `4` for whole CPUs, `4500m` otherwise.
    pub fn to_quantity(self) -> String {
        match self.whole_cores() {
            Some(n) => n.to_string(),
            None => format!("{}m", self.0),
        }
    }
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_quantity())
    }
}

impl FromStr for Cpu {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| QuantityError {
            kind: "cpu",
            value: s.to_owned(),
            reason: reason.to_owned(),
            examples: CPU_EXAMPLES,
        };
        let text = s.trim();
        let (number, multiplier) = match text.strip_suffix('m') {
            Some(n) => (n, 1),
            None => (text, 1000),
        };
        if number.is_empty() {
            return Err(err("it does not start with a number"));
        }
        let (value, exact) =
            parse_scaled(number, multiplier).ok_or_else(|| err("not a number of CPUs"))?;
        if !exact {
            return Err(err("finer than one millicore"));
        }
        let value = u32::try_from(value).map_err(|_| err("too large"))?;
        Ok(Cpu(value))
    }
}

/// Parses `number` (digits with at most one '.') times `multiplier`. Returns the value rounded
/// up to a whole unit (as Kubernetes does) and whether it was exact.
fn parse_scaled(number: &str, multiplier: u64) -> Option<(u64, bool)> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let digits: u128 = format!("{int}{frac}").parse().ok()?;
    let denominator = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    let scaled = digits.checked_mul(u128::from(multiplier))?;
    let value = u64::try_from(scaled.div_ceil(denominator)).ok()?;
    Some((value, scaled % denominator == 0))
}

macro_rules! serde_via_str {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_quantity())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // YAML users write `cpu: 4` as often as `cpu: "4"`.
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Raw {
                    Int(u64),
                    Float(f64),
                    Text(String),
                }
                let text = match Raw::deserialize(deserializer)? {
                    Raw::Int(n) => n.to_string(),
                    Raw::Float(f) => f.to_string(),
                    Raw::Text(s) => s,
                };
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_via_str!(ByteSize);
serde_via_str!(Cpu);

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("32Gi", 32 << 30)]
    #[case("32GiB", 32 << 30)]
    #[case("32768Mi", 32 << 30)]
    #[case("6TiB", 6 << 40)]
    #[case("1.5Gi", 3 << 29)]
    #[case("500G", 500_000_000_000)]
    #[case("64GB", 64_000_000_000)]
    #[case("1024", 1024)]
    #[case(" 8Gi ", 8 << 30)]
    fn byte_sizes(#[case] input: &str, #[case] bytes: u64) {
        assert_eq!(input.parse::<ByteSize>().unwrap(), ByteSize(bytes));
    }

    #[rstest]
    #[case("32 gigs", "unknown unit")]
    #[case("Gi", "does not start with a number")]
    #[case("1.2.3Gi", "not a number")]
    #[case("100m", "millibytes")]
    #[case("99999999999Pi", "too large")]
    fn malformed_byte_sizes_are_named(#[case] input: &str, #[case] reason: &str) {
        let err = input.parse::<ByteSize>().unwrap_err().to_string();
        assert!(err.contains(&format!("{:?}", input)), "{err}");
        assert!(err.contains(reason), "{err}");
        assert!(err.contains("32Gi"), "{err}");
    }

    #[rstest]
    #[case("4", 4000)]
    #[case("4000m", 4000)]
    #[case("0.5", 500)]
    #[case("250m", 250)]
    fn cpus(#[case] input: &str, #[case] millis: u32) {
        assert_eq!(input.parse::<Cpu>().unwrap(), Cpu(millis));
    }

    #[rstest]
    #[case("four")]
    #[case("4 cores")]
    #[case("0.0001")]
    #[case("")]
    fn malformed_cpus(#[case] input: &str) {
        assert!(input.parse::<Cpu>().is_err(), "{input}");
    }

    /// CockroachDB's size flags (and every plan's message) spell sizes one way.
    #[rstest]
    #[case(ByteSize::gib(8), "8GiB")]
    #[case(ByteSize::mib(8704), "8704MiB")]
    #[case(ByteSize::tib(6), "6TiB")]
    #[case(ByteSize(1536 << 10), "1536KiB")]
    #[case(ByteSize(1000), "1000B")]
    fn sizes_as_cockroachdb_flags(#[case] size: ByteSize, #[case] text: &str) {
        assert_eq!(size.to_iec(), text);
    }

    #[rstest]
    #[case(ByteSize::gib(32), "32Gi")]
    #[case(ByteSize(8704 << 20), "8704Mi")]
    #[case(ByteSize::tib(2), "2Ti")]
    #[case(ByteSize(1000), "1000")]
    fn quantities_render_exactly(#[case] size: ByteSize, #[case] text: &str) {
        assert_eq!(size.to_quantity(), text);
        assert_eq!(text.parse::<ByteSize>().unwrap(), size);
    }

    #[test]
    fn cpu_renders_whole_cores_plainly() {
        assert_eq!(Cpu::cores(8).to_quantity(), "8");
        assert_eq!(Cpu(4500).to_quantity(), "4500m");
    }

    #[test]
    fn serde_accepts_numbers_and_strings() {
        let v: Vec<Cpu> = serde_json::from_str(r#"[4, "4000m", 0.5]"#).unwrap();
        assert_eq!(v, [Cpu(4000), Cpu(4000), Cpu(500)]);
        let m: ByteSize = serde_json::from_str(r#""32GiB""#).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#""32Gi""#);
    }
}
