//! Exclude patterns with restic's semantics (`internal/filter`), on top of Go's
//! `filepath.Match` for one path component.
//!
//! A pattern is cleaned (`filepath.Clean`) and split at `/`; each part matches one path
//! component (`*`, `?`, `[a-z]`, `[^a]`, `\` escapes), and a `**` part matches any number of
//! components. A pattern starting with `/` is anchored at the file system root; any other
//! matches at any depth. The parts must match consecutive components, and the match need not
//! reach the path's end: `cache` matches `/home/u/cache/x`. A pattern starting with `!`
//! (restic ≥ 0.16) takes back what an earlier pattern of the same list excluded.

use std::path::Path;

/// A pattern that cannot be parsed: which one, what is wrong, and how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid pattern `{pattern}`: {problem}; write a literal `[`, `*`, `?` or `\\` as `\\[`, `\\*`, `\\?` or `\\\\`, and close each class as in `[a-z]`"
)]
#[non_exhaustive]
pub struct PatternError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// Why Go's `filepath.Match` would return `ErrBadPattern`.
type Bad = &'static str;

/// One rune of `s` as Go's `utf8.DecodeRune` reads it: an invalid byte is U+FFFD of width 1,
/// an empty input U+FFFD of width 0.
fn decode(s: &[u8]) -> (u32, usize) {
    if s.is_empty() {
        return (0xFFFD, 0);
    }
    let len = match s[0] {
        0x00..=0x7F => return (u32::from(s[0]), 1),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (0xFFFD, 1),
    };
    match s.get(..len).map(std::str::from_utf8) {
        Some(Ok(c)) => (c.chars().next().map_or(0xFFFD, u32::from), len),
        _ => (0xFFFD, 1),
    }
}

/// Go's `getEsc`: one (possibly escaped) character of a class.
fn get_esc(chunk: &[u8]) -> Result<(u32, &[u8]), Bad> {
    let mut chunk = chunk;
    match chunk.first() {
        None => return Err("a character class is not closed with `]`"),
        Some(b'-') | Some(b']') => {
            return Err("a character class is empty or a range lacks its start");
        }
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err("a character class is not closed with `]`");
            }
        }
        _ => {}
    }
    let (r, n) = decode(chunk);
    if r == 0xFFFD && n == 1 {
        return Err("a character class holds bytes that are not UTF-8");
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err("a character class is not closed with `]`");
    }
    Ok((r, rest))
}

/// Go's `scanChunk`: leading stars, then everything up to the next star outside a class.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut pattern = pattern;
    let mut star = false;
    while pattern.first() == Some(&b'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Go's `matchChunk`: the rest of `s` when `chunk` matches its start. After a mismatch it
/// keeps reading the chunk, so a syntax error anywhere in it is reported.
fn match_chunk<'s>(chunk: &[u8], s: &'s [u8]) -> Result<Option<&'s [u8]>, Bad> {
    let mut chunk = chunk;
    let mut s = s;
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            b'[' => {
                let mut r = 0;
                if !failed {
                    let (rr, n) = decode(s);
                    r = rr;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, n) = decode(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err("it ends in a lone `\\`");
                    }
                }
                if !failed {
                    if chunk[0] != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// Go's `filepath.Match` (Unix): does `name` match the shell pattern? `*` and `?` never
/// match `/`.
pub(crate) fn go_match(pattern: &[u8], name: &[u8]) -> Result<bool, Bad> {
    let mut pattern = pattern;
    let mut name = name;
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing star matches the rest unless it holds a `/`.
            return Ok(!name.contains(&b'/'));
        }
        let first = match_chunk(chunk, name);
        if let Ok(Some(t)) = first
            && (t.is_empty() || !pattern.is_empty())
        {
            name = t;
            continue;
        }
        first?;
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                if let Some(t) = match_chunk(chunk, &name[i + 1..])? {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        // No match: the rest of the pattern must still be well-formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Go's `filepath.Clean` (Unix), on bytes.
pub(crate) fn go_clean(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b".".to_vec();
    }
    let rooted = path[0] == b'/';
    let n = path.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        // An empty element or `.`: skipped.
        if path[r] == b'/' || (path[r] == b'.' && (r + 1 == n || path[r + 1] == b'/')) {
            r += 1;
        } else if path[r] == b'.' && path[r + 1] == b'.' && (r + 2 == n || path[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                out.pop();
                while out.len() > dotdot && out.last() != Some(&b'/') {
                    out.pop();
                }
                // `out` now ends at the separator before the removed name, or at `dotdot`.
                if out.len() > dotdot {
                    out.pop();
                }
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && path[r] != b'/' {
                out.push(path[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return b".".to_vec();
    }
    out
}

/// restic's `splitPath`: components, the first being `/` for an absolute path.
fn split_path(p: &[u8]) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = p.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
    if parts.first().is_some_and(Vec::is_empty) {
        parts[0] = b"/".to_vec();
    }
    parts
}

/// One part of a pattern; `text` is empty for `**`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    text: Vec<u8>,
    simple: bool,
}

/// One parsed exclude pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    parts: Vec<Part>,
    negated: bool,
}

impl Pattern {
    /// restic's `preparePattern`, validated as its `ValidatePatterns` does.
    fn parse(original: &str) -> Result<Self, PatternError> {
        let (negated, body) = match original.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, original),
        };
        let parts: Vec<Part> = split_path(&go_clean(body.as_bytes()))
            .into_iter()
            .map(|text| {
                let simple = !text.iter().any(|b| b"\\[]*?".contains(b));
                let text = if text == b"**" { Vec::new() } else { text };
                Part { text, simple }
            })
            .collect();
        for p in &parts {
            go_match(&p.text, &p.text).map_err(|problem| PatternError {
                pattern: original.to_string(),
                problem,
            })?;
        }
        Ok(Pattern { parts, negated })
    }
}

