//! A report printed for people and for CI systems: a table, JSON, YAML, SARIF, JUnit XML or
//! GitHub Actions annotations. Every format carries the same findings.

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use serde_json::json;

use crate::error::PolicyError;
use crate::finding::{Finding, Report, Severity};

/// How [`Report::render`] prints a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReportFormat {
    /// Human-readable findings and a verdict line.
    Table,
    /// One JSON document: verdict, counts, files, packages and findings.
    Json,
    /// The JSON document as YAML.
    Yaml,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML: one test suite per input file, one test case per finding (denials fail;
    /// warnings fail in strict mode), a passing case for a file without findings.
    Junit,
    /// GitHub Actions workflow commands: one `::error` (denial) or `::warning` annotation per
    /// finding, on the input file, then the verdict line.
    Github,
}

impl ReportFormat {
    /// Every format, in the order of [`ReportFormat::as_str`]'s names.
    pub const ALL: [ReportFormat; 6] = [
        ReportFormat::Table,
        ReportFormat::Json,
        ReportFormat::Yaml,
        ReportFormat::Sarif,
        ReportFormat::Junit,
        ReportFormat::Github,
    ];

    /// The format's name: `table`, `json`, `yaml`, `sarif`, `junit` or `github`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Table => "table",
            ReportFormat::Json => "json",
            ReportFormat::Yaml => "yaml",
            ReportFormat::Sarif => "sarif",
            ReportFormat::Junit => "junit",
            ReportFormat::Github => "github",
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReportFormat {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| PolicyError::UnknownFormat { name: s.to_owned() })
    }
}

impl Report {
    /// The report as text in `format`. `strict` is the check's mode: warnings fail it too
    /// (see [`Report::fails`]), which the verdict, JUnit failures and counts reflect.
    pub fn render(&self, format: ReportFormat, strict: bool) -> Result<String, PolicyError> {
        let render_err = |message: String| PolicyError::Render { format, message };
        match format {
            ReportFormat::Table => Ok(self.table(strict)),
            ReportFormat::Json => serde_json::to_string_pretty(&self.summary(strict))
                .map(|s| s + "\n")
                .map_err(|e| render_err(e.to_string())),
            ReportFormat::Yaml => serde_yaml_ng::to_string(&self.summary(strict))
                .map_err(|e| render_err(e.to_string())),
            ReportFormat::Sarif => serde_json::to_string_pretty(&self.sarif())
                .map(|s| s + "\n")
                .map_err(|e| render_err(e.to_string())),
            ReportFormat::Junit => Ok(self.junit(strict)),
            ReportFormat::Github => Ok(self.github(strict)),
        }
    }

    /// `FAILED: 1 denied, 0 warnings in 2 files`.
    pub fn verdict_line(&self, strict: bool) -> String {
        let denied = self.denials().count();
        let warned = self.warnings().count();
        format!(
            "{}: {denied} denied, {warned} warning{} in {} file{}{}",
            if self.fails(strict) {
                "FAILED"
            } else {
                "PASSED"
            },
            if warned == 1 { "" } else { "s" },
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" },
            if strict && warned > 0 && denied == 0 {
                " (warnings fail with --strict)"
            } else {
                ""
            },
        )
    }

