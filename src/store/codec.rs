//! How capture bodies are compressed: zstd alone, or zstd with a site's trained dictionary
//! (schema version 6). Owns the training of dictionaries from sample pages and a bounded
//! cache of prepared dictionaries, so that compressing or reading many captures of one
//! site parses its dictionary once rather than once per row. No SQL: the backend hands
//! dictionaries in as bytes.

use std::collections::HashMap;
use std::sync::Arc;

use zstd::dict::{DecoderDictionary, EncoderDictionary};

use super::StoreError;

/// zstd level for captures as they arrive: zstd's default, a fast level. Measured on 300
/// real pages (docs/performance-log.md), level 3 compresses at ~260 MB/s against ~68 MB/s
/// for level 9 and stores 8 % more; level 9 cost a fifth of the CPU of archiving a page.
/// `compact` re-compresses captures later with dictionaries at [`COMPACT_LEVEL`], so the
/// ratio on arrival matters only until then.
pub(super) const CAPTURE_LEVEL: i32 = 3;

/// zstd level for captures re-compressed by `compact`, which runs off the fetch path and
/// can afford more time per page.
pub const COMPACT_LEVEL: i32 = 19;

/// Dictionary size `compact` trains by default (zstd's own default). A dictionary pays
/// when it holds a site's whole template, which is often larger than 64 KiB: measured on
/// real pages (docs/performance-log.md), unseen pages of a site were stored in 3-4 % of
/// their size with 110 KiB against 8-9 % with 64 KiB and 17 % with 32 KiB.
pub const DEFAULT_DICTIONARY_SIZE: usize = 110 * 1024;

/// Prepared dictionaries kept per kind. A prepared encoder dictionary at level 19 takes a
/// few MB, so the cache stays small; an archive with more active sites prepares some of
/// them again, which costs milliseconds.
const MAX_PREPARED: usize = 16;

/// A capture body for the `body_zstd` column, and the dictionary it was compressed with.
pub(super) struct CompressedBody {
    pub bytes: Vec<u8>,
    pub dictionary_id: Option<i64>,
}

/// A dictionary as stored: its row id and bytes.
pub(super) struct StoredDictionary {
    pub id: i64,
    pub bytes: Vec<u8>,
}

/// Compresses `body` with zstd alone.
pub(super) fn compress_plain(body: &[u8], level: i32) -> Result<Vec<u8>, StoreError> {
    zstd::bulk::compress(body, level)
        .map_err(|e| StoreError::Other(format!("compress capture: {e}")))
}

/// Compresses `body` with a prepared dictionary.
pub(super) fn compress_with(
    body: &[u8],
    dictionary: &EncoderDictionary<'static>,
) -> Result<Vec<u8>, StoreError> {
    zstd::bulk::Compressor::with_prepared_dictionary(dictionary)
        .and_then(|mut c| c.compress(body))
        .map_err(|e| StoreError::Other(format!("compress capture with dictionary: {e}")))
}

/// Decompresses a capture body of `size` bytes, with its dictionary when it has one.
/// The error says what went wrong; the caller names the capture.
pub(super) fn decompress(
    compressed: &[u8],
    size: usize,
    dictionary: Option<&DecoderDictionary<'static>>,
) -> Result<Vec<u8>, String> {
    let body = match dictionary {
        Some(d) => zstd::bulk::Decompressor::with_prepared_dictionary(d)
            .and_then(|mut z| z.decompress(compressed, size)),
        None => zstd::bulk::decompress(compressed, size),
    }
    .map_err(|e| e.to_string())?;
    if body.len() != size {
        return Err(format!(
            "decompressed to {} bytes, {size} recorded",
            body.len()
        ));
    }
    Ok(body)
}

/// Trains a dictionary of at most `max_size` bytes on sample bodies (zstd's dictionary
/// builder, the one behind `zstd --train`).
pub(super) fn train(samples: &[Vec<u8>], max_size: usize) -> Result<Vec<u8>, String> {
    zstd::dict::from_samples(samples, max_size).map_err(|e| e.to_string())
}

