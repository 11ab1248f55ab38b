//! Word lists that class, id and label tests look for inside a name ("byline",
//! "related", "post-content", …), each compiled once into one matcher. A page asks these
//! questions of thousands of elements; one pass over the name replaces a substring search
//! per word of the list (measured in docs/performance-log.md, "Extraction alone").

use aho_corasick::AhoCorasick;

/// A fixed list of fragments, any of which may occur anywhere in the name tested.
///
/// An Aho-Corasick automaton rather than a regex of the same alternation: the regex
/// answers the same question, but each call borrows a search cache from a pool shared by
/// every extraction thread, and that borrowing cost more than the search on short names.
pub(crate) struct Fragments(AhoCorasick);

impl Fragments {
    /// The list as one automaton (no fragment is a pattern).
    pub(crate) fn new(words: &[&str]) -> Fragments {
        Fragments(AhoCorasick::new(words).expect("a short list of literal fragments always builds"))
    }

    /// Whether any fragment of the list occurs in `name`.
    pub(crate) fn found_in(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

/// A fixed list of words, any of which may occur in a name as a whole part: at the start
/// of the name or after `-` or `_`, and at its end or before `-` or `_` ("ad" in
/// "top-ad_slot", not in "header"). Names are single class or id words.
pub(crate) struct Tokens(AhoCorasick);

impl Tokens {
    pub(crate) fn new(words: &[&str]) -> Tokens {
        Tokens(AhoCorasick::new(words).expect("a short list of literal words always builds"))
    }

    /// Whether a word of the list is a whole part of `name`. Every occurrence is tried
    /// (overlapping ones too): "ad" may be a part where "ads" is not.
    pub(crate) fn found_in(&self, name: &str) -> bool {
        let bytes = name.as_bytes();
        let separator = |at: usize| matches!(bytes.get(at), None | Some(b'-' | b'_'));
        self.0
            .find_overlapping_iter(name)
            .any(|m| (m.start() == 0 || separator(m.start() - 1)) && separator(m.end()))
    }
}

#[cfg(test)]
mod tests {
    use super::{Fragments, Tokens};

    #[test]
    fn any_fragment_anywhere_in_the_name_is_found() {
        let list = Fragments::new(&["byline", "post-meta", "a.b"]);
        assert!(list.found_in("article byline small"));
        assert!(list.found_in("entry post-meta"));
        assert!(list.found_in("a.b"));
        assert!(
            !list.found_in("axb"),
            "a dot in a fragment is a dot, not any character"
        );
        assert!(!list.found_in("postmeta by-line"));
        assert!(!list.found_in(""));
    }

    #[test]
    fn non_ascii_fragments_and_names_are_matched_byte_for_byte() {
        let list = Fragments::new(&["আরও পড়ুন", "related"]);
        assert!(list.found_in("— আরও পড়ুন: —"));
        assert!(!list.found_in("আরও খবর"));
    }

    #[test]
    fn tokens_are_found_only_as_whole_parts_of_a_name() {
        let list = Tokens::new(&["ad", "ads", "nav", "hide"]);
        for hit in [
            "ad", "top-ad", "ad_slot", "x-ad-y", "ads", "site_nav", "nav-ads", "hide",
        ] {
            assert!(list.found_in(hit), "{hit}");
        }
        for miss in [
            "header", "load", "adsense", "navbar", "unhide", "", "-", "a-d", "shadow",
        ] {
            assert!(!list.found_in(miss), "{miss}");
        }
        // A word that fails at one occurrence is still found at a later one.
        assert!(list.found_in("shadow-ad"));
        assert!(list.found_in("adsx-ads"));
        // Overlapping words are each tried: in "ads-x", "ad" is not a part but "ads" is.
        assert!(!list.found_in("adsx"));
        assert!(list.found_in("ads-x"));
    }
}
