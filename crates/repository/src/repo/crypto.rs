//! restic's authenticated encryption: AES-256 in counter mode (128-bit big-endian counter, the
//! random 16-byte IV as its start) and a Poly1305-AES MAC over the ciphertext, stored as
//! `IV || CIPHERTEXT || MAC`.

use std::fmt;

use aes::cipher::{BlockEncrypt, KeyInit, KeyIvInit, StreamCipher};
use poly1305::Poly1305;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Bytes that encryption adds: a 16-byte IV and a 16-byte MAC.
pub const OVERHEAD: usize = 32;
const IV_LEN: usize = 16;
const MAC_LEN: usize = 16;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Fills `buf` from the operating system's secure random source.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    getrandom::getrandom(buf).map_err(|e| Error::Task(format!("no secure random numbers: {e}")))
}

/// A set of encryption and MAC keys: a repository's master key, or one derived from a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    encrypt: [u8; 32],
    mac_k: [u8; 16],
    mac_r: [u8; 16],
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

/// The authentication failed: wrong key, or the data was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("MAC does not match (wrong key, or the data was modified)")]
pub struct MacError;

impl Key {
    /// A fresh random key.
    pub(crate) fn random() -> Result<Key> {
        let mut b = [0u8; 64];
        fill_random(&mut b)?;
        Ok(Key::from_derived(&b))
    }

    /// Splits 64 key-derivation bytes as restic does: 32 for AES-256, then 16 for the MAC's
    /// AES key `k`, then 16 for the Poly1305 `r`.
    pub(crate) fn from_derived(b: &[u8; 64]) -> Key {
        let mut encrypt = [0u8; 32];
        let mut mac_k = [0u8; 16];
        let mut mac_r = [0u8; 16];
        encrypt.copy_from_slice(&b[..32]);
        mac_k.copy_from_slice(&b[32..48]);
        mac_r.copy_from_slice(&b[48..]);
        mask_r(&mut mac_r);
        Key {
            encrypt,
            mac_k,
            mac_r,
        }
    }

    fn mac(&self, iv: &[u8; IV_LEN], ciphertext: &[u8]) -> [u8; MAC_LEN] {
        // Poly1305-AES: the one-time part `s` is AES-128 under `k` of the nonce (the IV).
        let aes = aes::Aes128::new(&self.mac_k.into());
        let mut s = aes::Block::clone_from_slice(iv);
        aes.encrypt_block(&mut s);
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(&self.mac_r);
        key[16..].copy_from_slice(&s);
        let tag = Poly1305::new(&key.into()).compute_unpadded(ciphertext);
        tag.into()
    }

    /// Encrypts `plaintext` with a fresh random IV into `IV || CIPHERTEXT || MAC`.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
        self.encrypt_into(plaintext, &mut out)?;
        Ok(out)
    }

    /// Like [`Key::encrypt`], appending to `out`.
    pub fn encrypt_into(&self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let mut iv = [0u8; IV_LEN];
        fill_random(&mut iv)?;
        let start = out.len();
        out.extend_from_slice(&iv);
        out.extend_from_slice(plaintext);
        let mut cipher = Aes256Ctr::new(&self.encrypt.into(), &iv.into());
        cipher.apply_keystream(&mut out[start + IV_LEN..]);
        let mac = self.mac(&iv, &out[start + IV_LEN..]);
        out.extend_from_slice(&mac);
        Ok(())
    }

    /// Encrypts `data` in place with a fresh random IV; the stored form is
    /// `IV || data || MAC`. Returns the IV and the MAC.
    pub(crate) fn encrypt_in_place(
        &self,
        data: &mut [u8],
    ) -> Result<([u8; IV_LEN], [u8; MAC_LEN])> {
        let mut iv = [0u8; IV_LEN];
        fill_random(&mut iv)?;
        let mut cipher = Aes256Ctr::new(&self.encrypt.into(), &iv.into());
        cipher.apply_keystream(data);
        let mac = self.mac(&iv, data);
        Ok((iv, mac))
    }

    /// Checks the MAC of `IV || CIPHERTEXT || MAC` and decrypts the ciphertext where it is:
    /// returns the plaintext, a part of `data`. No allocation, for callers that reuse buffers.
    pub(crate) fn decrypt_in_place<'a>(
        &self,
        data: &'a mut [u8],
    ) -> Result<&'a mut [u8], MacError> {
        if data.len() < OVERHEAD {
            return Err(MacError);
        }
        let (iv, rest) = data.split_at_mut(IV_LEN);
        let (ciphertext, mac) = rest.split_at_mut(rest.len() - MAC_LEN);
        let mut iv_arr = [0u8; IV_LEN];
        iv_arr.copy_from_slice(iv);
        let expected = self.mac(&iv_arr, ciphertext);
        let diff = expected
            .iter()
            .zip(mac.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(MacError);
        }
        let mut cipher = Aes256Ctr::new(&self.encrypt.into(), &iv_arr.into());
        cipher.apply_keystream(ciphertext);
        Ok(ciphertext)
    }

    /// Checks the MAC and decrypts `IV || CIPHERTEXT || MAC`.
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, MacError> {
        if data.len() < OVERHEAD {
            return Err(MacError);
        }
        let (iv, rest) = data.split_at(IV_LEN);
        let (ciphertext, mac) = rest.split_at(rest.len() - MAC_LEN);
        let mut iv_arr = [0u8; IV_LEN];
        iv_arr.copy_from_slice(iv);
        let expected = self.mac(&iv_arr, ciphertext);
        // Compare without an early exit.
        let diff = expected
            .iter()
            .zip(mac)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(MacError);
        }
        let mut plain = ciphertext.to_vec();
        let mut cipher = Aes256Ctr::new(&self.encrypt.into(), &iv_arr.into());
        cipher.apply_keystream(&mut plain);
        Ok(plain)
    }

    pub(crate) fn to_json(&self) -> MasterKeyJson {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        MasterKeyJson {
            mac: MacKeyJson {
                k: b64.encode(self.mac_k),
                r: b64.encode(self.mac_r),
            },
            encrypt: b64.encode(self.encrypt),
        }
    }

    pub(crate) fn from_json(json: &MasterKeyJson) -> Result<Key> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let bad = |what: &str| {
            Error::corrupt(
                "key file",
                format!("master key field `{what}` is not valid base64 of the right length"),
            )
        };
        let encrypt: [u8; 32] = b64
            .decode(&json.encrypt)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("encrypt"))?;
        let mac_k: [u8; 16] = b64
            .decode(&json.mac.k)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("mac.k"))?;
        let mut mac_r: [u8; 16] = b64
            .decode(&json.mac.r)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("mac.r"))?;
        mask_r(&mut mac_r);
        Ok(Key {
            encrypt,
            mac_k,
            mac_r,
        })
    }
}

