//! Go's string escaping, as restic applies it to the names in its trees.
//!
//! restic stores a node's `name` as `strconv.Quote(name)` without the surrounding quotes and
//! reads it back with `strconv.Unquote` (its `Node.MarshalJSON`/`UnmarshalJSON`). That is what
//! lets a name that is not UTF-8 (`caf\xe9.txt`) live in a JSON string and come back as the
//! same bytes. [`quote`] and [`unquote`] do the same here:
//!
//! - [`quote`] escapes exactly as Go's `strconv.Quote`: `\\` and `\"`; `\a \b \f \n \r \t \v`;
//!   other ASCII control characters and DEL as `\x..`; each byte that is not part of valid
//!   UTF-8 as `\x..`; a character Go does not consider printable (`unicode.IsPrint`: not a
//!   letter, mark, number, punctuation or symbol, and not the ASCII space) as `\u....` or
//!   `\U........`. Printability comes from the Unicode tables of `unicode-properties`, which
//!   may be newer than those of the Go that built a given restic: a character assigned since
//!   is written as itself here where that restic writes `\u....`. Both forms unquote to the
//!   same bytes in every restic, so only the tree's hash can differ, never the name.
//! - [`unquote`] accepts everything Go's `strconv.Unquote` accepts for a double-quoted string,
//!   and refuses what it refuses (an unescaped `"` or newline, an unknown or short escape, a
//!   `\u` that is no Unicode scalar value, an octal escape above `\377`).

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Why a stored name is not in Go's quoted form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
#[non_exhaustive]
pub struct UnquoteError {
    /// Where in the stored (escaped) text the problem starts.
    pub offset: usize,
    /// What is wrong there.
    pub reason: &'static str,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter
            | GeneralCategoryGroup::Mark
            | GeneralCategoryGroup::Number
            | GeneralCategoryGroup::Punctuation
            | GeneralCategoryGroup::Symbol
    )
}

fn push_hex(out: &mut String, prefix: &str, v: u32, digits: u32) {
    out.push_str(prefix);
    for i in (0..digits).rev() {
        out.push(HEX[((v >> (4 * i)) & 0xf) as usize] as char);
    }
}

/// `bytes` as Go's `strconv.Quote` writes it, without the surrounding quotes.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if is_print(c) => out.push(c),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if c < ' ' || c == '\x7f' => push_hex(&mut out, "\\x", c as u32, 2),
                c if (c as u32) < 0x10000 => push_hex(&mut out, "\\u", c as u32, 4),
                c => push_hex(&mut out, "\\U", c as u32, 8),
            }
        }
        // Go decodes one byte at a time where UTF-8 is broken: one `\x..` per byte.
        for b in chunk.invalid() {
            push_hex(&mut out, "\\x", u32::from(*b), 2);
        }
    }
    out
}

