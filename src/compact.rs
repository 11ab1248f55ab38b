//! Compaction of raw captures with per-site zstd dictionaries (`newsvault compact`).
//!
//! Pages of one site share most of their bytes (head, scripts, menus, footer), which zstd
//! cannot exploit when it compresses each page alone. Once a site (the registrable domain
//! of its captures' URLs) has enough captures, a dictionary is trained on its most recent
//! ones and stored in the archive; the site's new captures are compressed with it as they
//! arrive (see [`crate::store`]), and compaction re-compresses its older captures with it.
//! A site's dictionary is trained again when the site has grown to twice the captures it
//! was trained on, up to [`MAX_TRAINING_SAMPLES`]. The sites too small for a dictionary
//! of their own share one ([`SHARED_DICTIONARY_SITE`]), trained on their captures
//! together, once they have enough between them.
//!
//! Re-compression goes in batches, one transaction each, and checks every body against
//! its SHA-256 before replacing it, so compaction can be stopped at any moment: each
//! capture is in its old form or its new one, and running it again carries on.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::store::{
    COMPACT_LEVEL, CaptureId, DEFAULT_DICTIONARY_SIZE, DictionaryInfo, NewDictionary,
    SHARED_DICTIONARY_SITE, StorageUsage, Store, StoreError, site_of,
};

/// Captures a site needs before it gets a dictionary. Measured (docs/performance-log.md): a
/// dictionary pays for its own size after a few pages, and on pages that share a
/// template, 10 samples already give nearly all of the gain; real sites vary more (section
/// templates, redesigns), so 50 leaves a margin, and the retraining at each doubling
/// (100, 200, 400, 800 captures) follows the site as it grows.
pub const DEFAULT_MIN_CAPTURES: usize = 50;

/// Most captures a dictionary is trained on (the site's most recent ones).
pub const MAX_TRAINING_SAMPLES: usize = 800;

/// Most uncompressed bytes of samples read for one training, to bound memory.
const MAX_SAMPLE_BYTES: u64 = 64 * 1024 * 1024;

/// Captures re-compressed per transaction.
pub const DEFAULT_BATCH: usize = 32;

/// What to compact and how.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Only this site (registrable domain, or any host of it).
    pub site: Option<String>,
    /// Report what would be done; change nothing.
    pub dry_run: bool,
    pub min_captures: usize,
    /// Largest dictionary trained, in bytes.
    pub dictionary_size: usize,
    /// zstd level for re-compressed captures.
    pub level: i32,
    pub batch: usize,
    /// Give free pages back to the file system at the end.
    pub vacuum: bool,
    /// Stop after re-compressing about this many captures (at the end of a batch); the
    /// next run carries on. For compaction a little at a time.
    pub limit: Option<u64>,
    /// When dictionaries are said to be trained.
    pub now: DateTime<Utc>,
}

impl CompactOptions {
    pub fn new(now: DateTime<Utc>) -> CompactOptions {
        CompactOptions {
            site: None,
            dry_run: false,
            min_captures: DEFAULT_MIN_CAPTURES,
            dictionary_size: DEFAULT_DICTIONARY_SIZE,
            level: COMPACT_LEVEL,
            batch: DEFAULT_BATCH,
            vacuum: false,
            limit: None,
            now,
        }
    }
}