fn double_wildcard(parts: &[Part]) -> Option<usize> {
    parts.iter().position(|p| p.text.is_empty())
}

/// restic's `match`: do the parts match consecutive components of `strs`?
fn match_parts(parts: &[Part], strs: &[Vec<u8>]) -> bool {
    if let Some(pos) = double_wildcard(parts) {
        // `**` stands for zero, one, two, … single-component wildcards.
        let extra = strs.len() as isize - parts.len() as isize + 1;
        for i in 0..=extra.max(-1) {
            let i = i as usize;
            let mut expanded: Vec<Part> = parts[..pos].to_vec();
            expanded.extend((0..i).map(|_| Part {
                text: b"*".to_vec(),
                simple: false,
            }));
            expanded.extend_from_slice(&parts[pos + 1..]);
            if match_parts(&expanded, strs) {
                return true;
            }
        }
        return false;
    }
    if parts.is_empty() {
        return strs.is_empty();
    }
    if parts.len() > strs.len() {
        return false;
    }
    let mut min_offset = 0;
    let mut max_offset = strs.len() - parts.len();
    if parts[0].text == b"/" {
        max_offset = 0;
    } else if strs[0] == b"/" {
        // A relative pattern does not match the root marker.
        min_offset = 1;
    }
    (min_offset..=max_offset).rev().any(|offset| {
        parts.iter().enumerate().all(|(i, p)| {
            let s = &strs[offset + i];
            if p.simple {
                p.text == *s
            } else {
                // Validated at parse time; an error cannot happen here.
                go_match(&p.text, s).unwrap_or(false)
            }
        })
    })
}

/// Go's `unicode.ToLower` over a string as `strings.ToLower` does: each invalid byte becomes
/// U+FFFD, and every character maps to one character.
fn go_lower(s: &[u8]) -> Vec<u8> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let (r, n) = decode(rest);
        let c = char::from_u32(r).unwrap_or('\u{FFFD}');
        out.push(c.to_lowercase().next().unwrap_or(c));
        rest = &rest[n.max(1)..];
    }
    out.into_bytes()
}

