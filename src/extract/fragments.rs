//! Word lists that class, id and label tests look for inside a name ("byline",
//! "related", "post-content", …), each compiled once into one matcher. A page asks these
//! questions of thousands of elements; one pass over the name replaces a substring search
//! per word of the list (measured in docs/performance.md, "Extraction alone").

use regex::{Regex, RegexBuilder};

/// A fixed list of fragments, any of which may occur anywhere in the name tested.
pub(crate) struct Fragments(Regex);

impl Fragments {
    /// The list as one literal alternation (no fragment is a pattern).
    pub(crate) fn new(words: &[&str]) -> Fragments {
        Fragments(byte_matcher(&alternation(words)))
    }

    /// Whether any fragment of the list occurs in `name`.
    pub(crate) fn found_in(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

/// `words` as a regex alternation of literals, for patterns built around a word list.
pub(crate) fn alternation(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| regex::escape(w))
        .collect::<Vec<_>>()
        .join("|")
}

/// A pattern made of escaped literals and fixed syntax, compiled to match bytes (class
/// and id names need no Unicode classes, and the matcher is smaller without them).
pub(crate) fn byte_matcher(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .expect("patterns of escaped literals and fixed syntax always compile")
}

#[cfg(test)]
mod tests {
    use super::Fragments;

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
}
