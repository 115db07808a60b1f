//! Rendering diagnostics for people (text with the source line and a caret) and for
//! tools (one JSON object per diagnostic).
//!
//! The renderer knows nothing about terminals: the caller decides whether colour is
//! wanted (stderr is a terminal and `NO_COLOR` is unset) and which format to use.
//! Every location is resolved through the [`SourceMap`] that loaded the program, so a
//! diagnostic in an imported file names that file.
//!
//! The layout itself lives in the runtime (`ilo_runtime::program::render`), because
//! binaries built with `ilo build` render their runtime errors without a compiler;
//! this module converts the front end's types and delegates, so a diagnostic reads
//! the same whichever way the program ran.

use ilo_runtime::program::render as shared;
use ilo_runtime::program::{SourceText, SpanInfo};
use serde_json::Value as Json;

use crate::diag::Diagnostic;
use crate::span::SourceMap;

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
    let format = match format {
        Format::Text { color } => shared::DiagFormat::Text { color },
        Format::Json => shared::DiagFormat::Json,
    };
    let converted: Vec<shared::Diag> = diags.iter().map(convert).collect();
    shared::render_all(&converted, &texts(sources), format)
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
    shared::render_text(&convert(d), &texts(sources), color)
}

/// The JSON form: `severity code message labels notes suggestion`, where each label
/// has `file start end line col message` (byte offsets, 1-based line and column).
pub fn render_json(d: &Diagnostic, sources: &SourceMap) -> Json {
    shared::render_json(&convert(d), &texts(sources))
}

fn convert(d: &Diagnostic) -> shared::Diag {
    shared::Diag {
        severity: d.severity.as_str(),
        code: d.code,
        message: d.message.clone(),
        labels: d
            .labels
            .iter()
            .map(|l| shared::LabelInfo {
                span: SpanInfo {
                    file: l.span.file.0,
                    start: l.span.start,
                    end: l.span.end,
                },
                message: l.message.clone(),
            })
            .collect(),
        notes: d.notes.clone(),
        suggestion: d.suggestion.clone(),
    }
}

/// The source files in the runtime's form. Rendering happens once per failed run, so
/// copying the texts costs nothing that matters.
fn texts(sources: &SourceMap) -> Vec<SourceText> {
    sources
        .files
        .iter()
        .map(|f| SourceText {
            name: f.name.clone(),
            text: f.text.clone(),
        })
        .collect()
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