/// A list of exclude patterns, as one `--exclude` (or `--iexclude`) list of restic.
///
/// ```
/// use std::path::Path;
/// use thinledger_repository::ExcludePatterns;
///
/// let list = ExcludePatterns::new(["*.tmp", "/srv/cache", "!keep.tmp"], false)?;
/// assert!(list.is_excluded(Path::new("/srv/data/a.tmp")));
/// assert!(list.is_excluded(Path::new("/srv/cache/x")));
/// assert!(!list.is_excluded(Path::new("/srv/data/keep.tmp")));
/// assert!(!list.is_excluded(Path::new("/srv/data/a.txt")));
/// # Ok::<(), thinledger_repository::PatternError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExcludePatterns {
    patterns: Vec<Pattern>,
    case_insensitive: bool,
}

impl ExcludePatterns {
    /// Parses the patterns in order (empty ones are ignored, as restic does).
    /// `case_insensitive`: `--iexclude`, comparing lower-cased pattern and path.
    pub fn new(
        patterns: impl IntoIterator<Item = impl AsRef<str>>,
        case_insensitive: bool,
    ) -> Result<Self, PatternError> {
        let mut parsed = Vec::new();
        for p in patterns {
            let p = p.as_ref();
            if p.is_empty() {
                continue;
            }
            parsed.push(if case_insensitive {
                let lower = String::from_utf8_lossy(&go_lower(p.as_bytes())).into_owned();
                Pattern::parse(&lower).map_err(|e| PatternError {
                    pattern: p.to_string(),
                    ..e
                })?
            } else {
                Pattern::parse(p)?
            });
        }
        Ok(ExcludePatterns {
            patterns: parsed,
            case_insensitive,
        })
    }

