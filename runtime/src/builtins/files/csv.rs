//! Delimited text (CSV and TSV) as rows of text cells.
//!
//! Reading follows RFC 4180 and is lenient the way common readers are: a quoted cell
//! may hold delimiters, quotes (doubled) and line breaks; a quote in the middle of an
//! unquoted cell is an ordinary character; text after a closing quote joins the cell;
//! an unterminated quote runs to the end of the input. Blank lines are skipped and
//! `\n`, `\r\n` and a lone `\r` all end a row. TSV uses the same rules with a tab.
//!
//! Writing quotes a cell only when it must (it holds the delimiter, a quote or a line
//! break, or it is the only cell of its row and empty), and ends every row with `\n`,
//! so whatever is written reads back as the same rows.

/// Split delimited text into rows of cells.
#[cfg(test)]
pub fn parse(text: &str, delim: char) -> Vec<Vec<String>> {
    parse_into(text, delim, str::to_owned, |row| row)
}

/// Split delimited text into rows, turning each cell and each finished row into the
/// caller's own type as it goes, so a reader that wants values builds them once
/// instead of converting a whole table of strings afterwards.
///
/// The delimiter, the quote and the line breaks are all ASCII, so the text is scanned
/// as bytes and runs of ordinary bytes are copied whole; every cut falls on a
/// character boundary. A cell is assembled in one reused buffer and handed over as
/// `&str`, so each cell costs the one allocation its owner makes.
pub fn parse_into<C, R>(
    text: &str,
    delim: char,
    mut make_cell: impl FnMut(&str) -> C,
    mut make_row: impl FnMut(Vec<C>) -> R,
) -> Vec<R> {
    debug_assert!(delim.is_ascii(), "delimiter must be ASCII");
    let delim = delim as u8;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bytes = text.as_bytes();
    let mut rows = Vec::new();
    let mut row: Vec<C> = Vec::new();
    let mut cell = String::new();
    // Whether the current cell began with a quote (an empty quoted cell is not a
    // blank line), and whether we are between its quotes right now.
    let mut cell_quoted = false;
    let mut in_quotes = false;
    let mut i = 0;

    while i < bytes.len() {
        if in_quotes {
            // Everything up to the next quote is the cell's; a doubled quote is one
            // quote, a single one closes.
            match memchr::memchr(b'"', &bytes[i..]) {
                None => {
                    cell.push_str(&text[i..]);
                    i = bytes.len();
                }
                Some(at) => {
                    cell.push_str(&text[i..i + at]);
                    i += at + 1;
                    if bytes.get(i) == Some(&b'"') {
                        cell.push('"');
                        i += 1;
                    } else {
                        in_quotes = false;
                    }
                }
            }
            continue;
        }
        match bytes[i] {
            b'"' if cell.is_empty() && !cell_quoted => {
                cell_quoted = true;
                in_quotes = true;
                i += 1;
            }
            b @ (b'\r' | b'\n') => {
                i += 1;
                if b == b'\r' && bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                let blank_line = row.is_empty() && cell.is_empty() && !cell_quoted;
                if !blank_line {
                    row.push(make_cell(&cell));
                    cell.clear();
                    // Rows of one file are usually as wide as the one before.
                    let width = row.len();
                    rows.push(make_row(std::mem::replace(
                        &mut row,
                        Vec::with_capacity(width),
                    )));
                }
                cell_quoted = false;
            }
            b if b == delim => {
                row.push(make_cell(&cell));
                cell.clear();
                cell_quoted = false;
                i += 1;
            }
            _ => {
                // An ordinary run: once the cell holds its first byte, a quote is an
                // ordinary character, so only a delimiter or a line break ends it.
                let run = memchr::memchr3(delim, b'\n', b'\r', &bytes[i + 1..])
                    .map_or(bytes.len(), |at| i + 1 + at);
                cell.push_str(&text[i..run]);
                i = run;
            }
        }
    }
    if !row.is_empty() || !cell.is_empty() || cell_quoted {
        row.push(make_cell(&cell));
        rows.push(make_row(row));
    }
    rows
}

