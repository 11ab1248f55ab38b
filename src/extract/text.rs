//! Text hygiene shared by every extracted string: Unicode NFC, no control characters,
//! single spaces inside a line, trimmed lines, no blank lines.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Normalise a multi-line text: NFC, each line trimmed with inner whitespace runs
/// collapsed, empty lines dropped, paragraphs separated by a single `\n`.
pub(crate) fn tidy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        let line = clean_line(line);
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&line);
    }
    out
}

/// Normalise a one-line value (title, name): NFC, whitespace collapsed, trimmed.
pub(crate) fn tidy_line(s: &str) -> String {
    clean_line(s)
}

fn clean_line(s: &str) -> String {
    // NFC first so the whitespace pass sees final characters; most text already is NFC,
    // and the quick check is far cheaper than composing.
    match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => clean_chars(s.chars(), s.len()),
        _ => clean_chars(s.nfc(), s.len()),
    }
}

fn clean_chars(chars: impl Iterator<Item = char>, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut pending_space = false;
    for c in chars {
        // Control characters come from binary junk or broken encodings; zero-width,
        // BOM and soft-hyphen characters are invisible and break substring matches.
        let is_space = c.is_whitespace() || (c.is_control() && c != '\u{200D}');
        if is_space {
            pending_space = !out.is_empty();
            continue;
        }
        if matches!(
            c,
            '\u{FEFF}' | '\u{200B}' | '\u{2060}' | '\u{FFFD}' | '\u{AD}'
        ) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// Opt-in variant: `None` for an empty result.
pub(crate) fn non_empty_line(s: &str) -> Option<String> {
    let t = tidy_line(s);
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_collapses_and_drops_blank_lines() {
        assert_eq!(
            tidy_text("  a \t b \n\n\n  c\u{a0}d  \n\u{0}\n"),
            "a b\nc d"
        );
    }

    #[test]
    fn tidy_drops_invisible_characters() {
        assert_eq!(
            tidy_line("Mit\u{AD}tel\u{AD}al\u{AD}ter\u{200B}"),
            "Mittelalter"
        );
        // joiners shape Bengali conjuncts and stay
        assert_eq!(tidy_line("র\u{200D}্যাব"), "র\u{200D}্যাব");
    }

    #[test]
    fn tidy_applies_nfc() {
        // য় written as য + nukta becomes the NFC sequence; precomposed U+09DF too
        assert_eq!(tidy_line("\u{09DF}"), "\u{09AF}\u{09BC}");
        assert_eq!(tidy_line("e\u{0301}"), "\u{e9}");
    }
}
