//! Files that list patterns or paths one per line: `--exclude-file` and `--files-from`, read
//! as restic reads them.
//!
//! Both are decoded as restic's `textfile.Read` does (a UTF-8 byte-order mark is dropped,
//! UTF-16 with a byte-order mark is converted) and split into lines at `\n`, dropping a `\r`
//! before it.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::pattern::{PatternError, go_clean, go_match};
use crate::{Error, Result};

/// How the lines of a `--files-from` list are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilesFrom {
    /// `--files-from`: surrounding white space trimmed, blank lines and lines starting with
    /// `#` skipped, each line expanded as a glob (`*`, `?`, `[…]`; a pattern matching nothing
    /// is skipped with a warning).
    Globbed,
    /// `--files-from-verbatim`: each non-empty line is one path, exactly as written (a path
    /// that does not exist is skipped with a warning, as restic does).
    Verbatim,
}

/// Text as restic's `textfile.Read` returns it: without a UTF-8 byte-order mark, and UTF-16
/// (recognised by its byte-order mark) converted to UTF-8.
fn decode_text(data: &[u8]) -> Vec<u8> {
    if let Some(rest) = data.strip_prefix(b"\xEF\xBB\xBF") {
        return rest.to_vec();
    }
    let utf16 = |rest: &[u8], le: bool| -> Vec<u8> {
        let units = rest.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{FFFD}'))
            .collect::<String>()
            .into_bytes()
    };
    if let Some(rest) = data.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, true);
    }
    if let Some(rest) = data.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, false);
    }
    data.to_vec()
}

/// Lines as Go's `bufio.Scanner` gives them: split at `\n`, a trailing `\r` dropped, no
/// empty last line after a final newline.
fn lines(data: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.is_empty() || data.ends_with(b"\n") {
        out.pop();
    }
    out.into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// Go's `strings.TrimSpace` (Unicode white space; bytes that are not UTF-8 are kept).
fn trim_space(line: &[u8]) -> &[u8] {
    match std::str::from_utf8(line) {
        Ok(s) => s.trim().as_bytes(),
        Err(_) => line.trim_ascii(),
    }
}

/// Go's `os.Expand` with restic's mapping: `$NAME` and `${NAME}` become the variable's value
/// (empty when unset), `$$` a literal `$`; shell specials like `$1` or `$*` expand to empty;
/// a `$` followed by nothing expandable stays.
fn expand_env(s: &str) -> String {
    let lookup = |name: &str| -> String {
        if name == "$" {
            "$".to_string()
        } else {
            std::env::var(name).unwrap_or_default()
        }
    };
    let special = |c: u8| b"*#$@!?-0123456789".contains(&c);
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut j = 0;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            out.push_str(&s[i..j]);
            let rest = &s[j + 1..];
            let rb = rest.as_bytes();
            // (name, bytes consumed after the `$`)
            let (name, w): (&str, usize) = if rb[0] == b'{' {
                if rb.len() > 2 && special(rb[1]) && rb[2] == b'}' {
                    (&rest[1..2], 3)
                } else {
                    match rb.iter().skip(1).position(|&c| c == b'}') {
                        Some(0) => ("", 2),
                        Some(k) => (&rest[1..=k], k + 2),
                        None => ("", 1),
                    }
                }
            } else if special(rb[0]) {
                (&rest[..1], 1)
            } else {
                let n = rb
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                (&rest[..n], n)
            };
            if name.is_empty() && w > 0 {
                // Bad syntax (`${}`, `${…` unclosed): the characters are dropped, as Go does.
            } else if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(&lookup(name));
            }
            j += w;
            i = j + 1;
        }
        j += 1;
    }
    out.push_str(&s[i.min(s.len())..]);
    out
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io("reading", path, e))
}

/// Patterns from an exclude file's text, as restic reads `--exclude-file`: each line trimmed,
/// blank lines and lines starting with `#` skipped, then environment variables expanded
/// (`$HOME`, `${HOME}`; `$$` for a literal `$`). Bytes that are not UTF-8 become U+FFFD.
pub fn parse_exclude_file(data: &[u8]) -> Vec<String> {
    let text = decode_text(data);
    lines(&text)
        .into_iter()
        .map(trim_space)
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(|l| expand_env(&String::from_utf8_lossy(l)))
        .collect()
}

/// Reads an `--exclude-file` (see [`parse_exclude_file`]).
pub fn read_exclude_file(path: &Path) -> Result<Vec<String>> {
    Ok(parse_exclude_file(&read(path)?))
}

/// Paths from a `--files-from` list's text (see [`FilesFrom`]). Globs are expanded against
/// the file system now, relative ones from the current directory, as Go's `filepath.Glob`
/// does (sorted per directory; `*` also matches names starting with `.`).
pub fn parse_files_from(data: &[u8], mode: FilesFrom) -> Result<Vec<PathBuf>> {
    let text = decode_text(data);
    let mut out = Vec::new();
    for line in lines(&text) {
        match mode {
            FilesFrom::Verbatim => {
                if line.is_empty() {
                    continue;
                }
                let path = PathBuf::from(OsString::from_vec(line.to_vec()));
                // restic skips a listed path that does not exist, with a warning.
                if std::fs::symlink_metadata(&path).is_err() {
                    tracing::warn!(path = %path.display(), "files-from path does not exist, skipping");
                    continue;
                }
                out.push(path);
            }
            FilesFrom::Globbed => {
                let line = trim_space(line);
                if line.is_empty() || line.starts_with(b"#") {
                    continue;
                }
                let found = glob(line).map_err(|problem| {
                    Error::Pattern(PatternError {
                        pattern: String::from_utf8_lossy(line).into_owned(),
                        problem,
                    })
                })?;
                if found.is_empty() {
                    tracing::warn!(
                        pattern = %String::from_utf8_lossy(line),
                        "files-from pattern does not match any files, skipping"
                    );
                }
                out.extend(
                    found
                        .into_iter()
                        .map(|p| PathBuf::from(OsString::from_vec(p))),
                );
            }
        }
    }
    Ok(out)
}

