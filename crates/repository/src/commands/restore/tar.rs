//! Tar headers for `dump` of a directory: POSIX ustar, with a PAX extended header before an
//! entry whose values ustar cannot hold (names or link targets over 100 bytes, owner names
//! over 32, ids past ustar's octal range, a modification time with nanoseconds or before
//! 1970). GNU tar, bsdtar, Go's archive/tar and Python's tarfile read it.

use tar::{EntryType, Header};

use crate::repo::tree::{Node, NodeType, unix_permissions_from_go};

/// A tar block: headers and data are padded to it.
pub(crate) const BLOCK: u64 = 512;

/// Bytes of padding after `size` bytes of data.
pub(crate) fn padding(size: u64) -> usize {
    ((BLOCK - size % BLOCK) % BLOCK) as usize
}

/// The largest number ustar's 8-byte octal fields hold.
const USTAR_MAX_ID: u64 = 0o7777777;

/// The header block(s) of one entry: a PAX extended header when needed, then the ustar
/// header. `path` is the member's name (a directory's ends in `/`); `size` the bytes of data
/// that follow (files only). `None` for a node tar cannot hold (a socket).
pub(crate) fn entry_headers(path: &[u8], node: &Node, size: u64) -> Option<Vec<u8>> {
    let ty = match node.node_type {
        NodeType::File => EntryType::Regular,
        NodeType::Dir => EntryType::Directory,
        NodeType::Symlink => EntryType::Symlink,
        NodeType::Dev => EntryType::Block,
        NodeType::Chardev => EntryType::Char,
        NodeType::Fifo => EntryType::Fifo,
        NodeType::Socket => return None,
    };
    let mut pax: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut h = Header::new_ustar();
    h.set_entry_type(ty);
    h.set_size(if ty == EntryType::Regular { size } else { 0 });
    h.set_mode(unix_permissions_from_go(node.mode));

    let name = &mut h.as_old_mut().name;
    if path.len() > name.len() {
        pax.push(("path", path.to_vec()));
    }
    let n = path.len().min(name.len());
    name[..n].copy_from_slice(&path[..n]);

    if ty == EntryType::Symlink {
        let target = node.linktarget.as_os_str().as_encoded_bytes();
        let link = &mut h.as_old_mut().linkname;
        if target.len() > link.len() {
            pax.push(("linkpath", target.to_vec()));
        }
        let n = target.len().min(link.len());
        link[..n].copy_from_slice(&target[..n]);
    }

    for (key, id, set) in [
        (
            "uid",
            u64::from(node.uid),
            Header::set_uid as fn(&mut Header, u64),
        ),
        ("gid", u64::from(node.gid), Header::set_gid),
    ] {
        if id > USTAR_MAX_ID {
            pax.push((key, id.to_string().into_bytes()));
            set(&mut h, 0);
        } else {
            set(&mut h, id);
        }
    }
    // Over 32 bytes (ustar's field) an owner's name goes in PAX only.
    if h.set_username(&node.user).is_err() {
        pax.push(("uname", node.user.clone().into_bytes()));
    }
    if h.set_groupname(&node.group).is_err() {
        pax.push(("gname", node.group.clone().into_bytes()));
    }

    if let Some(t) = node.mtime {
        let (secs, nanos) = (t.timestamp(), t.timestamp_subsec_nanos());
        h.set_mtime(u64::try_from(secs).unwrap_or(0));
        if secs < 0 || nanos != 0 {
            pax.push(("mtime", pax_time(secs, nanos).into_bytes()));
        }
    }

    if matches!(ty, EntryType::Block | EntryType::Char) {
        let (major, minor) = dev_major_minor(node.device);
        if let Some(u) = h.as_ustar_mut() {
            u.set_device_major(major);
            u.set_device_minor(minor);
        }
    }
    h.set_cksum();

    let mut out = Vec::with_capacity(3 * BLOCK as usize);
    if !pax.is_empty() {
        let records = pax_records(&pax);
        let mut x = Header::new_ustar();
        x.set_entry_type(EntryType::XHeader);
        x.set_size(records.len() as u64);
        x.set_mode(0o644);
        // As GNU tar names them; a reader that ignores PAX sees an ordinary file.
        let xname = [b"PaxHeaders/", &path[..path.len().min(88)]].concat();
        let name = &mut x.as_old_mut().name;
        let n = xname.len().min(name.len());
        name[..n].copy_from_slice(&xname[..n]);
        x.set_cksum();
        out.extend_from_slice(x.as_bytes());
        out.extend_from_slice(&records);
        out.resize(out.len() + padding(records.len() as u64), 0);
    }
    out.extend_from_slice(h.as_bytes());
    Some(out)
}