/// The bytes of a name that restic stored as `text` (Go's `strconv.Unquote` of `"text"`).
pub fn unquote(text: &str) -> Result<Vec<u8>, UnquoteError> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let err = |offset, reason| Err(UnquoteError { offset, reason });
    while i < b.len() {
        match b[i] {
            b'"' => return err(i, "unescaped `\"`"),
            b'\n' => return err(i, "unescaped newline"),
            b'\\' => {
                let Some(&e) = b.get(i + 1) else {
                    return err(i, "`\\` at the end");
                };
                let start = i;
                i += 2;
                match e {
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(0x0b),
                    b'\\' => out.push(b'\\'),
                    b'"' => out.push(b'"'),
                    b'x' | b'u' | b'U' => {
                        let n = match e {
                            b'x' => 2,
                            b'u' => 4,
                            _ => 8,
                        };
                        let digits = b.get(i..i + n).ok_or(UnquoteError {
                            offset: start,
                            reason: "escape cut short",
                        })?;
                        let mut v: u32 = 0;
                        for d in digits {
                            let Some(x) = (*d as char).to_digit(16) else {
                                return err(start, "escape with a digit that is not hexadecimal");
                            };
                            v = v << 4 | x;
                        }
                        i += n;
                        if e == b'x' {
                            // A single byte, possibly not UTF-8: the point of the escaping.
                            out.push(v as u8);
                        } else {
                            let Some(c) = char::from_u32(v) else {
                                return err(start, "`\\u` or `\\U` escape of no Unicode character");
                            };
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                    b'0'..=b'7' => {
                        let digits = b.get(i..i + 2).ok_or(UnquoteError {
                            offset: start,
                            reason: "octal escape cut short",
                        })?;
                        let mut v = u32::from(e - b'0');
                        for d in digits {
                            if !(b'0'..=b'7').contains(d) {
                                return err(start, "octal escape with a digit above 7");
                            }
                            v = v << 3 | u32::from(d - b'0');
                        }
                        if v > 0xff {
                            return err(start, "octal escape above \\377");
                        }
                        i += 2;
                        out.push(v as u8);
                    }
                    _ => return err(start, "unknown escape"),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `bytes` as Go's `encoding/json` writes a string holding them: each byte that is not part of
/// valid UTF-8 becomes U+FFFD. restic's `linktarget` is written this way.
pub fn json_lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.into();
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Expected values are what restic 0.14 (Go 1.19) stores for these names (seen with
    // `restic cat blob`), and Go's documented strconv.Quote output.
    #[rstest]
    #[case::plain(b"notes.txt", "notes.txt")]
    #[case::empty(b"", "")]
    #[case::latin1_not_utf8(b"caf\xe9.txt", r"caf\xe9.txt")]
    #[case::two_invalid_bytes(b"\xff\xfd", r"\xff\xfd")]
    #[case::other_invalid_pair(b"\xff\xfe", r"\xff\xfe")]
    #[case::cut_utf8_sequence(b"\xe2\x82x", r"\xe2\x82x")]
    #[case::utf8_surrogate_bytes(b"\xed\xa0\x80", r"\xed\xa0\x80")]
    #[case::backslash(b"a\\b", r"a\\b")]
    #[case::double_quote(b"q\"q", r#"q\"q"#)]
    #[case::newline(b"nl\nx", r"nl\nx")]
    #[case::tab(b"tab\tx", r"tab\tx")]
    #[case::named_controls(b"\x07\x08\x0c\r\x0b", r"\a\b\f\r\v")]
    #[case::other_control(b"ctl\x01", r"ctl\x01")]
    #[case::del(b"del\x7f", r"del\x7f")]
    #[case::single_quote(b"it's", "it's")]
    #[case::printable_utf8("é ü 日本 😀".as_bytes(), "é ü 日本 😀")]
    #[case::c1_control("\u{80}c1".as_bytes(), r"\u0080c1")]
    #[case::no_break_space("nb\u{a0}".as_bytes(), r"nb\u00a0")]
    #[case::soft_hyphen("\u{ad}".as_bytes(), r"\u00ad")]
    #[case::zero_width_space("zw\u{200b}".as_bytes(), r"zw\u200b")]
    #[case::line_separator("\u{2028}".as_bytes(), r"\u2028")]
    #[case::bom("\u{feff}".as_bytes(), r"\ufeff")]
    #[case::private_use("\u{e000}".as_bytes(), r"\ue000")]
    #[case::replacement_char_itself("\u{fffd}".as_bytes(), "\u{fffd}")]
    #[case::astral_format_char("\u{e0001}".as_bytes(), r"\U000e0001")]
    #[case::astral_unassigned("\u{10ffff}".as_bytes(), r"\U0010ffff")]
    #[case::html_chars(b"<&>", "<&>")]
    fn quotes_like_go(#[case] raw: &[u8], #[case] stored: &str) {
        assert_eq!(quote(raw), stored);
        assert_eq!(unquote(stored).unwrap(), raw, "{stored}");
    }

    // Forms restic accepts but never writes: they must read back to the same bytes as Go's
    // strconv.Unquote gives.
    #[rstest]
    #[case::octal(r"\377\101", b"\xffA")]
    #[case::upper_hex(r"\xFF\u00E9", b"\xff\xc3\xa9")]
    #[case::raw_tab("a\tb", b"a\tb")]
    #[case::raw_control("a\x01b", b"a\x01b")]
    #[case::raw_nonprintable("\u{a0}", b"\xc2\xa0")]
    #[case::escaped_printable(r"\u00e9", b"\xc3\xa9")]
    #[case::zero(r"\x00", b"\x00")]
    fn reads_what_go_reads(#[case] stored: &str, #[case] raw: &[u8]) {
        assert_eq!(unquote(stored).unwrap(), raw);
    }

    #[rstest]
    #[case::raw_quote("a\"b", 1)]
    #[case::raw_newline("a\nb", 1)]
    #[case::trailing_backslash("ab\\", 2)]
    #[case::unknown_escape(r"a\qb", 1)]
    #[case::single_quote_escape(r"\'", 0)]
    #[case::short_hex(r"\xf", 0)]
    #[case::bad_hex(r"\xzz", 0)]
    #[case::surrogate(r"\ud800", 0)]
    #[case::beyond_unicode(r"\U00110000", 0)]
    #[case::octal_too_big(r"\400", 0)]
    #[case::octal_bad_digit(r"\18", 0)]
    fn refuses_what_go_refuses(#[case] stored: &str, #[case] offset: usize) {
        let e = unquote(stored).unwrap_err();
        assert_eq!(e.offset, offset, "{e}");
    }

    #[test]
    fn every_byte_pair_round_trips() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let raw = [a, b, b'x'];
                assert_eq!(unquote(&quote(&raw)).unwrap(), raw);
            }
        }
    }

    #[rstest]
    #[case::valid("tgt".as_bytes(), "tgt")]
    #[case::one_per_invalid_byte(b"t\xe2\x82x\xff", "t\u{fffd}\u{fffd}x\u{fffd}")]
    fn json_lossy_like_go(#[case] raw: &[u8], #[case] want: &str) {
        assert_eq!(json_lossy(raw), want);
    }
}
