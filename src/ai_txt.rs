//! The compact form of SPEC.md written to ai.txt: the same facts in fewer tokens, for
//! pasting into a model's context.
//!
//! Not part of the binary's module tree: build.rs includes this file to regenerate
//! ai.txt, and tests/cli.rs includes it to check that the committed ai.txt is current.
//!
//! Condensing rules, line by line:
//! - headings become `[Title]`; blank lines, code fences and table separator rows go;
//! - table rows become their cells joined by ` | ` (escaped `\|` becomes `|`);
//! - code lines are kept, trimmed; prose lines are trimmed and consecutive prose lines
//!   are joined into one line;
//! - markdown emphasis (`**`) and link targets are dropped; inline code keeps its text
//!   without backticks.

/// Condense the specification's markdown.
pub fn compact(spec: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut in_code = false;
    // Whether the last emitted line is prose that the next prose line may extend.
    let mut prose_open = false;

    for raw in spec.lines() {
        let line = raw.trim();
        if line.starts_with("```") {
            in_code = !in_code;
            prose_open = false;
            continue;
        }
        if in_code {
            if !line.is_empty() {
                out.push(line.to_string());
            }
            continue;
        }
        if line.is_empty() {
            prose_open = false;
            continue;
        }
        if line.starts_with('#') {
            let title = line.trim_start_matches('#').trim();
            out.push(format!("[{}]", plain(title)));
            prose_open = false;
        } else if line.starts_with('|') {
            if !is_separator_row(line) {
                out.push(table_row(line));
            }
            prose_open = false;
        } else if line.starts_with("- ") || line.starts_with("* ") {
            out.push(format!("- {}", plain(&line[2..])));
            prose_open = true;
        } else if prose_open {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(&plain(line));
            }
        } else {
            out.push(plain(line));
            prose_open = true;
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn is_separator_row(line: &str) -> bool {
    line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn table_row(line: &str) -> String {
    // Split on unescaped pipes only: `\|` inside a cell is the `|` operator.
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
        .iter()
        .map(|c| plain(c.trim()))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Strip markdown decoration that costs tokens without adding meaning: emphasis,
/// backticks, and the target of in-document links (`[Imports](#imports)` → `Imports`).
fn plain(s: &str) -> String {
    let mut out = s.replace("**", "").replace('`', "");
    while let Some(start) = out.find("](#") {
        let Some(len) = out[start..].find(')') else {
            break;
        };
        let Some(open) = out[..start].rfind('[') else {
            break;
        };
        out.replace_range(start..start + len + 1, "");
        out.remove(open);
    }
    out
}
