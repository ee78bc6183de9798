//! Finds the line of a field path (`backup.identity.role_arn`, `regions[0].zones[1]`) in a
//! tenant file, so rule violations found after parsing can point at the line to edit.
//!
//! The YAML parser reports positions only for syntax and type errors; rules checked later
//! (quorum, storage class, identity) know the field path but not the line. This walks block
//! indentation, which is how tenant files are written. For flow style (`zones: [a, b]`) or
//! anything it does not follow, it answers with the deepest line it did find — never a wrong
//! deeper one.

/// One meaningful line: 1-based number, indentation, and the text after it.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            if let Ok(n) = stripped[..end].parse() {
                out.push(Segment::Index(n));
            }
            rest = &stripped[end + 1..];
        }
    }
    out
}

fn meaningful_lines(text: &str) -> Vec<Line<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let trimmed = raw.trim_start_matches(' ');
            let body = trimmed.trim_end();
            if body.is_empty() || body.starts_with('#') || body == "---" || body == "..." {
                return None;
            }
            Some(Line {
                number: i + 1,
                indent: raw.len() - trimmed.len(),
                text: body,
            })
        })
        .collect()
}

/// Whether `text` is a mapping entry for `key` (`key:` or `"key":`), and what follows the colon.
fn entry_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    for quoted in [key.to_owned(), format!("\"{key}\""), format!("'{key}'")] {
        if let Some(rest) = text.strip_prefix(quoted.as_str())
            && let Some(value) = rest.trim_start().strip_prefix(':')
            && (value.is_empty() || value.starts_with(' '))
        {
            return Some(value.trim());
        }
    }
    None
}

fn sequence_item(text: &str) -> Option<&str> {
    if text == "-" {
        Some("")
    } else {
        text.strip_prefix("- ").map(str::trim_start)
    }
}

/// The 1-based line of `path` in `text`, or of the deepest part of it that exists.
pub(crate) fn line_of(text: &str, path: &str) -> Option<usize> {
    let lines = meaningful_lines(text);
    let mut range = 0..lines.len();
    // After selecting a sequence item, its first line is read as the text after "- ".
    let mut first_override: Option<(usize, &str)> = None;
    let mut found = None;
    for segment in segments(path) {
        if range.is_empty() {
            break;
        }
        let effective = |i: usize| -> (usize, &str) {
            match first_override {
                Some(o) if i == range.start => o,
                _ => (lines[i].indent, lines[i].text),
            }
        };
        let block_indent = effective(range.start).0;
        match segment {
            Segment::Key(key) => {
                let Some(i) = range.clone().find(|&i| {
                    let (indent, text) = effective(i);
                    indent == block_indent && entry_value(text, key).is_some()
                }) else {
                    break;
                };
                found = Some(lines[i].number);
                let (_, text) = effective(i);
                let value = entry_value(text, key).unwrap_or("");
                if !value.is_empty() {
                    // A scalar or flow value on the same line: nothing deeper to find.
                    break;
                }
                let start = i + 1;
                let end = (start..range.end)
                    .find(|&j| {
                        let l = lines[j];
                        l.indent < block_indent
                            || (l.indent == block_indent && sequence_item(l.text).is_none())
                    })
                    .unwrap_or(range.end);
                range = start..end;
                first_override = None;
            }
            Segment::Index(n) => {
                let items: Vec<usize> = range
                    .clone()
                    .filter(|&i| {
                        let (indent, text) = effective(i);
                        indent == block_indent && sequence_item(text).is_some()
                    })
                    .collect();
                let Some(&i) = items.get(n) else { break };
                found = Some(lines[i].number);
                let end = items.iter().copied().find(|&j| j > i).unwrap_or(range.end);
                let (indent, text) = effective(i);
                let inner = sequence_item(text).unwrap_or("");
                let offset = text.len() - inner.len();
                range = i..end;
                first_override = Some((indent + offset, inner));
                if inner.is_empty() {
                    range = i + 1..end;
                    first_override = None;
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const TEXT: &str = "\
# a tenant
tenant: acme
regions:
  - name: us-east-1
    zones:
      - us-east-1a
      - us-east-1b
  - name: us-west-2
    zones: [us-west-2a]
cockroachdb:
  version: v25.2.4

  nodes: 4
backup:
  identity:
    kind: irsa
    role_arn: nope
redpanda:
  topics:
  - name: a
  - name: b
    partitions: 0
";

    #[rstest]
    #[case("tenant", Some(2))]
    #[case("regions", Some(3))]
    #[case("regions[0]", Some(4))]
    #[case("regions[0].name", Some(4))]
    #[case("regions[0].zones[1]", Some(7))]
    #[case("regions[1].name", Some(8))]
    #[case("regions[1].zones[0]", Some(9))]
    #[case("cockroachdb.nodes", Some(13))]
    #[case("backup.identity.role_arn", Some(17))]
    #[case("backup.identity.client_id", Some(15))]
    #[case("redpanda.topics[1].partitions", Some(22))]
    #[case("redpanda.topics[5]", Some(19))]
    #[case("missing", None)]
    fn finds_lines(#[case] path: &str, #[case] line: Option<usize>) {
        assert_eq!(line_of(TEXT, path), line, "{path}");
    }

    #[test]
    fn keys_of_nested_blocks_do_not_match_at_the_wrong_depth() {
        let text = "backup:\n  bucket: x\nbucket: y\n";
        assert_eq!(line_of(text, "bucket"), Some(3));
        assert_eq!(line_of(text, "backup.bucket"), Some(2));
    }
}
