//! Stories: which archived articles tell the same story. Owns the content fingerprint of
//! an article's text (MinHash over word shingles), its locality-sensitive band hashes
//! (what the archive indexes to find near-duplicates in about constant time), and the
//! rule that decides whether two fingerprints are the same story. Pure code: no I/O, no
//! SQL, no clock; the store keeps fingerprints and bands and calls [`StoryRules`] on the
//! few candidates the bands bring up.
//!
//! # The fingerprint (scheme 1)
//!
//! Fingerprints are stored, so every step below is fixed for a scheme version and written
//! out here so that any tool can recompute it; changing any of it is a new
//! [`SCHEME_VERSION`], and fingerprints of another scheme are never compared.
//!
//! 1. The text is cut to its first [`MAX_TEXT_BYTES`] bytes (at a character boundary) and
//!    normalised to NFC.
//! 2. It is split into words on Unicode word boundaries (UAX #29, as `unicode-segmentation`
//!    does): combining marks stay inside their word, so Bengali vowel signs and the
//!    virama never split one, and segments with no letter or digit (punctuation, spaces,
//!    symbols) are not words. In each word, characters that are neither alphanumeric nor
//!    combining marks are dropped (apostrophes, inner dots and commas, ZWJ/ZWNJ, soft
//!    hyphens), decimal digits of the Bengali, Devanagari, Arabic-Indic and full-width
//!    forms become ASCII `0`–`9`, and letters are lower-cased. At most [`MAX_WORDS`]
//!    words are taken, so a 5 MB text costs what a long article does.
//! 3. Each word is hashed to 64 bits: FNV-1a over its UTF-8 bytes, then the SplitMix64
//!    finaliser (`mix`). A shingle is [`SHINGLE_WORDS`] consecutive words; its hash folds
//!    the word hashes in order, `h = mix(h ^ w)` starting from `h = SHINGLE_WORDS`.
//! 4. The MinHash signature has [`HASHES`] values: value `i` is the least, over the
//!    distinct shingle hashes `s`, of the high 32 bits of `mix(s ^ seed[i])`, where
//!    `seed[i] = mix(SEED_BASE + i * GOLDEN)` (constants below). The fingerprint also
//!    keeps the number of words and of distinct shingles.
//! 5. Band `j` (of [`BANDS`] = 42) hashes the [`ROWS_PER_BAND`] = 3 values from `3 * j`
//!    of the signature (the first 126 of them): `h = mix(j + 1)`, then `h = mix(h ^ v)`
//!    for each value, keeping the high 32 bits.
//!
//! Two fingerprints estimate the Jaccard similarity of their shingle sets as the share
//! of equal signature values (±0.04 at 128 values), and from it and the two set sizes the
//! containment of the smaller set in the larger: `|A∩B| = J(|A|+|B|)/(1+J)`. Containment
//! is what makes a wire story wrapped in another site's boilerplate, or cut by a
//! paragraph, still the same story, where Jaccard alone drops with every added line.
//!
//! Two articles share a band when their signatures agree on all three of its values; an
//! article is a candidate when it shares at least one of the 42 bands, which happens with
//! probability `1 - (1 - J^3)^42`: 0.94 at J = 0.4, 0.996 at J = 0.5, and 0.005 at J =
//! 0.05, so unrelated articles (however many) are almost never looked at. (32 bands of
//! four values missed one in twenty of the evaluation's updated articles, at J ≈ 0.55.)
//!
//! # Why MinHash, by hand
//!
//! MinHash and SimHash were both measured on the labelled pairs of
//! `examples/stories_eval.rs` (see the README): SimHash's 64 bits estimate the cosine
//! similarity of the two shingle sets and cannot tell "contained in" from "different",
//! so a copy wrapped in boilerplate or cut short drifts as far as an unrelated text:
//! its best setting (21 bits) reaches precision 0.980 at recall 0.991, where MinHash's
//! containment gives 0.999 at 0.998. MinHash's Jaccard alone, at the same threshold,
//! keeps precision but loses recall (0.938) on exactly those copies. Word shingles of
//! 3, 4 and 5 words measured within 0.001 of each other; four keep stock phrases ("the
//! prime minister said") from linking unrelated texts. The crate `gaoya` has MinHash and LSH, but draws its permutations from
//! `rand`'s `StdRng`, whose algorithm `rand` does not promise to keep across releases, and
//! keeps its index in memory; stored fingerprints must never change under a dependency
//! update, and the index lives in the archive. The whole scheme is a hundred lines.

