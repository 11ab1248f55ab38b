//! Re-extraction of archived articles from their stored raw HTML, with no network: each
//! article's latest capture is decoded and run through the current extractor, and the
//! article's extracted fields (and text fingerprint) are rewritten where they differ, with
//! the extractor's name, so an archive improves when the extractor does. The full-text
//! index follows through the archive's triggers. Identity (canonical URL, URLs, feed items)
//! is never changed here. The story fingerprint follows the new text, and an article
//! archived before stories existed is given its story (in id order, so the earliest
//! articles start the stories later ones join); an article keeps the story it has.
//! Extraction runs on every core at once ([`CpuPool`]), a page of articles at a time;
//! the writes stay in id order.

use std::collections::HashMap;

use chrono_tz::Tz;

use crate::canon;
use crate::cpu_pool::CpuPool;
use crate::extract::{self, PageRules};
use crate::fetch::charset::decode_html;
use crate::pipeline::EXTRACTOR;
use crate::store::{
    ArticleFilter, ArticleRecord, Capture, ExtractedFields, Reextracted, Store, StoreError,
};
use crate::stories;

/// Articles read per page; each is re-extracted before the next page is read.
const PAGE: u32 = 64;

/// Which articles to re-extract, and how each source's pages are read.
#[derive(Debug, Clone, Default)]
pub struct ReparseOptions {
    pub filter: ArticleFilter,
    /// Time zone and selectors per source name (from the configuration); articles of
    /// other sources are read in UTC with the heuristics alone.
    pub page_rules: HashMap<String, PageRules>,
}

/// What a re-parse did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReparseSummary {
    pub examined: u64,
    /// Articles whose fields were rewritten.
    pub changed: u64,
    pub unchanged: u64,
    /// Articles that could not be re-extracted (no capture, no text found); they keep
    /// their stored fields.
    pub failed: u64,
    /// Of the changed articles, those whose new text is another article's (their
    /// fingerprint was cleared to keep fingerprints unique).
    pub fingerprint_clashes: u64,
    /// Articles that had no story and were given one.
    pub stories_assigned: u64,
}

/// Re-extracts every article the options select.
pub async fn reparse(
    store: &Store,
    options: &ReparseOptions,
) -> Result<ReparseSummary, StoreError> {
    let cpu = CpuPool::start()
        .map_err(|e| StoreError::Other(format!("cannot start the page work threads: {e}")))?;
    let mut summary = ReparseSummary::default();
    let mut after = 0;
    loop {
        let page = store
            .articles_page(options.filter.clone(), after, PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        // The page's articles are extracted on every core at once, then written one at a
        // time in id order (the order stories are assigned in).
        let mut extracting = Vec::with_capacity(page.len());
        for article in page {
            summary.examined += 1;
            let Some(capture) = store.latest_capture(article.id).await? else {
                tracing::warn!(article = article.id, url = %article.canonical_url, "no capture to re-extract from");
                summary.failed += 1;
                continue;
            };
            let page_rules = article
                .source
                .as_ref()
                .and_then(|name| options.page_rules.get(name))
                .cloned()
                .unwrap_or_else(|| PageRules::in_timezone(Tz::UTC));
            let stored_text_empty = article.text.trim().is_empty();
            let (id, url) = (article.id, article.canonical_url.clone());
            let cpu = cpu.clone();
            let fields = tokio::spawn(async move {
                cpu.run(move || extract_again(&article, &capture, &page_rules))
                    .await
            });
            extracting.push((id, url, stored_text_empty, fields));
        }
        for (id, url, stored_text_empty, fields) in extracting {
            let fields = match fields.await {
                Ok(Ok(fields)) => fields,
                Ok(Err(e)) => {
                    tracing::error!(article = id, %url, error = %e, "re-extraction failed; kept the stored fields");
                    summary.failed += 1;
                    continue;
                }
                Err(e) => {
                    return Err(StoreError::Other(format!(
                        "re-extraction of article {id} ({url}) failed: {e}"
                    )));
                }
            };
            if fields.text.trim().is_empty() && !stored_text_empty {
                tracing::warn!(article = id, %url, "the extractor found no text now; kept the stored fields");
                summary.failed += 1;
                continue;
            }
            match store.update_extracted(id, fields).await? {
                Reextracted::Changed(fields) => {
                    tracing::info!(article = id, %url, changed = ?fields, "re-extracted");
                    summary.changed += 1;
                    summary.stories_assigned += u64::from(fields.contains(&"story_id"));
                }
                Reextracted::FingerprintClash { changed, other } => {
                    tracing::warn!(
                        article = id, %url, changed = ?changed, same_text_as = other,
                        "re-extracted; its text is now another article's, so its fingerprint was cleared"
                    );
                    summary.changed += 1;
                    summary.fingerprint_clashes += 1;
                    summary.stories_assigned += u64::from(changed.contains(&"story_id"));
                }
                Reextracted::Unchanged => summary.unchanged += 1,
                Reextracted::Missing => {
                    tracing::warn!(article = id, %url, "deleted while re-extracting");
                    summary.failed += 1;
                }
            }
        }
    }
    Ok(summary)
}

/// Decodes a capture as the pipeline did and extracts it with the current extractor.
/// Dates after the article was archived are impossible, as they were then.
fn extract_again(
    article: &ArticleRecord,
    capture: &Capture,
    page_rules: &PageRules,
) -> ExtractedFields {
    let url = url::Url::parse(&capture.info.url).ok();
    let decoded = decode_html(
        &capture.body,
        capture.info.content_type.as_deref(),
        url.as_ref(),
    );
    let options = page_rules.options(url, Some(article.first_seen_at));
    let e = extract::extract(&decoded.text, &options);
    let text_fingerprint = canon::text_fingerprint(e.title.as_deref(), &e.text);
    let story_fingerprint = stories::fingerprint(&e.text);
    ExtractedFields {
        title: e.title,
        authors: e.authors,
        published_at: e.published_at,
        updated_at: e.updated_at,
        language: e.language,
        site_name: e.site_name,
        description: e.description,
        text: e.text,
        text_fingerprint,
        story_fingerprint,
        extractor: EXTRACTOR.to_string(),
    }
}