/// One site's part in a compaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SiteCompaction {
    pub site: String,
    pub captures: u64,
    /// The dictionary trained now (or, in a dry run, that one would be).
    pub trained: Option<TrainedDictionary>,
    pub would_train: bool,
    /// Captures re-compressed (in a dry run: that would be).
    pub recompressed: u64,
    /// Captures the newest dictionary would not have made smaller, left as they were.
    pub kept: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrainedDictionary {
    pub id: i64,
    pub samples: u64,
    pub sample_bytes: u64,
    pub size: u64,
}

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CompactSummary {
    pub dry_run: bool,
    /// Sites with at least `min_captures` captures.
    pub sites: Vec<SiteCompaction>,
    /// Sites with fewer captures: they share the dictionary of the pseudo-site
    /// [`SHARED_DICTIONARY_SITE`] (listed in `sites` when they have enough captures
    /// between them).
    pub small_sites: u64,
    pub recompressed: u64,
    /// Captures left as they were because their body could not be read or did not match
    /// its SHA-256 (each is logged), and sites whose dictionary could not be trained.
    pub failures: u64,
    pub dictionaries_dropped: u64,
    pub vacuumed: bool,
    /// False when the run stopped at `limit` with captures still to re-compress.
    pub complete: bool,
    pub before: StorageUsage,
    pub after: StorageUsage,
}

/// Trains missing and outdated dictionaries and re-compresses the captures that do not
/// use their site's newest dictionary.
pub async fn compact(
    store: &Store,
    options: &CompactOptions,
) -> Result<CompactSummary, StoreError> {
    let before = store.storage_usage(false).await?;
    let wanted_site = options
        .site
        .as_deref()
        .map(|s| site_of(&format!("https://{}/", s.trim().trim_end_matches('.'))));
    let mut by_site: BTreeMap<String, Vec<(CaptureId, Option<i64>)>> = BTreeMap::new();
    for (id, site, dictionary) in store.capture_sites().await? {
        if wanted_site.as_ref().is_none_or(|w| *w == site) {
            by_site.entry(site).or_default().push((id, dictionary));
        }
    }
    let mut newest: HashMap<String, DictionaryInfo> = HashMap::new();
    for d in store.dictionaries().await? {
        match newest.get(&d.site) {
            Some(known) if known.id > d.id => {}
            _ => {
                newest.insert(d.site.clone(), d);
            }
        }
    }
    let mut summary = CompactSummary {
        dry_run: options.dry_run,
        sites: Vec::new(),
        small_sites: 0,
        recompressed: 0,
        failures: 0,
        dictionaries_dropped: 0,
        vacuumed: false,
        complete: true,
        before: before.clone(),
        after: before,
    };
    // Sites too small for a dictionary of their own share one, trained on their captures
    // together: pages of unrelated sites still share markup, scripts and boilerplate.
    let mut groups = Vec::new();
    let mut small = Vec::new();
    for (site, captures) in by_site {
        if captures.len() >= options.min_captures && !site.is_empty() {
            groups.push((site, captures));
        } else {
            summary.small_sites += 1;
            small.extend(captures);
        }
    }
    if wanted_site.is_none() && small.len() >= options.min_captures {
        groups.push((SHARED_DICTIONARY_SITE.to_string(), small));
    }
    for (site, captures) in groups {
        if !summary.complete {
            break;
        }
        let current = newest.get(&site);
        // A dictionary trained on as many samples as training takes (by count or by
        // bytes) is not outdated by growth: training again would read the same amount.
        let outdated = current.is_none_or(|d| {
            captures.len() as i64 >= 2 * d.samples
                && d.samples < MAX_TRAINING_SAMPLES as i64
                && (d.sample_bytes as u64) < MAX_SAMPLE_BYTES
        });
        let mut part = SiteCompaction {
            site: site.clone(),
            captures: captures.len() as u64,
            would_train: outdated,
            ..SiteCompaction::default()
        };
        if options.dry_run {
            part.recompressed = match current {
                Some(d) if !outdated => captures
                    .iter()
                    .filter(|(_, used)| *used != Some(d.id))
                    .count() as u64,
                _ => captures.len() as u64,
            };
            summary.recompressed += part.recompressed;
            summary.sites.push(part);
            continue;
        }
        let dictionary_id = if outdated {
            match train_site(store, &site, &captures, options).await? {
                Ok(trained) => {
                    let id = trained.id;
                    part.trained = Some(trained);
                    id
                }
                Err(reason) => {
                    tracing::warn!(site = %site, error = %reason, "no dictionary trained");
                    summary.failures += 1;
                    summary.sites.push(part);
                    continue;
                }
            }
        } else {
            match current {
                Some(d) => d.id,
                None => continue,
            }
        };
        let pending: Vec<CaptureId> = captures
            .iter()
            .filter(|(_, d)| *d != Some(dictionary_id))
            .map(|(id, _)| *id)
            .collect();
        if !pending.is_empty() {
            let encoder = store.site_encoder(dictionary_id, options.level).await?;
            for batch in pending.chunks(options.batch.max(1)) {
                if options.limit.is_some_and(|limit| {
                    summary.recompressed + part.recompressed + part.kept >= limit
                }) {
                    summary.complete = false;
                    break;
                }
                let done = store.recompress(batch.to_vec(), &encoder).await?;
                for failure in &done.failures {
                    tracing::warn!(site = %site, error = %failure, "capture left as it was");
                }
                summary.failures += done.failures.len() as u64;
                part.recompressed += done.replaced;
                part.kept += done.kept;
                part.bytes_before += done.bytes_before;
                part.bytes_after += done.bytes_after;
            }
        }
        tracing::info!(
            site = %site,
            captures = part.captures,
            recompressed = part.recompressed,
            bytes_before = part.bytes_before,
            bytes_after = part.bytes_after,
            "site compacted"
        );
        summary.recompressed += part.recompressed;
        summary.sites.push(part);
    }
    if !options.dry_run {
        summary.dictionaries_dropped = store.drop_unused_dictionaries().await? as u64;
        if options.vacuum {
            store.reclaim_space().await?;
            summary.vacuumed = true;
        }
        summary.after = store.storage_usage(false).await?;
    }
    Ok(summary)
}

