//! Diagnostics as people and tools read them, with no compiler in sight.
//!
//! The text form shows the source line and a caret under the span; the JSON form is
//! one object per diagnostic (`severity code message labels notes suggestion`, each
//! label with `file start end line col message`). The layout is exactly the one the
//! compiler's renderer uses for front-end diagnostics, so a runtime error from an AOT
//! binary reads byte for byte like the same error under the JIT.

use std::io::IsTerminal;

use serde_json::{json, Value as Json};

use super::{Failure, SourceText, SpanInfo};

/// How diagnostics are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagFormat {
    /// Human-readable text; `color` adds ANSI escapes.
    Text { color: bool },
    /// One JSON object per line.
    Json,
}

impl DiagFormat {
    /// Text on a terminal (coloured unless `NO_COLOR` is set and non-empty), JSON
    /// elsewhere, so tools reading a pipe get something they can parse.
    pub fn detect() -> DiagFormat {
        if std::io::stderr().is_terminal() {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            DiagFormat::Text { color: !no_color }
        } else {
            DiagFormat::Json
        }
    }
}

/// A labelled span of a diagnostic; the first label is the primary location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelInfo {
    pub span: SpanInfo,
    pub message: String,
}

/// A diagnostic in renderable form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    /// `error`, `warning` or `hint`.
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<LabelInfo>,
    pub notes: Vec<String>,
    pub suggestion: Option<String>,
}

impl Diag {
    /// The diagnostic of a runtime failure: its code and message at the failing span
    /// (no location when compiled code did not attach one).
    pub fn from_failure(f: &Failure) -> Diag {
        Diag {
            severity: "error",
            code: f.error.code,
            message: f.error.message.clone(),
            labels: f
                .span
                .map(|span| LabelInfo {
                    span,
                    message: String::new(),
                })
                .into_iter()
                .collect(),
            notes: Vec::new(),
            suggestion: None,
        }
    }
}

/// Render diagnostics in `format`, each ending with a newline.
pub fn render_all(diags: &[Diag], sources: &[SourceText], format: DiagFormat) -> String {
    let mut out = String::new();
    for d in diags {
        match format {
            DiagFormat::Text { color } => out.push_str(&render_text(d, sources, color)),
            DiagFormat::Json => out.push_str(&render_json(d, sources).to_string()),
        }
        out.push('\n');
    }
    out
}

/// ANSI styles, or nothing when colour is off.
struct Palette {
    severity: &'static str,
    accent: &'static str,
    bold: &'static str,
    reset: &'static str,
}

impl Palette {
    fn new(color: bool, severity: &str) -> Palette {
        if !color {
            return Palette {
                severity: "",
                accent: "",
                bold: "",
                reset: "",
            };
        }
        Palette {
            severity: match severity {
                "warning" => "\x1b[1;33m",
                "hint" => "\x1b[1;36m",
                _ => "\x1b[1;31m",
            },
            accent: "\x1b[1;34m",
            bold: "\x1b[1m",
            reset: "\x1b[0m",
        }
    }
}

/// The text form, without a trailing newline:
///
/// ```text
/// error[ILO-R004]: index 5 out of bounds (length 3)
///  --> prog.ilo:1:9
///   |
/// 1 | f xs:L n>n;xs.5
///   |            ^^^^
/// ```
pub fn render_text(d: &Diag, sources: &[SourceText], color: bool) -> String {
    let p = Palette::new(color, d.severity);
    let mut out = format!(
        "{}{}[{}]{}{}: {}{}",
        p.severity, d.severity, d.code, p.reset, p.bold, d.message, p.reset
    );
    let located: Vec<(&LabelInfo, Location)> = d
        .labels
        .iter()
        .filter_map(|l| locate(sources, l.span).map(|loc| (l, loc)))
        .collect();
    // The gutter is as wide as the largest line number shown.
    let width = located
        .iter()
        .map(|(_, loc)| loc.line.to_string().len())
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(width);
    for (i, (label, loc)) in located.iter().enumerate() {
        let arrow = if i == 0 { "-->" } else { ":::" };
        out.push_str(&format!(
            "\n{pad}{}{arrow}{} {}:{}:{}",
            p.accent, p.reset, loc.file, loc.line, loc.col
        ));
        out.push_str(&format!("\n{pad} {}|{}", p.accent, p.reset));
        out.push_str(&format!(
            "\n{}{:>width$} |{} {}",
            p.accent, loc.line, p.reset, loc.text
        ));
        let marker = if i == 0 { "^" } else { "-" };
        let mut underline = format!("{}{}{}", loc.indent, marker.repeat(loc.carets), p.reset);
        if !label.message.is_empty() {
            underline.push(' ');
            underline.push_str(&label.message);
        }
        out.push_str(&format!(
            "\n{pad} {}|{} {}{}",
            p.accent, p.reset, p.severity, underline
        ));
    }
    for note in &d.notes {
        out.push_str(&format!("\n{pad} {}={} note: {note}", p.accent, p.reset));
    }
    if let Some(s) = &d.suggestion {
        out.push_str(&format!("\n{pad} {}={} suggestion: {s}", p.accent, p.reset));
    }
    out
}

