//! WARC 1.1 records built from the archive: a `warcinfo` record describing the export, and
//! one `response` record per capture whose block is the HTTP response rebuilt from the
//! stored status, headers and body. Pure: bytes in, bytes out; the caller writes them.
//!
//! Stored bodies are after HTTP content-decoding, so the rebuilt response must not claim
//! an encoding it no longer has: `Content-Encoding`, `Transfer-Encoding` and
//! `Content-Length` are renamed to `X-Archive-Orig-…` (the convention replay tools such
//! as pywb use) and a `Content-Length` for the stored body is added. Digests are SHA-1 in
//! base32 (`sha1:…`), the convention every WARC indexer and replay tool reads; record ids
//! are derived from the capture, so exporting the same archive twice gives the same bytes.

use std::io::Write;

use chrono::{DateTime, Utc};
use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::clock::to_db_time;
use crate::store::Capture;

/// Headers whose meaning the stored (decoded, complete) body no longer matches.
const REWRITTEN_HEADERS: &[&str] = &["content-encoding", "transfer-encoding", "content-length"];

/// The `WARC-Record-ID` value for a record identified by `parts`: a name-based UUID
/// (version 8, from SHA-256) in angle brackets, as WARC 1.1 writes it.
pub fn record_id(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80; // version 8: custom, name-based
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 9562 variant
    format!(
        "<urn:uuid:{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}>",
        b[0],
        b[1],
        b[2],
        b[3],
        b[4],
        b[5],
        b[6],
        b[7],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

/// `sha1:` + the SHA-1 of `bytes` in RFC 4648 base32, as WARC digests are written.
pub fn sha1_digest(bytes: &[u8]) -> String {
    format!("sha1:{}", base32(&Sha1::digest(bytes)))
}

/// RFC 4648 base32 with padding (none is needed for a 20-byte SHA-1).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < symbols {
                let index = ((n >> (35 - i * 5)) & 0x1f) as usize;
                out.push(char::from(ALPHABET[index]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The reason phrase for common statuses (HTTP/1.1 allows any, or none).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// A header line's text with any CR or LF (which would end the header early) made a space.
fn clean(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// The HTTP/1.1 response as a replay tool expects it: status line, the stored headers
/// (with the encoding headers renamed, see the module docs), a Content-Length for the
/// stored body, a blank line, the body.
pub fn http_block(capture: &Capture) -> Vec<u8> {
    let info = &capture.info;
    let mut head = format!("HTTP/1.1 {} {}\r\n", info.status, reason(info.status));
    for (name, value) in &info.headers {
        let name = clean(name);
        if REWRITTEN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            head.push_str("X-Archive-Orig-");
        }
        head.push_str(&name);
        head.push_str(": ");
        head.push_str(&clean(value));
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", capture.body.len()));
    let mut block = head.into_bytes();
    block.extend_from_slice(&capture.body);
    block
}

/// Writes one WARC record: the version line, `fields` (name, value) in order, the
/// computed `Content-Length`, the block, and the two CRLFs that end a record.
fn write_record(
    out: &mut (impl Write + ?Sized),
    fields: &[(&str, String)],
    block: &[u8],
) -> std::io::Result<()> {
    let mut head = String::from("WARC/1.1\r\n");
    for (name, value) in fields {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(&clean(value));
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", block.len()));
    out.write_all(head.as_bytes())?;
    out.write_all(block)?;
    out.write_all(b"\r\n\r\n")
}

/// The `warcinfo` record that opens an export; returns its record id, which each
/// response record points back to.
pub fn write_warcinfo(
    out: &mut (impl Write + ?Sized),
    now: DateTime<Utc>,
    filename: Option<&str>,
    description: &str,
) -> std::io::Result<String> {
    let date = to_db_time(now);
    let id = record_id(&[
        b"warcinfo",
        date.as_bytes(),
        filename.unwrap_or("").as_bytes(),
    ]);
    let block = format!(
        "software: newsvault {}\r\nformat: WARC File Format 1.1\r\n\
         conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n\
         description: {}\r\n",
        env!("CARGO_PKG_VERSION"),
        clean(description)
    );
    let mut fields = vec![
        ("WARC-Type", "warcinfo".to_string()),
        ("WARC-Record-ID", id.clone()),
        ("WARC-Date", date),
    ];
    if let Some(name) = filename {
        fields.push(("WARC-Filename", name.to_string()));
    }
    fields.push(("Content-Type", "application/warc-fields".to_string()));
    write_record(out, &fields, block.as_bytes())?;
    Ok(id)
}

/// One `response` record for a capture, dated when it was fetched.
pub fn write_response(
    out: &mut (impl Write + ?Sized),
    capture: &Capture,
    warcinfo_id: &str,
) -> std::io::Result<()> {
    let info = &capture.info;
    let date = to_db_time(info.fetched_at);
    let block = http_block(capture);
    let fields = [
        ("WARC-Type", "response".to_string()),
        (
            "WARC-Record-ID",
            record_id(&[
                b"response",
                info.url.as_bytes(),
                date.as_bytes(),
                info.body_sha256.as_bytes(),
            ]),
        ),
        ("WARC-Date", date),
        ("WARC-Target-URI", info.url.clone()),
        ("WARC-Warcinfo-ID", warcinfo_id.to_string()),
        ("WARC-Payload-Digest", sha1_digest(&capture.body)),
        ("WARC-Block-Digest", sha1_digest(&block)),
        (
            "Content-Type",
            "application/http;msgtype=response".to_string(),
        ),
    ];
    write_record(out, &fields, &block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY======");
        assert_eq!(base32(b"fo"), "MZXQ====");
        assert_eq!(base32(b"foo"), "MZXW6===");
        assert_eq!(base32(b"foob"), "MZXW6YQ=");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI======");
    }

    #[test]
    fn sha1_digest_is_the_warc_convention() {
        // SHA-1("abc") = a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d
        assert_eq!(sha1_digest(b"abc"), "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5");
    }

    #[test]
    fn record_ids_are_deterministic_uuids() {
        let a = record_id(&[b"x", b"y"]);
        assert_eq!(a, record_id(&[b"x", b"y"]));
        assert_ne!(a, record_id(&[b"xy"]));
        assert!(
            a.starts_with("<urn:uuid:") && a.ends_with('>') && a.len() == 47,
            "{a}"
        );
        assert_eq!(&a[24..25], "8", "version nibble in {a}");
    }
}
