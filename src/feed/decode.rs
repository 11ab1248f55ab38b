//! Feed bytes to UTF-8 text. Owns the choice of character encoding: byte-order mark, then
//! the byte pattern of a BOM-less UTF-16/UTF-32 document, then the XML declaration's
//! `encoding`, then UTF-8 when the bytes are (mostly) valid UTF-8, and only then a guess by
//! chardetng. feed-rs decodes by itself, but it gives up on labels encoding_rs does not know
//! ("MacCyrillic", "IBM855"), reads BOM-less ISO-8859-1 as UTF-8, and its XML reader panics
//! when a second `<?xml … encoding=…?>` turns up past the first 64 bytes; decoding here and
//! handing it UTF-8 without declarations avoids all three.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How far into the body the XML declaration is looked for.
const DECL_WINDOW: usize = 1024;
/// How much of the body chardetng sees; enough to guess, bounded for 10 MB bodies.
const DETECT_WINDOW: usize = 1 << 20;

/// Decodes `body` to text. Never fails: undecodable bytes become U+FFFD. Text that needs
/// no decoding (UTF-8, or ASCII in an ASCII-compatible charset) is borrowed, not copied:
/// feeds can be megabytes.
pub(super) fn decode(body: &[u8]) -> Cow<'_, str> {
    // UTF-32 first: its little-endian BOM starts with the UTF-16LE one.
    if let Some(rest) = body.strip_prefix(&[0, 0, 0xFE, 0xFF]) {
        return decode_utf32(rest, true).into();
    }
    if let Some(rest) = body.strip_prefix(&[0xFF, 0xFE, 0, 0]) {
        return decode_utf32(rest, false).into();
    }
    if let Some((encoding, bom_len)) = Encoding::for_bom(body) {
        let rest = body.get(bom_len..).unwrap_or_default();
        return encoding.decode_without_bom_handling(rest).0;
    }
    // BOM-less UTF-16/32: the document starts with '<' (or whitespace) padded with NULs.
    match body.get(..4) {
        Some([0, 0, 0, c]) if c.is_ascii() && *c != 0 => return decode_utf32(body, true).into(),
        Some([c, 0, 0, 0]) if c.is_ascii() && *c != 0 => return decode_utf32(body, false).into(),
        Some([0, a, 0, b]) if a.is_ascii() && b.is_ascii() && *a != 0 => {
            return UTF_16BE.decode_without_bom_handling(body).0;
        }
        Some([a, 0, b, 0]) if a.is_ascii() && b.is_ascii() && *a != 0 => {
            return UTF_16LE.decode_without_bom_handling(body).0;
        }
        _ => {}
    }
    match declared_encoding(body) {
        Some(Declared::Ibm855) => decode_ibm855(body).into(),
        Some(Declared::Known(enc)) if enc == encoding_rs::WINDOWS_1252 => {
            decode_mixed_latin1(body).into()
        }
        // Bytes that read as ASCII cannot be UTF-16 whatever the declaration says.
        Some(Declared::Known(enc)) if enc != UTF_8 && enc != UTF_16LE && enc != UTF_16BE => {
            enc.decode_without_bom_handling(body).0
        }
        _ => decode_utf8_or_guess(body),
    }
}