/// Clears the bits of Poly1305's `r` that the algorithm requires to be zero.
fn mask_r(r: &mut [u8; 16]) {
    for i in [3, 7, 11, 15] {
        r[i] &= 0x0f;
    }
    for i in [4, 8, 12] {
        r[i] &= 0xfc;
    }
}

/// The master key as stored (encrypted) inside a key file.
#[derive(Serialize, Deserialize)]
pub(crate) struct MasterKeyJson {
    pub(crate) mac: MacKeyJson,
    pub(crate) encrypt: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct MacKeyJson {
    pub(crate) k: String,
    pub(crate) r: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let key = Key::random().unwrap();
        let msg = b"the thin ledger".repeat(100);
        let enc = key.encrypt(&msg).unwrap();
        assert_eq!(enc.len(), msg.len() + OVERHEAD);
        assert_eq!(key.decrypt(&enc).unwrap(), msg);
        let mut bad = enc.clone();
        bad[20] ^= 1;
        assert_eq!(key.decrypt(&bad), Err(MacError));
        let other = Key::random().unwrap();
        assert_eq!(other.decrypt(&enc), Err(MacError));
        assert_eq!(key.decrypt(&enc[..10]), Err(MacError));
        assert!(key.decrypt(&key.encrypt(b"").unwrap()).unwrap().is_empty());
        let mut in_place = msg.clone();
        let (iv, mac) = key.encrypt_in_place(&mut in_place).unwrap();
        let stored = [&iv[..], &in_place, &mac].concat();
        assert_eq!(key.decrypt(&stored).unwrap(), msg);
        let mut again = stored.clone();
        assert_eq!(key.decrypt_in_place(&mut again).unwrap(), &msg[..]);
        let mut bad = stored;
        bad[40] ^= 1;
        assert_eq!(key.decrypt_in_place(&mut bad), Err(MacError));
        assert_eq!(key.decrypt_in_place(&mut [0u8; 31]), Err(MacError));
    }

    #[test]
    fn counter_carries_across_all_128_bits() {
        // An IV whose low 64 bits are all ones: the second block's counter must carry into the
        // high half, as restic's 128-bit big-endian counter does.
        let key = Key::random().unwrap();
        let iv = [
            0x00, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        let mut c = Aes256Ctr::new(&key.encrypt.into(), &iv.into());
        let mut two = [0u8; 32];
        c.apply_keystream(&mut two);
        let aes = aes::Aes256::new(&key.encrypt.into());
        let mut b2 =
            aes::Block::clone_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
        aes.encrypt_block(&mut b2);
        assert_eq!(&two[16..], b2.as_slice());
    }

    #[test]
    fn poly1305_aes_matches_the_reference_vector() {
        // Test vector 2 of "The Poly1305-AES message-authentication code" (Bernstein 2005).
        let k = hex::decode("ec074c835580741701425b623235add6").unwrap();
        let r = hex::decode("851fc40c3467ac0be05cc20404f3f700").unwrap();
        let nonce = hex::decode("fb447350c4e868c52ac3275cf9d4327e").unwrap();
        let msg = hex::decode("f3f6").unwrap();
        let key = Key {
            encrypt: [0; 32],
            mac_k: k.try_into().unwrap(),
            mac_r: r.try_into().unwrap(),
        };
        let mac = key.mac(&nonce.try_into().unwrap(), &msg);
        assert_eq!(hex::encode(mac), "f4c633c3044fc145f84f335cb81953de");
    }
}