/// `secs.nanos` as PAX writes a time (nanoseconds trimmed of trailing zeros).
fn pax_time(secs: i64, nanos: u32) -> String {
    if nanos == 0 {
        return secs.to_string();
    }
    // A negative time with a fraction: -1.25 is 1.25 s before the epoch.
    let (sign, whole, frac) = if secs < 0 {
        ("-", (secs + 1).unsigned_abs(), 1_000_000_000 - nanos)
    } else {
        ("", secs.unsigned_abs(), nanos)
    };
    let frac = format!("{frac:09}");
    format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
}

/// PAX records: `LEN key=value\n`, where LEN counts the whole record, itself included.
fn pax_records(records: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        let body = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut len = body + 1;
        while len != body + len.to_string().len() {
            len = body + len.to_string().len();
        }
        out.extend_from_slice(format!("{len} {key}=").as_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

/// Linux's `major()` and `minor()` of a device number.
fn dev_major_minor(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (
        u32::try_from(major).unwrap_or(u32::MAX),
        u32::try_from(minor).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        let r = pax_records(&[("path", b"a".to_vec())]);
        assert_eq!(r, b"9 path=a\n");
        // A 98-byte body: 2 digits would make 100 bytes, which needs 3 digits: 101.
        let r = pax_records(&[("path", vec![b'x'; 91])]);
        assert_eq!(r.len(), 101);
        assert!(r.starts_with(b"101 path="));
    }

    #[test]
    fn pax_times() {
        assert_eq!(pax_time(1_700_000_000, 123_456_789), "1700000000.123456789");
        assert_eq!(pax_time(5, 500_000_000), "5.5");
        assert_eq!(pax_time(-2, 750_000_000), "-1.25");
        assert_eq!(pax_time(-3, 0), "-3");
    }

    #[test]
    fn devices_split_as_linux_does() {
        // makedev(8, 1) and makedev(259, 70000)
        assert_eq!(dev_major_minor(0x801), (8, 1));
        let dev = (259u64 & 0xfff) << 8 | (70000u64 & 0xff) | ((70000u64 & !0xff) << 12);
        assert_eq!(dev_major_minor(dev), (259, 70000));
    }

    #[test]
    fn long_names_and_owners_go_to_pax_and_sockets_are_left_out() {
        let mut n = Node::new("f", NodeType::File);
        n.user = "u".repeat(40);
        n.uid = 3_000_000;
        let path = "d/".repeat(80);
        let h = entry_headers(path.as_bytes(), &n, 7).unwrap();
        let bytes = [h.as_slice(), &[b'x'; 7], &[0; 505], &[0; 1024]].concat();
        let mut ar = tar::Archive::new(bytes.as_slice());
        let mut entries = ar.entries().unwrap();
        let e = entries.next().unwrap().unwrap();
        assert_eq!(e.path_bytes().as_ref(), path.as_bytes());
        let mut e = e;
        let pax: Vec<(String, String)> = e
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|x| {
                let x = x.unwrap();
                (x.key().unwrap().to_string(), x.value().unwrap().to_string())
            })
            .collect();
        assert!(pax.contains(&("uid".into(), "3000000".into())), "{pax:?}");
        assert!(pax.contains(&("uname".into(), n.user.clone())), "{pax:?}");
        assert!(entry_headers(b"s", &Node::new("s", NodeType::Socket), 0).is_none());
    }
}
