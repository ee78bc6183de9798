//! Reading the small YAML files the tools take (tenant files, changefeed specs) with a size
//! cap: a file far larger than any real one (or a device such as `/dev/zero`) is refused as bad
//! input before it is read whole, instead of filling memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::exit::bad;

/// The most a tenant file or a spec may hold: real ones are a few KiB.
pub const MAX_INPUT_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The text of `path` (what the file is, e.g. `tenant file`, names it in errors). Refuses, as
/// bad input (exit 2), anything that is not a regular file, larger than
/// [`MAX_INPUT_FILE_BYTES`] or not UTF-8.
pub fn read_input_file(path: &Path, what: &str) -> anyhow::Result<String> {
    let shown = path.display();
    // The path's type before opening: opening a fifo would wait for a writer.
    let meta = std::fs::metadata(path)
        .map_err(|e| bad(format!("{shown}: cannot read the {what} ({e})")))?;
    if !meta.is_file() {
        return Err(bad(format!(
            "{shown}: the {what} is not a regular file; give the path of a YAML file"
        )));
    }
    let too_large = |size: u64| {
        bad(format!(
            "{shown}: the {what} holds {size} bytes or more, more than the {} MiB a {what} may have; check the path",
            MAX_INPUT_FILE_BYTES / (1024 * 1024)
        ))
    };
    if meta.len() > MAX_INPUT_FILE_BYTES {
        return Err(too_large(meta.len()));
    }
    let file =
        File::open(path).map_err(|e| bad(format!("{shown}: cannot read the {what} ({e})")))?;
    let mut bytes = Vec::new();
    // A file that grows while read stops one byte past the limit.
    file.take(MAX_INPUT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("{shown}: cannot read the {what} ({e})")))?;
    if bytes.len() as u64 > MAX_INPUT_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes)
        .map_err(|e| bad(format!("{shown}: the {what} is not UTF-8 text ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_read_and_huge_ones_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.yaml");
        std::fs::write(&small, "tenant: acme\n").unwrap();
        assert_eq!(
            read_input_file(&small, "tenant file").unwrap(),
            "tenant: acme\n"
        );

        let huge = dir.path().join("huge.yaml");
        // Sparse: the length is set, no data written.
        File::create(&huge)
            .unwrap()
            .set_len(64 * 1024 * 1024 * 1024)
            .unwrap();
        let err = read_input_file(&huge, "changefeed spec").unwrap_err();
        assert!(err.downcast_ref::<crate::BadInput>().is_some());
        assert!(err.to_string().contains("more than the 4 MiB"), "{err}");

        let err = read_input_file(dir.path(), "tenant file").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
