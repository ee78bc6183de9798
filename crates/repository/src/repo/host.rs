//! Who and where we are: host name, user, uid/gid, and name lookups for file owners.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

/// The identity recorded in snapshots and lock files.
#[derive(Debug, Clone)]
pub struct Identity {
    pub hostname: String,
    pub username: String,
    pub uid: u32,
    pub gid: u32,
}

fn read_trimmed(path: &str) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

impl Identity {
    pub fn current() -> Identity {
        static ID: OnceLock<Identity> = OnceLock::new();
        ID.get_or_init(|| {
            let hostname = read_trimmed("/proc/sys/kernel/hostname")
                .or_else(|| read_trimmed("/etc/hostname"))
                .unwrap_or_else(|| "localhost".into());
            let (uid, gid) = std::fs::metadata("/proc/self")
                .map(|m| (m.uid(), m.gid()))
                .unwrap_or((0, 0));
            let username = user_name(uid).unwrap_or_default();
            Identity {
                hostname,
                username,
                uid,
                gid,
            }
        })
        .clone()
    }
}

fn parse_names(path: &str) -> HashMap<u32, String> {
    let mut map = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(path) {
        for line in text.lines() {
            let mut f = line.split(':');
            if let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next())
                && let Ok(id) = id.parse()
            {
                map.entry(id).or_insert_with(|| name.to_string());
            }
        }
    }
    map
}

/// The name of a user id, from `/etc/passwd`.
pub fn user_name(uid: u32) -> Option<String> {
    static USERS: OnceLock<HashMap<u32, String>> = OnceLock::new();
    USERS
        .get_or_init(|| parse_names("/etc/passwd"))
        .get(&uid)
        .cloned()
}

/// The name of a group id, from `/etc/group`.
pub fn group_name(gid: u32) -> Option<String> {
    static GROUPS: OnceLock<HashMap<u32, String>> = OnceLock::new();
    GROUPS
        .get_or_init(|| parse_names("/etc/group"))
        .get(&gid)
        .cloned()
}