/// Trains and stores a dictionary on the site's most recent captures. The outer error is
/// the archive's; the inner one says why no dictionary could be trained.
async fn train_site(
    store: &Store,
    site: &str,
    captures: &[(CaptureId, Option<i64>)],
    options: &CompactOptions,
) -> Result<Result<TrainedDictionary, String>, StoreError> {
    let mut ids: Vec<CaptureId> = captures.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.truncate(MAX_TRAINING_SAMPLES);
    let mut samples = Vec::new();
    let mut sample_bytes = 0u64;
    'read: for chunk in ids.chunks(64) {
        for capture in store.capture_bodies(chunk.to_vec()).await? {
            match capture.body {
                Ok(body) => {
                    sample_bytes += body.len() as u64;
                    samples.push(body);
                    if sample_bytes >= MAX_SAMPLE_BYTES {
                        break 'read;
                    }
                }
                Err(reason) => {
                    tracing::warn!(site = %site, error = %reason, "capture not used for training");
                }
            }
        }
    }
    if samples.len() < options.min_captures.min(captures.len()) / 2 {
        return Ok(Err(format!(
            "only {} of its captures could be read",
            samples.len()
        )));
    }
    // zstd wants many times the dictionary's size in samples; a small site gets a
    // dictionary in proportion.
    let max_size = options
        .dictionary_size
        .min(usize::try_from(sample_bytes / 8).unwrap_or(usize::MAX))
        .max(1024);
    let count = samples.len() as u64;
    let bytes = match Store::train_dictionary(samples, max_size).await {
        Ok(bytes) => bytes,
        Err(reason) => return Ok(Err(format!("zstd could not train a dictionary: {reason}"))),
    };
    let size = bytes.len() as u64;
    let id = store
        .add_dictionary(NewDictionary {
            site: site.to_string(),
            trained_at: options.now,
            samples: count as i64,
            sample_bytes: sample_bytes as i64,
            bytes,
        })
        .await?;
    tracing::info!(site = %site, dictionary = id, samples = count, size, "dictionary trained");
    Ok(Ok(TrainedDictionary {
        id,
        samples: count,
        sample_bytes,
        size,
    }))
}