/// The JSON form (byte offsets, 1-based line and column; a label outside every known
/// file has a null `file` and line and column 0).
pub fn render_json(d: &Diag, sources: &[SourceText]) -> Json {
    let labels: Vec<Json> = d
        .labels
        .iter()
        .map(|l| {
            let (file, line, col) = match locate(sources, l.span) {
                Some(loc) => (Json::from(loc.file), loc.line, loc.col),
                None => (Json::Null, 0, 0),
            };
            json!({
                "file": file,
                "start": l.span.start,
                "end": l.span.end,
                "line": line,
                "col": col,
                "message": l.message,
            })
        })
        .collect();
    json!({
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
        "labels": labels,
        "notes": d.notes,
        "suggestion": d.suggestion,
    })
}

/// A span resolved against its source file.
struct Location {
    file: String,
    line: usize,
    col: usize,
    /// The span's first line, as written.
    text: String,
    /// Whitespace that puts the caret under the span's first character; tabs are
    /// copied so the caret lines up whatever the terminal's tab width.
    indent: String,
    /// The span's width on its first line, at least one.
    carets: usize,
}

fn locate(sources: &[SourceText], span: SpanInfo) -> Option<Location> {
    let file = sources.get(span.file as usize)?;
    let (line, col) = line_col(&file.text, span.start);
    let text = line_text(&file.text, line).to_string();
    let indent: String = text
        .chars()
        .take(col - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let (end_line, end_col) = line_col(&file.text, span.end);
    let end_col = if end_line == line {
        end_col
    } else {
        text.chars().count() + 1
    };
    Some(Location {
        file: file.name.clone(),
        line,
        col,
        text,
        indent,
        carets: end_col.saturating_sub(col).max(1),
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: u32) -> (usize, usize) {
    let mut at = (offset as usize).min(text.len());
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The 1-based line `line`, without its line ending.
fn line_text(text: &str, line: usize) -> &str {
    text.split('\n')
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .trim_end_matches('\r')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RtError;

    fn sources() -> Vec<SourceText> {
        vec![SourceText {
            name: "prog.ilo".into(),
            text: "g>n;1\nf x:n>n;foo x\n".into(),
        }]
    }

    fn failure(span: Option<SpanInfo>) -> Failure {
        Failure {
            error: RtError::new("ILO-R004", "division by zero"),
            span,
        }
    }

    #[test]
    fn text_shows_location_line_and_carets() {
        let span = SpanInfo {
            file: 0,
            start: 14,
            end: 17,
        };
        let text = render_all(
            &[Diag::from_failure(&failure(Some(span)))],
            &sources(),
            DiagFormat::Text { color: false },
        );
        assert_eq!(
            text,
            "error[ILO-R004]: division by zero\n --> prog.ilo:2:9\n  |\n2 | f x:n>n;foo x\n  |         ^^^\n"
        );
    }

    #[test]
    fn no_span_means_no_location() {
        let d = Diag::from_failure(&failure(None));
        assert_eq!(
            render_text(&d, &sources(), false),
            "error[ILO-R004]: division by zero"
        );
        let j = render_json(&d, &sources());
        assert_eq!(j["labels"], json!([]));
        assert_eq!(j["suggestion"], Json::Null);
    }

    #[test]
    fn json_fields_and_unknown_file() {
        let span = SpanInfo {
            file: 0,
            start: 14,
            end: 17,
        };
        let j = render_json(&Diag::from_failure(&failure(Some(span))), &sources());
        assert_eq!(j["code"], "ILO-R004");
        assert_eq!(j["labels"][0]["file"], "prog.ilo");
        assert_eq!(
            (
                j["labels"][0]["line"].clone(),
                j["labels"][0]["col"].clone()
            ),
            (json!(2), json!(9))
        );
        let elsewhere = SpanInfo { file: 7, ..span };
        let j = render_json(&Diag::from_failure(&failure(Some(elsewhere))), &sources());
        assert_eq!(j["labels"][0]["file"], Json::Null);
        assert_eq!(j["labels"][0]["line"], 0);
    }

    #[test]
    fn colour_only_when_asked() {
        let d = Diag::from_failure(&failure(None));
        assert!(render_text(&d, &sources(), true).starts_with("\x1b[1;31merror"));
    }
}
