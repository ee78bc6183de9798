//! The repository's `config` file and restic's chunker polynomial.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::id::Id;
use crate::Result;

/// The decrypted `config` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Repository format version (this engine writes 2; it reads 1 and 2).
    pub version: u32,
    /// The repository's random id.
    pub id: Id,
    /// restic's chunker parameter: a random irreducible polynomial of degree 53 over GF(2).
    /// restic chunks with it; this engine only uses it to key its own chunker.
    pub chunker_polynomial: Polynomial,
    /// The id this engine keys its chunker with, when it is not [`Config::id`]: a repository
    /// created with another's chunker parameters ([`ChunkerParams`]) carries that one's, so
    /// both cut files into the same chunks. restic ignores the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunker_id: Option<Id>,
}

/// What decides where files are cut into chunks: restic's polynomial and the id this engine
/// keys its chunker with. Two repositories with the same parameters store the same file as
/// the same blobs, so `copy` between them and backups into either deduplicate (restic's
/// `init --copy-chunker-params`). From [`Config::chunker_params`], for
/// [`InitOptions::with_chunker_params`](crate::InitOptions::with_chunker_params).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkerParams {
    /// restic's chunker polynomial (irreducible, degree 53).
    pub polynomial: Polynomial,
    /// The id keying this engine's chunker.
    pub key_id: Id,
}

impl ChunkerParams {
    /// Parameters from their parts (e.g. to recreate a repository's).
    pub fn new(polynomial: Polynomial, key_id: Id) -> ChunkerParams {
        ChunkerParams { polynomial, key_id }
    }
}

impl Config {
    /// A new version-2 config with a random id and polynomial.
    pub(crate) fn new_v2() -> Result<Config> {
        Ok(Config {
            version: 2,
            id: Id::random()?,
            chunker_polynomial: Polynomial::random()?,
            chunker_id: None,
        })
    }

    /// This repository's chunker parameters, to create another that chunks alike.
    pub fn chunker_params(&self) -> ChunkerParams {
        ChunkerParams {
            polynomial: self.chunker_polynomial,
            key_id: self.chunker_key_id(),
        }
    }

    /// The id the chunker is keyed with.
    pub(crate) fn chunker_key_id(&self) -> Id {
        self.chunker_id.unwrap_or(self.id)
    }
}

/// A polynomial over GF(2), bit i being the coefficient of x^i; JSON form is bare hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polynomial(pub u64);

impl Serialize for Polynomial {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:x}", self.0))
    }
}

impl<'de> Deserialize<'de> for Polynomial {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        u64::from_str_radix(&s, 16)
            .map(Polynomial)
            .map_err(|_| serde::de::Error::custom(format!("chunker_polynomial `{s}` is not hex")))
    }
}

pub(crate) fn degree(p: u64) -> i32 {
    63 - p.leading_zeros() as i32
}

/// `x mod m` for polynomials up to degree 127.
fn poly_mod(mut x: u128, m: u64) -> u64 {
    let dm = degree(m);
    let m = u128::from(m);
    while x != 0 {
        let dx = 127 - x.leading_zeros() as i32;
        if dx < dm {
            break;
        }
        x ^= m << (dx - dm);
    }
    x as u64
}

fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    let mut prod: u128 = 0;
    let a = u128::from(a);
    for i in 0..64 {
        if b >> i & 1 == 1 {
            prod ^= a << i;
        }
    }
    poly_mod(prod, m)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let r = poly_mod(u128::from(a), b);
        a = b;
        b = r;
    }
    a
}

impl Polynomial {
    /// Ben-Or's test: `f` is irreducible iff gcd(f, x^(2^i) − x mod f) = 1 for i ≤ deg/2.
    pub fn is_irreducible(self) -> bool {
        let f = self.0;
        if f < 2 {
            return false;
        }
        let d = degree(f);
        let mut xp: u64 = 2; // the polynomial x
        for _ in 1..=d / 2 {
            xp = mul_mod(xp, xp, f);
            if gcd(f, xp ^ 2) != 1 {
                return false;
            }
        }
        true
    }

    /// A random irreducible polynomial of degree 53, as restic generates for new repositories.
    pub(crate) fn random() -> Result<Polynomial> {
        loop {
            let mut b = [0u8; 8];
            super::crypto::fill_random(&mut b)?;
            let p = (u64::from_le_bytes(b) & ((1 << 53) - 1)) | (1 << 53) | 1;
            if Polynomial(p).is_irreducible() {
                return Ok(Polynomial(p));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::from_restic_docs(0x0025_b468_838d_cb75, true)]
    #[case::from_a_restic_0_14_repo(0x0022_b25b_a6cb_95fd, true)]
    #[case::x2_plus_x_plus_1(0b111, true)]
    #[case::x2_plus_1_is_square(0b101, false)]
    // (x^2+x+1)(x^3+x+1) = x^5+x^4+1
    #[case::product(0b110001, false)]
    fn irreducibility(#[case] p: u64, #[case] irreducible: bool) {
        assert_eq!(Polynomial(p).is_irreducible(), irreducible);
    }

    #[test]
    fn random_polynomials_have_degree_53_and_round_trip() {
        let p = Polynomial::random().unwrap();
        assert_eq!(degree(p.0), 53);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Polynomial>(&json).unwrap(), p);
    }
}