use std::fmt;

use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

/// The fingerprint scheme this build computes; stored beside each fingerprint.
pub const SCHEME_VERSION: u32 = 1;
/// Values in a MinHash signature.
pub const HASHES: usize = 128;
/// Locality-sensitive bands over the signature, and signature values per band.
pub const BANDS: usize = 42;
pub const ROWS_PER_BAND: usize = 3;
const _: () = assert!(BANDS * ROWS_PER_BAND <= HASHES);
/// Words per shingle.
pub const SHINGLE_WORDS: usize = 4;
/// Words of a text that are fingerprinted; the rest is not read.
pub const MAX_WORDS: usize = 10_000;
/// Bytes of a text that are read at all (before normalisation).
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

const SEED_BASE: u64 = 0x6e65_7773_7661_756c; // "newsvaul"
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The defaults of `[stories]`, chosen from `examples/stories_eval.rs` (README).
pub const DEFAULT_THRESHOLD: f64 = 0.6;
pub const DEFAULT_MIN_WORDS: usize = 40;

/// The SplitMix64 finaliser: a fixed, well-mixing 64-bit permutation.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn word_hash(word: &str) -> u64 {
    let fnv = word.bytes().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    });
    mix(fnv)
}

fn seeds() -> [u64; HASHES] {
    std::array::from_fn(|i| mix(SEED_BASE.wrapping_add((i as u64).wrapping_mul(GOLDEN))))
}

/// A decimal digit of another script as its ASCII digit.
fn ascii_digit(c: char) -> Option<char> {
    let zero = match c {
        '\u{0660}'..='\u{0669}' => 0x0660, // Arabic-Indic
        '\u{06F0}'..='\u{06F9}' => 0x06F0, // Extended Arabic-Indic (Persian, Urdu)
        '\u{0966}'..='\u{096F}' => 0x0966, // Devanagari
        '\u{09E6}'..='\u{09EF}' => 0x09E6, // Bengali
        '\u{FF10}'..='\u{FF19}' => 0xFF10, // full-width
        _ => return None,
    };
    char::from_digit(c as u32 - zero, 10)
}

/// The words of a text as the fingerprint sees them (steps 1 and 2 of the scheme), at
/// most `MAX_WORDS` of them.
pub fn normalised_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for_each_normalised_word(text, |word| words.push(word.to_string()));
    words
}

/// Calls `each` with the words [`normalised_words`] returns, in order, without keeping
/// them: one buffer serves every word.
fn for_each_normalised_word(text: &str, mut each: impl FnMut(&str)) {
    let mut cut = text.len().min(MAX_TEXT_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let nfc = crate::canon::nfc(&text[..cut]);
    let mut word = String::new();
    let mut count = 0;
    for segment in nfc.unicode_words() {
        word.clear();
        for c in segment.chars() {
            if let Some(digit) = ascii_digit(c) {
                word.push(digit);
            } else if c.is_alphanumeric() || is_combining_mark(c) {
                word.extend(c.to_lowercase());
            }
        }
        if !word.is_empty() {
            each(&word);
            count += 1;
            if count == MAX_WORDS {
                break;
            }
        }
    }
}

/// The content fingerprint of an article's text.
#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The scheme that computed it ([`SCHEME_VERSION`] for new ones).
    pub scheme: u32,
    /// Normalised words read (at most [`MAX_WORDS`]).
    pub words: u32,
    /// Distinct shingles among them.
    pub shingles: u32,
    pub minhash: [u32; HASHES],
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Fingerprint(scheme {}, {} words, {} shingles, {:08x}…)",
            self.scheme, self.words, self.shingles, self.minhash[0]
        )
    }
}

