//! Rendering diagnostics for people (text with the source line and a caret) and for
//! tools (one JSON object per diagnostic).
//!
//! The renderer knows nothing about terminals: the caller decides whether colour is
//! wanted (stderr is a terminal and `NO_COLOR` is unset) and which format to use.
//! Every location is resolved through the [`SourceMap`] that loaded the program, so a
//! diagnostic in an imported file names that file.

use serde_json::{json, Value as Json};

use crate::diag::{Diagnostic, Label, Severity};
use crate::span::{SourceMap, Span};

/// How diagnostics are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human-readable text; `color` adds ANSI escapes.
    Text { color: bool },
    /// One JSON object per line.
    Json,
}

/// Render a batch of diagnostics in `format`, each ending with a newline.
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap, format: Format) -> String {
    let mut out = String::new();
    for d in diags {
        match format {
            Format::Text { color } => {
                out.push_str(&render_text(d, sources, color));
                out.push('\n');
            }
            Format::Json => {
                out.push_str(&render_json(d, sources).to_string());
                out.push('\n');
            }
        }
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
    fn new(color: bool, severity: Severity) -> Palette {
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
                Severity::Error => "\x1b[1;31m",
                Severity::Warning => "\x1b[1;33m",
                Severity::Hint => "\x1b[1;36m",
            },
            accent: "\x1b[1;34m",
            bold: "\x1b[1m",
            reset: "\x1b[0m",
        }
    }
}

/// The text form:
///
/// ```text
/// error[ILO-T005]: undefined function 'foo' (called with 1 args)
///   --> prog.ilo:1:9
///    |
///  1 | f x:n>n;foo x
///    |         ^^^
///    = note: in function 'f'
///    = suggestion: did you mean 'f'?
/// ```
///
/// The result has no trailing newline.
pub fn render_text(d: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let p = Palette::new(color, d.severity);
    let mut out = format!(
        "{}{}[{}]{}{}: {}{}",
        p.severity,
        d.severity.as_str(),
        d.code,
        p.reset,
        p.bold,
        d.message,
        p.reset
    );

    let located: Vec<(&Label, Location)> = d
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
        let marker = if i == 0 { '^' } else { '-' };
        let mut underline = format!(
            "{}{}{}",
            loc.indent,
            marker.to_string().repeat(loc.carets),
            p.reset
        );
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

/// The JSON form: `severity code message labels notes suggestion`, where each label
/// has `file start end line col message` (byte offsets, 1-based line and column).
pub fn render_json(d: &Diagnostic, sources: &SourceMap) -> Json {
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
        "severity": d.severity.as_str(),
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
    /// Whitespace that puts the caret under the span's first character. Tabs in the
    /// source are copied so the caret lines up whatever the terminal's tab width.
    indent: String,
    /// Number of carets: the span's width on its first line, at least one.
    carets: usize,
}

fn locate(sources: &SourceMap, span: Span) -> Option<Location> {
    let file = sources.files.get(span.file.0 as usize)?;
    let (line, col) = sources.line_col(span.file, span.start);
    let text = sources.line_text(span.file, line).to_string();
    let before: String = text
        .chars()
        .take(col - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let (end_line, end_col) = sources.line_col(span.file, span.end);
    let line_chars = text.chars().count();
    let end_col = if end_line == line {
        end_col
    } else {
        line_chars + 1
    };
    Some(Location {
        file: file.name.clone(),
        line,
        col,
        text,
        indent: before,
        carets: end_col.saturating_sub(col).max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::span::{SourceMap, Span};

    fn sample() -> (Diagnostic, SourceMap) {
        let mut sm = SourceMap::default();
        let f = sm.add("prog.ilo", "g>n;1\nf x:n>n;foo x\n");
        // `foo` starts at byte 14 of the file: line 2, column 9.
        let d = Diagnostic::error(
            "ILO-T005",
            "undefined function 'foo' (called with 1 args)",
            Span::new(f, 14, 17),
        )
        .with_note("in function 'f'")
        .with_suggestion("did you mean 'f'?");
        (d, sm)
    }

    #[test]
    fn text_has_header_location_line_and_caret() {
        let (d, sm) = sample();
        let text = render_text(&d, &sm, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "error[ILO-T005]: undefined function 'foo' (called with 1 args)"
        );
        assert_eq!(lines[1], " --> prog.ilo:2:9");
        assert_eq!(lines[3], "2 | f x:n>n;foo x");
        let caret = lines[4];
        let source_col = lines[3].find("foo").unwrap();
        assert_eq!(caret.find('^'), Some(source_col));
        assert_eq!(caret.matches('^').count(), 3);
        assert!(text.contains("= note: in function 'f'"));
        assert!(text.contains("= suggestion: did you mean 'f'?"));
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colour_only_when_asked() {
        let (d, sm) = sample();
        assert!(render_text(&d, &sm, true).contains("\x1b[1;31m"));
    }

    #[test]
    fn json_fields() {
        let (d, sm) = sample();
        let j = render_json(&d, &sm);
        assert_eq!(j["severity"], "error");
        assert_eq!(j["code"], "ILO-T005");
        assert_eq!(j["labels"][0]["file"], "prog.ilo");
        assert_eq!(j["labels"][0]["start"], 14);
        assert_eq!(j["labels"][0]["end"], 17);
        assert_eq!(j["labels"][0]["line"], 2);
        assert_eq!(j["labels"][0]["col"], 9);
        assert_eq!(j["notes"][0], "in function 'f'");
        assert_eq!(j["suggestion"], "did you mean 'f'?");
    }

    #[test]
    fn caret_follows_tabs_and_multibyte_text() {
        let mut sm = SourceMap::default();
        let src = "f>t;\t\"é\" x";
        let f = sm.add("<inline>", src);
        let start = src.find('x').unwrap();
        let d = Diagnostic::error("ILO-P001", "stray", Span::new(f, start, start + 1));
        let text = render_text(&d, &sm, false);
        let caret_line = text.lines().nth(4).unwrap();
        // Four columns before the tab, the tab itself, then `"é" ` (four characters).
        assert_eq!(caret_line, "  |     \t    ^");
    }

    #[test]
    fn empty_span_still_gets_one_caret_and_multiline_span_stops_at_line_end() {
        let mut sm = SourceMap::default();
        let f = sm.add("a.ilo", "ab\ncd");
        let d = Diagnostic::error("ILO-P010", "eof", Span::new(f, 5, 5));
        let text = render_text(&d, &sm, false);
        assert_eq!(text.lines().nth(4), Some("  |   ^"));
        let d = Diagnostic::error("ILO-P010", "x", Span::new(f, 0, 5));
        assert!(render_text(&d, &sm, false)
            .lines()
            .nth(4)
            .unwrap()
            .ends_with("^^"));
    }
}