/// Join rows into delimited text, quoting cells that need it.
pub fn write<S: AsRef<str>>(rows: &[Vec<S>], delim: char) -> String {
    let mut out = String::new();
    for row in rows {
        let lone_empty = row.len() == 1 && row[0].as_ref().is_empty();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(delim);
            }
            let cell = cell.as_ref();
            let needs_quotes = lone_empty || cell.contains([delim, '"', '\n', '\r']);
            if needs_quotes {
                out.push('"');
                out.push_str(&cell.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(cell);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<String>> {
        parse(text, ',')
    }

    fn owned(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn plain_rows_with_and_without_trailing_newline() {
        let want = owned(&[&["a", "b"], &["1", "2"]]);
        assert_eq!(rows("a,b\n1,2\n"), want);
        assert_eq!(rows("a,b\n1,2"), want);
        assert_eq!(rows("a,b\r\n1,2\r\n"), want);
        assert_eq!(rows("a,b\r1,2"), want);
    }

    #[test]
    fn empty_cells_and_blank_lines() {
        assert_eq!(rows("a,,c\n,\n"), owned(&[&["a", "", "c"], &["", ""]]));
        assert_eq!(rows("a\n\n\nb\n"), owned(&[&["a"], &["b"]]));
        assert_eq!(rows(""), Vec::<Vec<String>>::new());
        assert_eq!(rows("\"\"\n"), owned(&[&[""]]));
        assert_eq!(rows("a,"), owned(&[&["a", ""]]));
    }

    #[test]
    fn quoted_cells_hold_delimiters_quotes_and_newlines() {
        assert_eq!(
            rows("\"a,b\",\"say \"\"hi\"\"\",\"line1\nline2\"\nx,y,z\n"),
            owned(&[&["a,b", "say \"hi\"", "line1\nline2"], &["x", "y", "z"]])
        );
        assert_eq!(rows("\"a\r\nb\""), owned(&[&["a\r\nb"]]));
    }

    #[test]
    fn lenient_quote_handling() {
        // A quote inside an unquoted cell is literal.
        assert_eq!(rows("ab\"c,d"), owned(&[&["ab\"c", "d"]]));
        // Text after a closing quote joins the cell.
        assert_eq!(rows("\"ab\"c,d"), owned(&[&["abc", "d"]]));
        // An unterminated quote runs to the end.
        assert_eq!(rows("\"abc,d\nx"), owned(&[&["abc,d\nx"]]));
    }

    #[test]
    fn rows_of_changing_width_and_quotes_inside_runs() {
        assert_eq!(
            rows("a\nb,c,d\ne,f\n"),
            owned(&[&["a"], &["b", "c", "d"], &["e", "f"]])
        );
        // Quotes after a cell's first character, or after its closing quote, are text.
        assert_eq!(rows("x\"\"y,\"\"z\"\n"), owned(&[&["x\"\"y", "z\""]]));
        assert_eq!(rows("\"a\"b\"c\",d"), owned(&[&["ab\"c\"", "d"]]));
    }

    #[test]
    fn unicode_and_bom() {
        assert_eq!(
            rows("\u{feff}名前,émoji\n太郎,🎉\n"),
            owned(&[&["名前", "émoji"], &["太郎", "🎉"]])
        );
    }

    #[test]
    fn tsv_uses_tabs_and_keeps_commas() {
        assert_eq!(
            parse("a\tb,c\n\"x\ty\"\tz\n", '\t'),
            owned(&[&["a", "b,c"], &["x\ty", "z"]])
        );
        assert_eq!(write(&owned(&[&["a,b", "c\td"]]), '\t'), "a,b\t\"c\td\"\n");
    }

    #[test]
    fn writing_quotes_only_when_needed() {
        let data = owned(&[
            &["id", "note"],
            &["1", "a,b"],
            &["2", "say \"hi\""],
            &["3", "x\ny"],
        ]);
        assert_eq!(
            write(&data, ','),
            "id,note\n1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n3,\"x\ny\"\n"
        );
        assert_eq!(write(&owned(&[&[""], &["", ""]]), ','), "\"\"\n,\n");
    }

    #[test]
    fn written_text_reads_back_unchanged() {
        let data = owned(&[
            &["", "\"", ",", "\r\n"],
            &[""],
            &["plain", " spaced ", "trailing\"", "ü,ñ"],
        ]);
        for delim in [',', '\t'] {
            assert_eq!(parse(&write(&data, delim), delim), data);
        }
    }
}