    fn table(&self, strict: bool) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let tag = match f.severity {
                Severity::Deny => "DENY",
                Severity::Warn => "WARN",
            };
            let file = if f.file.is_empty() {
                String::new()
            } else {
                format!("  ({})", f.file)
            };
            let _ = writeln!(out, "{tag}  {}  {}{file}", f.rule, shown_resource(f));
            let _ = writeln!(out, "      {}", f.message);
            if !f.remediation.is_empty() {
                let _ = writeln!(out, "      fix: {}", f.remediation);
            }
        }
        let _ = writeln!(out, "{}", self.verdict_line(strict));
        out
    }

    fn summary(&self, strict: bool) -> serde_json::Value {
        json!({
            "passed": !self.fails(strict),
            "denied": self.denials().count(),
            "warned": self.warnings().count(),
            "strict": strict,
            "files": self.files,
            "packages": self.packages,
            "findings": self.findings,
        })
    }

    /// One run, one rule per rule id, one result per finding, located at the input file with
    /// the resource as a logical location.
    fn sarif(&self) -> serde_json::Value {
        let mut rules: Vec<&str> = self.findings.iter().map(|f| f.rule.as_str()).collect();
        rules.sort_unstable();
        rules.dedup();
        let results: Vec<_> = self
            .findings
            .iter()
            .map(|f| {
                let mut location = json!({
                    "logicalLocations": [{ "fullyQualifiedName": f.resource, "kind": "resource" }]
                });
                if !f.file.is_empty() {
                    location["physicalLocation"] = json!({ "artifactLocation": { "uri": f.file } });
                }
                json!({
                    "ruleId": f.rule,
                    "level": if f.severity == Severity::Deny { "error" } else { "warning" },
                    "message": { "text": format!("{}: {}", shown_resource(f), f.message) },
                    "properties": { "resource": f.resource, "remediation": f.remediation },
                    "locations": [location],
                })
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "ledger-policy",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules.iter().map(|r| json!({ "id": r, "name": r })).collect::<Vec<_>>(),
                }},
                "results": results,
            }],
        })
    }

    fn junit(&self, strict: bool) -> String {
        // Suites in file order, then findings that name no file.
        let mut suites: Vec<(&str, Vec<&Finding>)> = self
            .files
            .iter()
            .map(|f| (f.as_str(), Vec::new()))
            .collect();
        for f in &self.findings {
            match suites.iter_mut().find(|(file, _)| *file == f.file) {
                Some((_, found)) => found.push(f),
                None => suites.push((f.file.as_str(), vec![f])),
            }
        }
        let fails = |f: &Finding| f.severity == Severity::Deny || strict;
        let total_cases: usize = suites.iter().map(|(_, f)| f.len().max(1)).sum();
        let total_failures = self.findings.iter().filter(|f| fails(f)).count();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"ledger-policy\" tests=\"{total_cases}\" failures=\"{total_failures}\" errors=\"0\">"
        );
        for (file, findings) in &suites {
            let name = if file.is_empty() {
                "ledger-policy"
            } else {
                file
            };
            let failures = findings.iter().filter(|f| fails(f)).count();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
                xml(name),
                findings.len().max(1)
            );
            if findings.is_empty() {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{}\" name=\"every guardrail passes\"/>",
                    xml(name)
                );
            }
            for f in findings {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{} {}\">",
                    xml(&f.rule),
                    xml(&f.rule),
                    xml(shown_resource(f))
                );
                let body = if f.remediation.is_empty() {
                    f.message.clone()
                } else {
                    format!("{}\nfix: {}", f.message, f.remediation)
                };
                if fails(f) {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                        f.severity,
                        xml(&f.message),
                        xml(&body)
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "      <system-out>{}: {}</system-out>",
                        f.severity,
                        xml(&body)
                    );
                }
                out.push_str("    </testcase>\n");
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }

    fn github(&self, strict: bool) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let command = match f.severity {
                Severity::Deny => "error",
                Severity::Warn => "warning",
            };
            let mut properties = Vec::new();
            if !f.file.is_empty() {
                properties.push(format!("file={}", github_property(&f.file)));
            }
            properties.push(format!("title={}", github_property(&f.rule)));
            let mut text = format!("{}: {}", shown_resource(f), f.message);
            if !f.remediation.is_empty() {
                text.push_str(&format!("\nfix: {}", f.remediation));
            }
            let _ = writeln!(
                out,
                "::{command} {}::{}",
                properties.join(","),
                github_data(&text)
            );
        }
        let _ = writeln!(out, "{}", self.verdict_line(strict));
        out
    }
}

fn shown_resource(f: &Finding) -> &str {
    if f.resource.is_empty() {
        "-"
    } else {
        &f.resource
    }
}

/// Text for an XML attribute or element.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            // XML 1.0 allows no other control characters, even escaped.
            c if c.is_control() && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A workflow command's message (GitHub's escaping of `%`, CR and LF).
fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value (also `:` and `,`).
fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in ReportFormat::ALL {
            assert_eq!(f.as_str().parse::<ReportFormat>().ok(), Some(f));
        }
        assert!("xml".parse::<ReportFormat>().is_err());
    }

    #[test]
    fn escaping_keeps_commands_and_xml_intact() {
        assert_eq!(github_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(github_property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(
            xml("<a & \"b\">\u{7}"),
            "&lt;a &amp; &quot;b&quot;&gt;\u{FFFD}"
        );
    }
}