/// How alike two texts are, estimated from their fingerprints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Shared shingles over all shingles of either.
    pub jaccard: f64,
    /// Shared shingles over the shingles of the smaller text.
    pub containment: f64,
}

/// The fingerprint of a text, or `None` when it has fewer words than a shingle.
pub fn fingerprint(text: &str) -> Option<Fingerprint> {
    fingerprint_with(text, SHINGLE_WORDS)
}

/// [`fingerprint`] with another shingle length: for measurements only, never stored.
pub fn fingerprint_with(text: &str, shingle_words: usize) -> Option<Fingerprint> {
    let shingle_words = shingle_words.max(1);
    let mut hashes: Vec<u64> = Vec::new();
    for_each_normalised_word(text, |word| hashes.push(word_hash(word)));
    if hashes.len() < shingle_words {
        return None;
    }
    let mut shingles: Vec<u64> = hashes
        .windows(shingle_words)
        .map(|window| window.iter().fold(shingle_words as u64, |h, &w| mix(h ^ w)))
        .collect();
    shingles.sort_unstable();
    shingles.dedup();
    let minhash = minhash(&shingles, &seeds());
    Some(Fingerprint {
        scheme: SCHEME_VERSION,
        words: u32::try_from(hashes.len()).unwrap_or(u32::MAX),
        shingles: u32::try_from(shingles.len()).unwrap_or(u32::MAX),
        minhash,
    })
}

/// The signature of a set of shingles: under each seed, the least of their hashes.
/// This is most of a fingerprint's cost (128 hashes per shingle), so it runs with the
/// widest integer vectors the CPU has, chosen when it runs: AVX-512 multiplies eight
/// 64-bit lanes at once (six times the speed of one at a time, on a text of 1,500
/// shingles), AVX2 has no 64-bit multiply but still doubles it. The values are the same
/// on every path.
fn minhash(shingles: &[u64], seeds: &[u64; HASHES]) -> [u32; HASHES] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512dq") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { minhash_avx512(shingles, seeds) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { minhash_avx2(shingles, seeds) };
        }
    }
    minhash_portable(shingles, seeds)
}

