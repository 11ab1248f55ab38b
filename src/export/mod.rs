//! Exports of the archive as files other tools read: JSON Lines and CSV (one row per
//! article) and WARC 1.1 (one `response` record per raw capture, see [`warc`]). Rows are
//! read from the [`Store`] a page at a time by id and written as they come, so memory stays
//! constant however large the archive; writing stops at the first output error, which the
//! caller sees (a closed pipe is the reader having had enough, not a failure).

pub mod warc;

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use crate::clock::to_db_time;
use crate::store::{ArticleFilter, ArticleRecord, Store, StoreError};

/// Articles read per page: large enough to amortise a query, small enough to keep memory
/// flat (texts are a few KiB each).
const ARTICLE_PAGE: u32 = 256;
/// Captures read per page: bodies run to the fetch cap (10 MiB by default) each.
const CAPTURE_PAGE: u32 = 16;

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per article per line.
    Jsonl,
    /// RFC 4180 CSV with a header row, one row per article.
    Csv,
    /// WARC 1.1: a warcinfo record, then one response record per raw capture.
    Warc,
}

/// An export to run.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: Format,
    pub filter: ArticleFilter,
    /// WARC only: compress each record as its own gzip member (`.warc.gz`).
    pub gzip: bool,
    /// The export's own time (the warcinfo record's date).
    pub now: DateTime<Utc>,
    /// WARC only: the file name recorded in the warcinfo record.
    pub filename: Option<String>,
}

/// An export failed: reading the archive, or writing the output.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write export: {0}")]
    Write(#[from] io::Error),
}

/// One article as JSON Lines and CSV show it: the archive's columns, times in its RFC 3339
/// UTC text, and every URL that led to it. `show --json` prints the same object.
#[derive(Debug, serde::Serialize)]
pub struct ArticleRow<'a> {
    pub id: i64,
    pub source: Option<&'a str>,
    pub canonical_url: &'a str,
    pub urls: &'a [String],
    pub title: Option<&'a str>,
    pub authors: &'a [String],
    pub published_at: Option<String>,
    pub published_offset: Option<&'a str>,
    pub updated_at: Option<String>,
    pub updated_offset: Option<&'a str>,
    pub first_seen_at: String,
    pub language: Option<&'a str>,
    pub site_name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub text: &'a str,
    pub text_fingerprint: Option<&'a str>,
    pub extractor: &'a str,
    /// The story it belongs to (near-duplicates share one).
    pub story_id: Option<i64>,
    /// How many versions the archive holds; `text` and the other fields are the latest's.
    pub versions: i64,
    pub last_checked_at: Option<String>,
    /// When a revisit found the page gone, and the status it answered (404 or 410).
    pub removed_at: Option<String>,
    pub removed_status: Option<u16>,
}

impl<'a> From<&'a ArticleRecord> for ArticleRow<'a> {
    fn from(a: &'a ArticleRecord) -> ArticleRow<'a> {
        ArticleRow {
            id: a.id,
            source: a.source.as_deref(),
            canonical_url: &a.canonical_url,
            urls: &a.urls,
            title: a.title.as_deref(),
            authors: &a.authors,
            published_at: a.published_at.map(to_db_time),
            published_offset: a.published_offset.as_deref(),
            updated_at: a.updated_at.map(to_db_time),
            updated_offset: a.updated_offset.as_deref(),
            first_seen_at: to_db_time(a.first_seen_at),
            language: a.language.as_deref(),
            site_name: a.site_name.as_deref(),
            description: a.description.as_deref(),
            text: &a.text,
            text_fingerprint: a.text_fingerprint.as_deref(),
            extractor: &a.extractor,
            story_id: a.story_id,
            versions: a.versions,
            last_checked_at: a.last_checked_at.map(to_db_time),
            removed_at: a.removed_at.map(to_db_time),
            removed_status: a.removed_status,
        }
    }
}

/// The CSV columns, in order. `urls` and `authors` are JSON arrays.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "source",
    "canonical_url",
    "urls",
    "title",
    "authors",
    "published_at",
    "published_offset",
    "updated_at",
    "updated_offset",
    "first_seen_at",
    "language",
    "site_name",
    "description",
    "text",
    "text_fingerprint",
    "extractor",
    "story_id",
    "versions",
    "last_checked_at",
    "removed_at",
    "removed_status",
];

/// Writes one CSV field, quoted when it holds a comma, quote, CR, LF or edge whitespace.
fn csv_field(out: &mut impl Write, value: &str) -> io::Result<()> {
    let needs_quotes = value.contains([',', '"', '\r', '\n'])
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    if needs_quotes {
        out.write_all(b"\"")?;
        out.write_all(value.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(value.as_bytes())
    }
}

fn csv_record(out: &mut impl Write, fields: &[&str]) -> io::Result<()> {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        csv_field(out, field)?;
    }
    out.write_all(b"\r\n")
}