/// Prepared dictionaries: encoders by site (the site's newest dictionary, or none), and
/// decoders by dictionary id. Dictionary rows never change, so a decoder stays valid; a
/// site's newest dictionary changes when one is trained, possibly by another process, so
/// the encoders are dropped whenever the archive's newest dictionary id moves.
#[derive(Default)]
pub(super) struct DictionaryCache {
    /// The highest dictionary id when `encoders` was filled.
    newest: Option<i64>,
    encoders: HashMap<String, Option<(i64, Arc<EncoderDictionary<'static>>)>>,
    decoders: HashMap<i64, Arc<DecoderDictionary<'static>>>,
}

impl DictionaryCache {
    /// Forgets the encoders if the archive's newest dictionary is not the one they were
    /// chosen under.
    pub(super) fn observe_newest(&mut self, newest: Option<i64>) {
        if self.newest != newest {
            self.encoders.clear();
            self.newest = newest;
        }
    }

    /// The cached choice for `site`: `None` when not cached, `Some(None)` when the site
    /// has no dictionary.
    pub(super) fn encoder(
        &self,
        site: &str,
    ) -> Option<Option<(i64, Arc<EncoderDictionary<'static>>)>> {
        self.encoders.get(site).cloned()
    }

    /// Prepares and remembers the site's newest dictionary (or that it has none).
    pub(super) fn put_encoder(
        &mut self,
        site: &str,
        stored: Option<&StoredDictionary>,
    ) -> Option<(i64, Arc<EncoderDictionary<'static>>)> {
        if self.encoders.len() >= MAX_PREPARED {
            self.encoders.clear();
        }
        let prepared = stored.map(|d| {
            (
                d.id,
                Arc::new(EncoderDictionary::copy(&d.bytes, CAPTURE_LEVEL)),
            )
        });
        self.encoders.insert(site.to_string(), prepared.clone());
        prepared
    }

    pub(super) fn decoder(&self, id: i64) -> Option<Arc<DecoderDictionary<'static>>> {
        self.decoders.get(&id).cloned()
    }

    pub(super) fn put_decoder(&mut self, id: i64, bytes: &[u8]) -> Arc<DecoderDictionary<'static>> {
        if self.decoders.len() >= MAX_PREPARED {
            self.decoders.clear();
        }
        let prepared = Arc::new(DecoderDictionary::copy(bytes));
        self.decoders.insert(id, Arc::clone(&prepared));
        prepared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(i: usize) -> Vec<u8> {
        format!(
            "<html><head><title>Site {i}</title><script src=/app.js></script></head>\
             <body><nav>Home News Sport Business Culture Opinion</nav>\
             <article><h1>Article {i}</h1><p>Paragraph {} of story {i}.</p></article>\
             <footer>Copyright Example News. All rights reserved.</footer></body></html>",
            i * 7919 % 1000
        )
        .into_bytes()
    }

    #[test]
    fn a_trained_dictionary_round_trips_and_a_wrong_one_fails() {
        let samples: Vec<Vec<u8>> = (0..200).map(page).collect();
        let dict = train(&samples, 4096).expect("training on 200 similar pages works");
        let mut cache = DictionaryCache::default();
        let stored = StoredDictionary {
            id: 7,
            bytes: dict.clone(),
        };
        let (id, encoder) = cache
            .put_encoder("example.com", Some(&stored))
            .expect("a dictionary was given");
        assert_eq!(id, 7);
        let body = page(1000);
        let with = compress_with(&body, &encoder).expect("compresses");
        let plain = compress_plain(&body, CAPTURE_LEVEL).expect("compresses");
        assert!(
            with.len() < plain.len(),
            "{} >= {}",
            with.len(),
            plain.len()
        );
        let decoder = cache.put_decoder(7, &dict);
        assert_eq!(
            decompress(&with, body.len(), Some(&decoder)),
            Ok(body.clone())
        );
        assert!(decompress(&with, body.len(), None).is_err());
        assert!(decompress(&with, body.len() - 1, Some(&decoder)).is_err());
    }

    #[test]
    fn encoders_are_forgotten_when_a_newer_dictionary_appears() {
        let mut cache = DictionaryCache::default();
        cache.observe_newest(None);
        cache.put_encoder("example.com", None);
        assert!(matches!(cache.encoder("example.com"), Some(None)));
        cache.observe_newest(None);
        assert!(cache.encoder("example.com").is_some());
        cache.observe_newest(Some(1));
        assert!(cache.encoder("example.com").is_none());
    }
}