/// [`minhash`] in plain Rust, inlined into each of the vector paths so that the compiler
/// vectorises the loop over the seeds for them.
#[inline(always)]
fn minhash_portable(shingles: &[u64], seeds: &[u64; HASHES]) -> [u32; HASHES] {
    let mut minhash = [u32::MAX; HASHES];
    for &shingle in shingles {
        for (slot, seed) in minhash.iter_mut().zip(seeds) {
            let value = (mix(shingle ^ seed) >> 32) as u32;
            if value < *slot {
                *slot = value;
            }
        }
    }
    minhash
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn minhash_avx512(shingles: &[u64], seeds: &[u64; HASHES]) -> [u32; HASHES] {
    minhash_portable(shingles, seeds)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn minhash_avx2(shingles: &[u64], seeds: &[u64; HASHES]) -> [u32; HASHES] {
    minhash_portable(shingles, seeds)
}

impl Fingerprint {
    /// The band hashes the archive indexes: two texts whose signatures agree on one band
    /// are near-duplicate candidates.
    pub fn bands(&self) -> [u32; BANDS] {
        std::array::from_fn(|band| {
            let rows = &self.minhash[band * ROWS_PER_BAND..(band + 1) * ROWS_PER_BAND];
            let h = rows
                .iter()
                .fold(mix(band as u64 + 1), |h, &v| mix(h ^ u64::from(v)));
            (h >> 32) as u32
        })
    }

    /// The signature as stored: `HASHES` little-endian `u32`s.
    pub fn minhash_bytes(&self) -> Vec<u8> {
        self.minhash.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A stored fingerprint read back; `None` when the signature has the wrong length.
    pub fn from_stored(scheme: u32, words: u32, shingles: u32, minhash: &[u8]) -> Option<Self> {
        if minhash.len() != HASHES * 4 {
            return None;
        }
        let mut values = [0u32; HASHES];
        for (value, bytes) in values.iter_mut().zip(minhash.chunks_exact(4)) {
            *value = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        Some(Fingerprint {
            scheme,
            words,
            shingles,
            minhash: values,
        })
    }

    /// How alike the two texts are; `None` when the fingerprints are of different schemes
    /// and so cannot be compared.
    pub fn similarity(&self, other: &Fingerprint) -> Option<Similarity> {
        if self.scheme != other.scheme {
            return None;
        }
        let equal = self
            .minhash
            .iter()
            .zip(&other.minhash)
            .filter(|(a, b)| a == b)
            .count();
        let jaccard = equal as f64 / HASHES as f64;
        let (a, b) = (f64::from(self.shingles), f64::from(other.shingles));
        let smaller = a.min(b).max(1.0);
        let shared = jaccard * (a + b) / (1.0 + jaccard);
        Some(Similarity {
            jaccard,
            containment: (shared / smaller).min(1.0),
        })
    }
}

/// When two articles are the same story (`[stories]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoryRules {
    /// Least similarity (containment of the shorter text's shingles in the longer's)
    /// for an article to join another's story.
    pub threshold: f64,
    /// Texts with fewer words are never compared: they get a story of their own.
    pub min_words: usize,
}

impl Default for StoryRules {
    fn default() -> Self {
        StoryRules {
            threshold: DEFAULT_THRESHOLD,
            min_words: DEFAULT_MIN_WORDS,
        }
    }
}

impl StoryRules {
    /// Whether a text this long may join or found a shared story at all.
    pub fn comparable(&self, fingerprint: &Fingerprint) -> bool {
        fingerprint.words as usize >= self.min_words.max(SHINGLE_WORDS)
    }

    /// The similarity that decides, when both may be compared: the containment of the
    /// smaller shingle set in the larger.
    pub fn score(&self, a: &Fingerprint, b: &Fingerprint) -> Option<f64> {
        if !self.comparable(a) || !self.comparable(b) {
            return None;
        }
        a.similarity(b).map(|s| s.containment)
    }

    /// Whether the two are the same story.
    pub fn same_story(&self, a: &Fingerprint, b: &Fingerprint) -> bool {
        self.score(a, b)
            .is_some_and(|score| score >= self.threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_minhash_path_gives_the_same_signature() {
        let seeds = seeds();
        let shingles: Vec<u64> = (0..3_000u64).map(|i| mix(i.wrapping_mul(GOLDEN))).collect();
        for n in [0, 1, 7, 100, 3_000] {
            let expected = minhash_portable(&shingles[..n], &seeds);
            assert_eq!(minhash(&shingles[..n], &seeds), expected, "{n} shingles");
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512dq") {
                    // SAFETY: the CPU has the features.
                    let avx512 = unsafe { minhash_avx512(&shingles[..n], &seeds) };
                    assert_eq!(avx512, expected, "{n} shingles, AVX-512");
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has the features.
                    let avx2 = unsafe { minhash_avx2(&shingles[..n], &seeds) };
                    assert_eq!(avx2, expected, "{n} shingles, AVX2");
                }
            }
        }
        assert_eq!(minhash(&[], &seeds), [u32::MAX; HASHES]);
    }

    const WIRE: &str = "Russian Foreign Minister Sergei Lavrov met North Korean leader Kim Jong Un \
        in Wonsan on Saturday, the second day of his visit to the country, state media said. \
        The two sides discussed the situation on the Korean peninsula and the war in Ukraine, \
        and agreed to strengthen cooperation in every field. Lavrov thanked Pyongyang for its \
        support and said Moscow valued the comprehensive strategic partnership signed last \
        year. The visit is Lavrov's second to North Korea in less than a year and follows a \
        series of trips by senior officials between the two capitals.";

    const OTHER: &str = "Farmers in Rajshahi are turning homestead plots into vegetable gardens, \
        growing gourds, spinach and chillies for their own kitchens and the local market. \
        Agriculture officials say the gardens have cut household spending on food and made \
        rural families more self-reliant, and training programmes are planned for next \
        season. Women run most of the gardens, and many now sell seedlings to neighbours \
        as well as vegetables at the weekly market in the upazila town.";

    fn fp(text: &str) -> Fingerprint {
        fingerprint(text).expect("long enough to fingerprint")
    }

    #[test]
    fn fingerprints_are_stable_across_runs_and_builds() {
        // Pinned values: a change here means stored fingerprints would no longer compare
        // with new ones, which needs a new SCHEME_VERSION.
        let f = fp(WIRE);
        assert_eq!(f.scheme, 1);
        assert_eq!(f.words, 94);
        assert_eq!(f.shingles, 91);
        assert_eq!(&f.minhash[..4], &[7564352, 2549100, 8845613, 1506609]);
        assert_eq!(&f.bands()[..2], &[2555994956, 3143909014]);
        assert_eq!(fp(WIRE), f, "the same text gives the same fingerprint");
    }

    #[test]
    fn words_keep_combining_marks_and_fold_digits_case_and_punctuation() {
        assert_eq!(
            normalised_words("লাভরভের সঙ্গে ১২ জুলাই, ২০২৫।"),
            ["লাভরভের", "সঙ্গে", "12", "জুলাই", "2025"]
        );
        assert_eq!(
            normalised_words("Don’t STOP—the U.S. (3.5%)"),
            ["dont", "stop", "the", "us", "35"]
        );
        // য় as one code point (U+09DF) and as য + nukta are the same word after NFC.
        assert_eq!(
            normalised_words("\u{09DF}"),
            normalised_words("\u{09AF}\u{09BC}")
        );
        assert!(normalised_words("  …—!! ").is_empty());
    }

    #[test]
    fn digit_scripts_do_not_change_the_fingerprint() {
        let ascii = format!("{WIRE} The talks lasted 3 hours on 12 July 2025.");
        let bengali = format!("{WIRE} The talks lasted ৩ hours on ১২ July ২০২৫.");
        assert_eq!(fp(&ascii), fp(&bengali));
    }

    #[test]
    fn similar_texts_score_high_and_different_texts_low() {
        let rules = StoryRules::default();
        let wrapped = format!(
            "Share on Facebook Share on X Print this story\n{WIRE}\nSubscribe to our newsletter for the latest news."
        );
        let trimmed = WIRE
            .rsplit_once(" The visit")
            .map(|(head, _)| head)
            .unwrap_or(WIRE);
        for variant in [wrapped.as_str(), trimmed] {
            let score = rules.score(&fp(WIRE), &fp(variant)).expect("comparable");
            assert!(score >= 0.8, "{score} for {variant:?}");
        }
        let score = rules.score(&fp(WIRE), &fp(OTHER)).expect("comparable");
        assert!(score < 0.1, "{score}");
        assert!(rules.same_story(&fp(WIRE), &fp(&wrapped)));
        assert!(!rules.same_story(&fp(WIRE), &fp(OTHER)));
    }

    #[test]
    fn short_texts_are_never_compared() {
        let rules = StoryRules::default();
        assert_eq!(fingerprint(""), None);
        assert_eq!(fingerprint("Headline"), None);
        let headline = fp("Lavrov meets Kim Jong Un in Wonsan");
        assert!(!rules.comparable(&headline));
        assert_eq!(rules.score(&headline, &headline), None);
        assert!(!rules.same_story(&headline, &headline));
    }

    #[test]
    fn huge_texts_cost_a_bounded_amount_of_work() {
        let huge = "word ".repeat(1_000_000) + &WIRE.repeat(100);
        assert!(huge.len() > 5_000_000);
        let f = fp(&huge);
        assert_eq!(f.words as usize, MAX_WORDS);
        assert!(normalised_words(&huge).len() <= MAX_WORDS);
    }

    #[test]
    fn stored_form_round_trips_and_other_schemes_do_not_compare() {
        let f = fp(WIRE);
        let back = Fingerprint::from_stored(f.scheme, f.words, f.shingles, &f.minhash_bytes())
            .expect("right length");
        assert_eq!(back, f);
        assert_eq!(Fingerprint::from_stored(1, 1, 1, &[0; 7]), None);
        let other_scheme = Fingerprint {
            scheme: 99,
            ..f.clone()
        };
        assert_eq!(f.similarity(&other_scheme), None);
    }
}