enum Declared {
    Known(&'static Encoding),
    /// DOS Cyrillic, which the WHATWG set (and so encoding_rs) lacks.
    Ibm855,
}

/// The `encoding` of a leading XML declaration, when it names something we can decode.
fn declared_encoding(body: &[u8]) -> Option<Declared> {
    let head = &body[..body.len().min(DECL_WINDOW)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let decl = head.get(start..)?.strip_prefix(b"<?xml")?;
    let end = find(decl, b"?>")?;
    let decl = &decl[..end];
    let at = find(decl, b"encoding")?;
    let rest = decl[at + 8..].trim_ascii_start().strip_prefix(b"=")?;
    let rest = rest.trim_ascii_start();
    let (&quote, rest) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let label = &rest[..rest.iter().position(|&b| b == quote)?];
    let label = String::from_utf8_lossy(label).trim().to_ascii_lowercase();
    label_to_encoding(&label)
}

fn label_to_encoding(label: &str) -> Option<Declared> {
    let alias = match label {
        "ibm855" | "cp855" | "855" | "csibm855" => return Some(Declared::Ibm855),
        "maccyrillic" | "mac-cyrillic" | "x-mac-ukrainian" => "x-mac-cyrillic",
        "win-1251" | "win1251" | "windows1251" | "cp-1251" => "windows-1251",
        "win-1252" | "windows1252" => "windows-1252",
        "windows-31j" | "ms932" | "cp932" | "sjis" | "x-sjis" => "shift_jis",
        "cp949" | "uhc" | "ks_c_5601" => "euc-kr",
        "utf8" | "utf-8n" => "utf-8",
        other => other,
    };
    let enc = Encoding::for_label(alias.as_bytes())?;
    // The "replacement" encoding (for ISO-2022-KR and friends) would turn the whole body
    // into one U+FFFD; guessing does better.
    (enc != encoding_rs::REPLACEMENT).then_some(Declared::Known(enc))
}

/// UTF-8 when the bytes are UTF-8, or nearly so (a feed declared UTF-8 with a stray
/// Latin-1 byte keeps its real UTF-8 text); otherwise chardetng's guess.
fn decode_utf8_or_guess(body: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(body) {
        return Cow::Borrowed(text);
    }
    let (mut valid_non_ascii, mut invalid) = (0usize, 0usize);
    for chunk in body.utf8_chunks() {
        valid_non_ascii += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    if valid_non_ascii >= invalid.saturating_mul(4) && valid_non_ascii > 0 {
        return String::from_utf8_lossy(body);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let window = &body[..body.len().min(DETECT_WINDOW)];
    detector.feed(window, window.len() == body.len());
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    guess.decode_without_bom_handling(body).0
}

/// A body declared ISO-8859-1 (windows-1252 on the web) is often a mix: a template in
/// Latin-1 with UTF-8 titles pasted in. Valid UTF-8 multi-byte sequences are read as UTF-8
/// (a Latin-1 text almost never forms one: "Ã" followed by a C1 control or a symbol), every
/// other byte as windows-1252.
fn decode_mixed_latin1(body: &[u8]) -> String {
    let mut out = String::with_capacity(body.len() + body.len() / 8);
    for chunk in body.utf8_chunks() {
        out.push_str(chunk.valid());
        out.push_str(
            &encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(chunk.invalid())
                .0,
        );
    }
    out
}

fn decode_utf32(body: &[u8], big_endian: bool) -> String {
    body.chunks_exact(4)
        .map(|c| {
            let bytes = [c[0], c[1], c[2], c[3]];
            let n = if big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            };
            char::from_u32(n).unwrap_or('\u{FFFD}')
        })
        .collect()
}

/// IBM code page 855, bytes 0x80..=0xFF (from Python's `cp855` codec).
const IBM855_HIGH: [char; 128] = [
    'ђ', 'Ђ', 'ѓ', 'Ѓ', 'ё', 'Ё', 'є', 'Є', 'ѕ', 'Ѕ', 'і', 'І', 'ї', 'Ї', 'ј', 'Ј', 'љ', 'Љ', 'њ',
    'Њ', 'ћ', 'Ћ', 'ќ', 'Ќ', 'ў', 'Ў', 'џ', 'Џ', 'ю', 'Ю', 'ъ', 'Ъ', 'а', 'А', 'б', 'Б', 'ц', 'Ц',
    'д', 'Д', 'е', 'Е', 'ф', 'Ф', 'г', 'Г', '«', '»', '░', '▒', '▓', '│', '┤', 'х', 'Х', 'и', 'И',
    '╣', '║', '╗', '╝', 'й', 'Й', '┐', '└', '┴', '┬', '├', '─', '┼', 'к', 'К', '╚', '╔', '╩', '╦',
    '╠', '═', '╬', '¤', 'л', 'Л', 'м', 'М', 'н', 'Н', 'о', 'О', 'п', '┘', '┌', '█', '▄', 'П', 'я',
    '▀', 'Я', 'р', 'Р', 'с', 'С', 'т', 'Т', 'у', 'У', 'ж', 'Ж', 'в', 'В', 'ь', 'Ь', '№', '\u{ad}',
    'ы', 'Ы', 'з', 'З', 'ш', 'Ш', 'э', 'Э', 'щ', 'Щ', 'ч', 'Ч', '§', '■', '\u{a0}',
];

fn decode_ibm855(body: &[u8]) -> String {
    body.iter()
        .map(|&b| {
            if b.is_ascii() {
                char::from(b)
            } else {
                IBM855_HIGH[usize::from(b - 0x80)]
            }
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_bom_and_guessing() {
        assert!(decode(b"<?xml version='1.0' encoding='koi8-r'?><a>\xf0\xd2</a>").contains("Пр"));
        assert!(decode(b"<?xml version=\"1.0\" encoding=\"IBM855\"?><a>\xa7</a>").contains('Д'));
        assert!(
            decode(b"<?xml version=\"1.0\" encoding=\"MacCyrillic\"?><a>\x80</a>").contains('А')
        );
        let utf16: Vec<u8> = "<rss>ы</rss>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode(&utf16), "<rss>ы</rss>");
        let utf32: Vec<u8> = "<rss>ы</rss>"
            .chars()
            .flat_map(|c| (c as u32).to_be_bytes())
            .collect();
        assert_eq!(decode(&utf32), "<rss>ы</rss>");
        // No declaration, not UTF-8: Latin-1 is guessed rather than replaced.
        assert!(decode(b"<rss><title>Derni\xe8res nouvelles</title></rss>").contains("Dernières"));
        // Declared Latin-1, but with UTF-8 pasted in.
        let mixed =
            decode(b"<?xml version='1.0' encoding='ISO-8859-1'?><a>Br\xc3\xb8ndby Br\xf8ndby</a>");
        assert!(mixed.contains("Brøndby Brøndby"), "{mixed}");
        // Declared UTF-8 with one stray byte keeps its real UTF-8 text.
        let mixed = "<?xml version='1.0' encoding='utf-8'?><a>Größe café ñ \u{e9}</a>\u{1}";
        let mut bytes = mixed.as_bytes().to_vec();
        bytes.push(0xE9);
        assert!(decode(&bytes).contains("Größe café"));
    }
}