fn write_csv_row(out: &mut impl Write, a: &ArticleRecord) -> io::Result<()> {
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let time = |t: Option<DateTime<Utc>>| t.map(to_db_time).unwrap_or_default();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let id = a.id.to_string();
    let urls = json(&a.urls);
    let authors = json(&a.authors);
    let published = time(a.published_at);
    let updated = time(a.updated_at);
    let first_seen = to_db_time(a.first_seen_at);
    let story = a.story_id.map(|id| id.to_string()).unwrap_or_default();
    let versions = a.versions.to_string();
    let checked = time(a.last_checked_at);
    let removed = time(a.removed_at);
    let removed_status = a.removed_status.map(|s| s.to_string()).unwrap_or_default();
    let fields = [
        id.as_str(),
        &opt(&a.source),
        &a.canonical_url,
        &urls,
        &opt(&a.title),
        &authors,
        &published,
        &opt(&a.published_offset),
        &updated,
        &opt(&a.updated_offset),
        &first_seen,
        &opt(&a.language),
        &opt(&a.site_name),
        &opt(&a.description),
        &a.text,
        &opt(&a.text_fingerprint),
        &a.extractor,
        &story,
        &versions,
        &checked,
        &removed,
        &removed_status,
    ];
    csv_record(out, &fields)
}

/// Writes the selection to `out` in the chosen format and returns how many records
/// (articles, or captures for WARC) were written. `out` is flushed at the end.
pub async fn export(
    store: &Store,
    options: &ExportOptions,
    out: &mut impl Write,
) -> Result<u64, ExportError> {
    let written = match options.format {
        Format::Jsonl | Format::Csv => export_articles(store, options, out).await?,
        Format::Warc => export_warc(store, options, out).await?,
    };
    out.flush()?;
    Ok(written)
}

async fn export_articles(
    store: &Store,
    options: &ExportOptions,
    out: &mut impl Write,
) -> Result<u64, ExportError> {
    if options.format == Format::Csv {
        csv_record(out, CSV_COLUMNS)?;
    }
    let mut after = 0;
    let mut written = 0;
    loop {
        let page = store
            .articles_page(options.filter.clone(), after, ARTICLE_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for article in &page {
            match options.format {
                Format::Csv => write_csv_row(out, article)?,
                _ => {
                    serde_json::to_writer(&mut *out, &ArticleRow::from(article))
                        .map_err(io::Error::from)?;
                    out.write_all(b"\n")?;
                }
            }
            written += 1;
        }
    }
    Ok(written)
}

async fn export_warc(
    store: &Store,
    options: &ExportOptions,
    out: &mut impl Write,
) -> Result<u64, ExportError> {
    // Each record is its own gzip member when compressing, as .warc.gz readers expect.
    fn emit(
        out: &mut impl Write,
        gzip: bool,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        if gzip {
            let mut encoder =
                flate2::write::GzEncoder::new(&mut *out, flate2::Compression::default());
            write(&mut encoder)?;
            encoder.finish()?;
            Ok(())
        } else {
            write(out)
        }
    }
    let description = describe(&options.filter);
    let mut warcinfo = String::new();
    emit(out, options.gzip, |w| {
        warcinfo = warc::write_warcinfo(w, options.now, options.filename.as_deref(), &description)?;
        Ok(())
    })?;
    let mut after = 0;
    let mut written = 0;
    loop {
        let page = store
            .captures_page(options.filter.clone(), after, CAPTURE_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.info.id;
        for capture in &page {
            emit(out, options.gzip, |w| {
                warc::write_response(w, capture, &warcinfo)
            })?;
            written += 1;
        }
    }
    Ok(written)
}

/// The selection in words, for the warcinfo record.
fn describe(filter: &ArticleFilter) -> String {
    let mut parts = vec!["newsvault archive export".to_string()];
    if let Some(source) = &filter.source {
        parts.push(format!("source {source}"));
    }
    if let Some(since) = filter.since {
        parts.push(format!("dated from {}", to_db_time(since)));
    }
    if let Some(until) = filter.until {
        parts.push(format!("dated before {}", to_db_time(until)));
    }
    if let Some(language) = &filter.language {
        parts.push(format!("language {language}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let mut out = Vec::new();
        csv_record(
            &mut out,
            &["plain", "a,b", "say \"hi\"", "line\nbreak", " edge", "বাংলা"],
        )
        .expect("write to a Vec");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",\" edge\",বাংলা\r\n"
        );
    }
}