    /// No patterns: nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Is `path` (absolute and clean, as the backup walks it) excluded? The last pattern
    /// that matches decides: a plain one excludes, a `!` one includes again.
    pub fn is_excluded(&self, path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        if self.patterns.is_empty() || bytes.is_empty() {
            return false;
        }
        let strs = if self.case_insensitive {
            split_path(&go_lower(bytes))
        } else {
            split_path(bytes)
        };
        let has_negated = self.patterns.iter().any(|p| p.negated);
        let mut matched = false;
        for p in &self.patterns {
            let m = match_parts(&p.parts, &strs);
            if p.negated {
                matched = matched && !m;
            } else {
                matched = matched || m;
                if matched && !has_negated {
                    break;
                }
            }
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Go's own filepath.Match table (match_test.go), the Unix cases.
    #[rstest]
    #[case("abc", "abc", Ok(true))]
    #[case("*", "abc", Ok(true))]
    #[case("*c", "abc", Ok(true))]
    #[case("a*", "a", Ok(true))]
    #[case("a*", "abc", Ok(true))]
    #[case("a*", "ab/c", Ok(false))]
    #[case("a*/b", "abc/b", Ok(true))]
    #[case("a*/b", "a/c/b", Ok(false))]
    #[case("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true))]
    #[case("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true))]
    #[case("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false))]
    #[case("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false))]
    #[case("a*b?c*x", "abxbbxdbxebxczzx", Ok(true))]
    #[case("a*b?c*x", "abxbbxdbxebxczzy", Ok(false))]
    #[case("ab[c]", "abc", Ok(true))]
    #[case("ab[b-d]", "abc", Ok(true))]
    #[case("ab[e-g]", "abc", Ok(false))]
    #[case("ab[^c]", "abc", Ok(false))]
    #[case("ab[^b-d]", "abc", Ok(false))]
    #[case("ab[^e-g]", "abc", Ok(true))]
    #[case("a\\*b", "a*b", Ok(true))]
    #[case("a\\*b", "ab", Ok(false))]
    #[case("a?b", "a☺b", Ok(true))]
    #[case("a[^a]b", "a☺b", Ok(true))]
    #[case("a???b", "a☺b", Ok(false))]
    #[case("a[^a][^a][^a]b", "a☺b", Ok(false))]
    #[case("[a-ζ]*", "α", Ok(true))]
    #[case("*[a-ζ]", "A", Ok(false))]
    #[case("a?b", "a/b", Ok(false))]
    #[case("a*b", "a/b", Ok(false))]
    #[case("[\\]a]", "]", Ok(true))]
    #[case("[\\-]", "-", Ok(true))]
    #[case("[x\\-]", "x", Ok(true))]
    #[case("[x\\-]", "-", Ok(true))]
    #[case("[x\\-]", "z", Ok(false))]
    #[case("[\\-x]", "x", Ok(true))]
    #[case("[\\-x]", "-", Ok(true))]
    #[case("[\\-x]", "a", Ok(false))]
    #[case("[]a]", "]", Err(()))]
    #[case("[-]", "-", Err(()))]
    #[case("[x-]", "x", Err(()))]
    #[case("[x-]", "-", Err(()))]
    #[case("[x-]", "z", Err(()))]
    #[case("[-x]", "x", Err(()))]
    #[case("[-x]", "-", Err(()))]
    #[case("[-x]", "a", Err(()))]
    #[case("\\", "a", Err(()))]
    #[case("[a-b-c]", "a", Err(()))]
    #[case("[", "a", Err(()))]
    #[case("[^", "a", Err(()))]
    #[case("[^bc", "a", Err(()))]
    #[case("a[", "a", Err(()))]
    #[case("a[", "ab", Err(()))]
    #[case("a[", "x", Err(()))]
    #[case("a/b[", "x", Err(()))]
    #[case("*x", "xxx", Ok(true))]
    fn go_filepath_match(
        #[case] pattern: &str,
        #[case] name: &str,
        #[case] want: Result<bool, ()>,
    ) {
        assert_eq!(
            go_match(pattern.as_bytes(), name.as_bytes()).map_err(|_| ()),
            want,
            "{pattern} vs {name}"
        );
    }

    #[rstest]
    #[case("", ".")]
    #[case("abc/", "abc")]
    #[case("a//b/./c/", "a/b/c")]
    #[case("/../a", "/a")]
    #[case("../../a", "../../a")]
    #[case("a/../../b", "../b")]
    #[case("a/b/../c", "a/c")]
    #[case("/", "/")]
    #[case("./", ".")]
    fn go_filepath_clean(#[case] path: &str, #[case] want: &str) {
        assert_eq!(String::from_utf8(go_clean(path.as_bytes())).unwrap(), want);
    }

    // restic's internal/filter tests (filter_test.go) and its documented examples.
    #[rstest]
    #[case("", "", false)]
    #[case("", "foo", false)]
    #[case("*.go", "/foo/bar/test.go", true)]
    #[case("*.c", "/foo/bar/test.go", false)]
    #[case("*", "/foo/bar/test.go", true)]
    #[case("foo*", "/foo/bar/test.go", true)]
    #[case("bar*", "/foo/bar/test.go", true)]
    #[case("/bar*", "/foo/bar/test.go", false)]
    #[case("bar/*", "/foo/bar/test.go", true)]
    #[case("baz/*", "/foo/bar/test.go", false)]
    #[case("bar/test.go", "/foo/bar/test.go", true)]
    #[case("bar/*.go", "/foo/bar/test.go", true)]
    #[case("ba*/*.go", "/foo/bar/test.go", true)]
    #[case("bb*/*.go", "/foo/bar/test.go", false)]
    #[case("test.*", "/foo/bar/test.go", true)]
    #[case("tesT.*", "/foo/bar/test.go", false)]
    #[case("bar/*", "/foo/bar/baz", true)]
    #[case("bar", "/foo/bar", true)]
    #[case("/foo/bar", "/foo/bar", true)]
    #[case("/foo/bar/", "/foo/bar", true)]
    #[case("/foo/bar", "/foo/baz", false)]
    #[case("/foo/bar", "/foo/baz/", false)]
    #[case("/foo///bar", "/foo/bar", true)]
    #[case("/foo/../bar", "/foo/bar", false)]
    #[case("/foo/../bar", "/bar", true)]
    #[case("/foo", "/foo/baz", true)]
    #[case("/foo/", "/foo/baz", true)]
    #[case("/foo/*", "/foo", false)]
    #[case("/foo/*", "/foo/baz", true)]
    #[case("bar", "/foo/baz", false)]
    #[case("bar", "/foo/bar/baz", true)]
    #[case("/foo/bar", "/foo/bar/baz", true)]
    #[case("foo/bar", "/foo/bar/baz", true)]
    #[case("foo/bar/*", "/foo/bar/baz", true)]
    #[case("foo/bar/**", "/foo/bar/baz", true)]
    #[case("foo/**/baz", "/foo/bar/baz", true)]
    #[case("foo/**/baz", "/foo/bar/one/two/baz", true)]
    #[case("foo/**/baz", "/foo/baz", true)]
    #[case("foo/**/baz", "/foo/bar/one/two/bar", false)]
    #[case("**/baz", "/foo/bar/baz", true)]
    #[case("**/*.go", "/foo/bar/test.go", true)]
    #[case("**/test.go", "/foo/test.go", true)]
    #[case("/foo/**/test.go", "/foo/bar/test.go", true)]
    #[case("/foo/**/test.go", "/other/foo/bar/test.go", false)]
    #[case("**/*.go", "/foo/bar/test.go", true)]
    #[case("*.tmp", "/srv/a b/c.tmp", true)]
    #[case("*.tmp", "/srv/a.tmp/inner", true)]
    #[case("[ab]?.log", "/var/a1.log", true)]
    #[case("\\*", "/var/*", true)]
    #[case("\\*", "/var/x", false)]
    fn restic_filter_match(#[case] pattern: &str, #[case] path: &str, #[case] want: bool) {
        let list = ExcludePatterns::new([pattern], false).unwrap();
        assert_eq!(
            list.is_excluded(Path::new(path)),
            want,
            "{pattern} vs {path}"
        );
    }

    // restic ≥ 0.16: `!` takes back what an earlier pattern excluded; a later plain one
    // excludes again.
    #[rstest]
    #[case(&["*.tmp", "!keep.tmp"], "/d/keep.tmp", false)]
    #[case(&["*.tmp", "!keep.tmp"], "/d/drop.tmp", true)]
    #[case(&["!keep.tmp", "*.tmp"], "/d/keep.tmp", true)]
    #[case(&["/home/*", "!/home/restic"], "/home/restic", false)]
    #[case(&["/home/*", "!/home/restic"], "/home/other", true)]
    #[case(&["*.tmp", "!keep.tmp", "/d/*"], "/d/keep.tmp", true)]
    fn negation(#[case] patterns: &[&str], #[case] path: &str, #[case] want: bool) {
        let list = ExcludePatterns::new(patterns, false).unwrap();
        assert_eq!(list.is_excluded(Path::new(path)), want);
    }

    #[rstest]
    #[case("*.TMP", "/d/a.tmp", true)]
    #[case("*.tmp", "/D/A.TMP", true)]
    #[case("/SRV/Cache", "/srv/cache/x", true)]
    #[case("ÄRGER", "/d/ärger", true)]
    #[case("*.tmp", "/d/a.txt", false)]
    fn case_insensitive(#[case] pattern: &str, #[case] path: &str, #[case] want: bool) {
        let list = ExcludePatterns::new([pattern], true).unwrap();
        assert_eq!(list.is_excluded(Path::new(path)), want);
        let sensitive = ExcludePatterns::new([pattern], false).unwrap();
        if pattern.to_lowercase() != pattern || path.to_lowercase() != path {
            assert!(!sensitive.is_excluded(Path::new(path)));
        }
    }

    #[rstest]
    #[case("[")]
    #[case("*.[ch")]
    #[case("a/[]x]/b")]
    #[case("trailing\\")]
    #[case("!/srv/[")]
    fn bad_patterns_are_named_with_the_fix(#[case] pattern: &str) {
        let err = ExcludePatterns::new(["ok", pattern], false).unwrap_err();
        assert_eq!(err.pattern, pattern);
        let msg = err.to_string();
        assert!(msg.contains(pattern), "{msg}");
        assert!(msg.contains("`\\[`"), "{msg}");
        let err = ExcludePatterns::new([pattern.to_uppercase()], true).unwrap_err();
        assert_eq!(err.pattern, pattern.to_uppercase());
    }

    #[test]
    fn non_utf8_names_match_by_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"/d/caf\xe9.tmp");
        let list = ExcludePatterns::new(["*.tmp"], false).unwrap();
        assert!(list.is_excluded(Path::new(name)));
        let list = ExcludePatterns::new(["caf?.tmp"], false).unwrap();
        assert!(list.is_excluded(Path::new(name)));
    }
}
