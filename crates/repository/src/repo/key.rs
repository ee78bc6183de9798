//! Key files (`keys/<id>`): a password, stretched with scrypt, unlocks the master key.

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::crypto::{Key, MasterKeyJson, fill_random};
use crate::{Error, Result};

/// scrypt cost parameters for new key files.
///
/// The default is what restic 0.14 writes (N = 2^15, r = 8, p = 9: about 0.7 s on one core).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// CPU/memory cost, a power of two.
    pub n: u64,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            n: 32768,
            r: 8,
            p: 9,
        }
    }
}

/// A repository password: the workspace's one secret type, so it prints as `redacted` like
/// every other secret (`Password::new("…")`, `Debug` → `Secret(redacted)`).
pub type Password = thinledger_store::Secret;

/// The JSON of a key file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct KeyFile {
    pub(crate) created: DateTime<FixedOffset>,
    #[serde(default)]
    pub(crate) username: String,
    #[serde(default)]
    pub(crate) hostname: String,
    pub(crate) kdf: String,
    #[serde(rename = "N")]
    pub(crate) n: u64,
    pub(crate) r: u32,
    pub(crate) p: u32,
    pub(crate) salt: String,
    pub(crate) data: String,
}

fn derive(password: &Password, salt: &[u8], params: KdfParams) -> Result<Key> {
    if params.n < 2 || !params.n.is_power_of_two() || params.n > (1 << 30) {
        return Err(Error::Unsupported {
            detail: format!(
                "scrypt N = {} in a key file is not a power of two in 2..2^30",
                params.n
            ),
        });
    }
    let log_n = params.n.trailing_zeros() as u8;
    let p = scrypt::Params::new(log_n, params.r, params.p).map_err(|e| Error::Unsupported {
        detail: format!(
            "scrypt parameters N={} r={} p={}: {e}",
            params.n, params.r, params.p
        ),
    })?;
    let mut out = [0u8; 64];
    scrypt::scrypt(password.expose().as_bytes(), salt, &p, &mut out).map_err(|e| {
        Error::Unsupported {
            detail: format!("scrypt output: {e}"),
        }
    })?;
    Ok(Key::from_derived(&out))
}

impl KeyFile {
    /// Creates a key file that unlocks `master` with `password`. CPU-heavy: call it off the
    /// async runtime.
    pub(crate) fn create(
        master: &Key,
        password: &Password,
        params: KdfParams,
        username: String,
        hostname: String,
    ) -> Result<KeyFile> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut salt = [0u8; 64];
        fill_random(&mut salt)?;
        let user_key = derive(password, &salt, params)?;
        let json = serde_json::to_vec(&master.to_json())
            .map_err(|e| Error::Task(format!("encoding the master key: {e}")))?;
        let data = user_key.encrypt(&json)?;
        Ok(KeyFile {
            created: Utc::now().fixed_offset(),
            username,
            hostname,
            kdf: "scrypt".into(),
            n: params.n,
            r: params.r,
            p: params.p,
            salt: b64.encode(salt),
            data: b64.encode(data),
        })
    }

    /// Tries `password` on this key file: `Ok(None)` when it does not open it. CPU-heavy.
    pub(crate) fn open(&self, password: &Password, what: &str) -> Result<Option<Key>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        if self.kdf != "scrypt" {
            return Err(Error::Unsupported {
                detail: format!(
                    "{what} uses key derivation `{}`; only scrypt is known",
                    self.kdf
                ),
            });
        }
        let salt = b64
            .decode(&self.salt)
            .map_err(|e| Error::corrupt(what, format!("salt is not base64: {e}")))?;
        let data = b64
            .decode(&self.data)
            .map_err(|e| Error::corrupt(what, format!("data is not base64: {e}")))?;
        let user_key = derive(
            password,
            &salt,
            KdfParams {
                n: self.n,
                r: self.r,
                p: self.p,
            },
        )?;
        let Ok(plain) = user_key.decrypt(&data) else {
            return Ok(None);
        };
        let json: MasterKeyJson = serde_json::from_slice(&plain).map_err(|e| {
            Error::corrupt(what, format!("master key is not the expected JSON: {e}"))
        })?;
        Key::from_json(&json).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_opens_with_its_password_only() {
        let master = Key::random().unwrap();
        let cheap = KdfParams {
            n: 1024,
            r: 8,
            p: 1,
        };
        let pw = Password::new("correct horse");
        let kf = KeyFile::create(&master, &pw, cheap, "u".into(), "h".into()).unwrap();
        let text = serde_json::to_string(&kf).unwrap();
        assert!(text.contains("\"N\":1024"), "{text}");
        assert!(!text.contains("correct horse"));
        let back: KeyFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back.open(&pw, "k").unwrap(), Some(master));
        assert_eq!(back.open(&Password::new("wrong"), "k").unwrap(), None);
        assert_eq!(format!("{pw:?}"), "Secret(redacted)");
    }
}