/// Reads a `--files-from` or `--files-from-verbatim` list (see [`parse_files_from`]).
pub fn read_files_from(path: &Path, mode: FilesFrom) -> Result<Vec<PathBuf>> {
    parse_files_from(&read(path)?, mode)
}

fn has_meta(p: &[u8]) -> bool {
    p.iter().any(|b| b"*?[\\".contains(b))
}

fn os(p: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(p))
}

/// Go's `filepath.Glob` (Unix): I/O errors are ignored, a malformed pattern is an error.
fn glob(pattern: &[u8]) -> std::result::Result<Vec<Vec<u8>>, &'static str> {
    go_match(pattern, b"")?;
    if !has_meta(pattern) {
        return Ok(match std::fs::symlink_metadata(os(pattern)) {
            Ok(_) => vec![pattern.to_vec()],
            Err(_) => Vec::new(),
        });
    }
    let split = pattern
        .iter()
        .rposition(|&b| b == b'/')
        .map_or(0, |i| i + 1);
    let (dir, file) = pattern.split_at(split);
    let dir: &[u8] = match dir {
        b"" => b".",
        b"/" => b"/",
        d => &d[..d.len() - 1],
    };
    if !has_meta(dir) {
        let mut out = Vec::new();
        glob_dir(dir, file, &mut out)?;
        return Ok(out);
    }
    if dir == pattern {
        return Err("it cannot be expanded");
    }
    let mut out = Vec::new();
    for d in glob(dir)? {
        glob_dir(&d, file, &mut out)?;
    }
    Ok(out)
}

fn glob_dir(
    dir: &[u8],
    pattern: &[u8],
    out: &mut Vec<Vec<u8>>,
) -> std::result::Result<(), &'static str> {
    if !std::fs::metadata(os(dir)).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(os(dir)) else {
        return Ok(());
    };
    let mut names: Vec<Vec<u8>> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().into_vec())
        .collect();
    names.sort();
    for n in names {
        if go_match(pattern, &n)? {
            let mut joined = dir.to_vec();
            joined.push(b'/');
            joined.extend_from_slice(&n);
            out.push(go_clean(&joined));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("plain", "plain")]
    #[case("$$HOME", "$HOME")]
    #[case("a$", "a$")]
    #[case("$TL_SELECT_TEST_UNSET/x", "/x")]
    #[case("${TL_SELECT_TEST_UNSET}x", "x")]
    #[case("$1x", "x")]
    #[case("a${}b", "ab")]
    #[case("a${b", "ab")]
    #[case("$-x", "x")]
    #[case("cost: 5$ each", "cost: 5$ each")]
    fn env_expansion_as_go_os_expand(#[case] input: &str, #[case] want: &str) {
        assert_eq!(expand_env(input), want);
    }

    #[test]
    fn set_variables_expand() {
        // PATH is set wherever cargo runs (tests cannot set variables without `unsafe`).
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand_env("$PATH/x"), format!("{path}/x"));
        assert_eq!(expand_env("${PATH}x"), format!("{path}x"));
    }

    #[test]
    fn exclude_file_lines() {
        let text =
            b"\xEF\xBB\xBF# comment\n\n  *.tmp  \r\n\t# indented comment\n/srv/cache\n!keep.tmp";
        assert_eq!(
            parse_exclude_file(text),
            ["*.tmp", "/srv/cache", "!keep.tmp"]
        );
        let utf16: Vec<u8> = b"\xFF\xFE"
            .iter()
            .copied()
            .chain("*.log\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(parse_exclude_file(&utf16), ["*.log"]);
    }

    #[test]
    fn files_from_globs_and_verbatim() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        for f in ["a.txt", "b.txt", "c.log", "with space.txt", "[x].txt"] {
            std::fs::write(base.join(f), b"x").unwrap();
        }
        std::fs::create_dir(base.join("d")).unwrap();
        std::fs::write(base.join("d/e.txt"), b"x").unwrap();
        let b = base.display();
        let list = format!(
            "# comment\n\n{b}/*.txt\n  {b}/c.log  \n{b}/*/e.txt\n{b}/none*\n{b}/\\[x].txt\n"
        );
        let got = parse_files_from(list.as_bytes(), FilesFrom::Globbed).unwrap();
        let want: Vec<PathBuf> = [
            "[x].txt",
            "a.txt",
            "b.txt",
            "with space.txt",
            "c.log",
            "d/e.txt",
            "[x].txt",
        ]
        .iter()
        .map(|f| base.join(f))
        .collect();
        assert_eq!(got, want);

        std::fs::write(base.join("*.txt"), b"x").unwrap();
        std::fs::write(base.join("#c"), b"x").unwrap();
        std::fs::write(base.join(" a.txt"), b"x").unwrap();
        let list = format!("{b}/*.txt\n{b}/#c\n\n{b}/ a.txt\n{b}/missing\n");
        let got = parse_files_from(list.as_bytes(), FilesFrom::Verbatim).unwrap();
        assert_eq!(
            got,
            [base.join("*.txt"), base.join("#c"), base.join(" a.txt"),]
        );

        let err = parse_files_from(b"/srv/[\n", FilesFrom::Globbed).unwrap_err();
        assert!(err.to_string().contains("`/srv/[`"), "{err}");
    }
}
