//! Terraform (HCL) text for the access documents: blocks of attributes, with JSON documents
//! written as `jsonencode({...})` so a platform team reads and diffs them as HCL.

use serde_json::Value;

/// An HCL expression, already written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expr(String);

impl Expr {
    /// A literal string.
    pub(crate) fn string(text: &str) -> Self {
        Expr(quote(text))
    }

    /// A reference or function call, written as is (e.g. `aws_iam_role.x.name`).
    pub(crate) fn raw(text: impl Into<String>) -> Self {
        Expr(text.into())
    }

    /// A list of literal strings.
    pub(crate) fn strings<S: AsRef<str>>(items: &[S]) -> Self {
        let items: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
        Expr(format!("[{}]", items.join(", ")))
    }

    /// `jsonencode(...)` of a JSON document.
    pub(crate) fn jsonencode(document: &Value) -> Self {
        Expr(format!("jsonencode({})", value(document, 0)))
    }
}

/// A Terraform block: `resource "TYPE" "NAME" { … }`, `data …`, or a nested block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    header: String,
    comment: Option<String>,
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Attribute(String, Expr),
    Block(Block),
}

impl Block {
    pub(crate) fn resource(kind: &str, name: &str) -> Self {
        Block::new(format!("resource {} {}", quote(kind), quote(name)))
    }

    pub(crate) fn data(kind: &str, name: &str) -> Self {
        Block::new(format!("data {} {}", quote(kind), quote(name)))
    }

    /// A nested block such as `condition` or `lifecycle`.
    pub(crate) fn nested(name: &str) -> Self {
        Block::new(name.to_owned())
    }

    fn new(header: String) -> Self {
        Block {
            header,
            comment: None,
            items: Vec::new(),
        }
    }

    /// A `#` comment above the block (one line per line of `text`).
    pub(crate) fn comment(mut self, text: &str) -> Self {
        self.comment = Some(text.to_owned());
        self
    }

    pub(crate) fn attr(mut self, key: &str, expr: Expr) -> Self {
        self.items.push(Item::Attribute(key.to_owned(), expr));
        self
    }

    pub(crate) fn block(mut self, block: Block) -> Self {
        self.items.push(Item::Block(block));
        self
    }

    /// The block's text at `indent` levels, as `terraform fmt` lays it out (the `=` of
    /// consecutive one-line attributes aligned).
    pub(crate) fn render(&self, indent: usize) -> String {
        let pad = "  ".repeat(indent);
        let mut out = String::new();
        if let Some(comment) = &self.comment {
            for line in comment.lines() {
                out.push_str(&format!("{pad}# {line}\n"));
            }
        }
        out.push_str(&format!("{pad}{} {{\n", self.header));
        let mut i = 0;
        while i < self.items.len() {
            match &self.items[i] {
                Item::Block(b) => {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push_str(&b.render(indent + 1));
                    i += 1;
                }
                Item::Attribute(..) => {
                    // A run of attributes; terraform fmt aligns those on one line each.
                    let run: Vec<(&String, &Expr)> = self.items[i..]
                        .iter()
                        .map_while(|item| match item {
                            Item::Attribute(k, v) => Some((k, v)),
                            Item::Block(_) => None,
                        })
                        .collect();
                    if i > 0 {
                        out.push('\n');
                    }
                    let width = run
                        .iter()
                        .filter(|(_, v)| !v.0.contains('\n'))
                        .map(|(k, _)| k.len())
                        .max()
                        .unwrap_or(0);
                    for (key, expr) in &run {
                        let inner = "  ".repeat(indent + 1);
                        let text = expr.0.replace('\n', &format!("\n{inner}"));
                        if expr.0.contains('\n') {
                            out.push_str(&format!("{inner}{key} = {text}\n"));
                        } else {
                            out.push_str(&format!("{inner}{key:width$} = {text}\n"));
                        }
                    }
                    i += run.len();
                }
            }
        }
        out.push_str(&format!("{pad}}}\n"));
        out
    }
}

/// A Terraform identifier from free text: letters, digits and '_' (the rest becomes '_').
pub(crate) fn identifier(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert(0, '_');
    }
    out
}

/// A quoted HCL string. Template sequences (`${`, `%{`) are escaped, so IAM policy variables
/// such as `${aws:username}` reach the provider as written.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON value as an HCL expression, objects and long lists over several lines.
fn value(v: &Value, indent: usize) -> String {
    let pad = "  ".repeat(indent + 1);
    let end = "  ".repeat(indent);
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let scalars = items.iter().all(|i| !i.is_object() && !i.is_array());
            let inline: Vec<String> = items.iter().map(|i| value(i, indent)).collect();
            let one_line = format!("[{}]", inline.join(", "));
            if scalars && one_line.len() <= 80 {
                return one_line;
            }
            let mut out = "[\n".to_owned();
            for item in items {
                out.push_str(&format!("{pad}{},\n", value(item, indent + 1)));
            }
            out.push_str(&format!("{end}]"));
            out
        }
        Value::Object(map) => {
            if map.is_empty() {
                return "{}".to_owned();
            }
            let mut out = "{\n".to_owned();
            for (key, item) in map {
                out.push_str(&format!(
                    "{pad}{} = {}\n",
                    quote(key),
                    value(item, indent + 1)
                ));
            }
            out.push_str(&format!("{end}}}"));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("plain", "\"plain\"")]
    #[case("say \"hi\"", "\"say \\\"hi\\\"\"")]
    #[case("${aws:username}", "\"$${aws:username}\"")]
    #[case("%{if}", "\"%%{if}\"")]
    #[case("cost $5 and 50%", "\"cost $5 and 50%\"")]
    #[case("a\\b", "\"a\\\\b\"")]
    fn strings_are_quoted_without_templates(#[case] text: &str, #[case] quoted: &str) {
        assert_eq!(quote(text), quoted);
    }

    #[rstest]
    #[case("acme-bank-prod", "acme_bank_prod")]
    #[case("1st", "_1st")]
    fn identifiers(#[case] text: &str, #[case] id: &str) {
        assert_eq!(identifier(text), id);
    }

    #[test]
    fn blocks_align_their_attributes_and_nest() {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]});
        let text = Block::resource("aws_iam_policy", "p")
            .comment("why")
            .attr("name", Expr::string("p"))
            .attr("description", Expr::string("d"))
            .attr("policy", Expr::jsonencode(&doc))
            .block(Block::nested("lifecycle").attr("create_before_destroy", Expr::raw("true")))
            .render(0);
        assert_eq!(
            text,
            "# why\n\
             resource \"aws_iam_policy\" \"p\" {\n\
            \x20 name        = \"p\"\n\
            \x20 description = \"d\"\n\
            \x20 policy = jsonencode({\n\
            \x20   \"Statement\" = [\n\
            \x20     {\n\
            \x20       \"Effect\" = \"Allow\"\n\
            \x20     },\n\
            \x20   ]\n\
            \x20   \"Version\" = \"2012-10-17\"\n\
            \x20 })\n\
             \n\
            \x20 lifecycle {\n\
            \x20   create_before_destroy = true\n\
            \x20 }\n\
             }\n"
        );
    }
}
