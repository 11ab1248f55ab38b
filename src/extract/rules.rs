//! Per-site extraction rules, for the sites that defeat the heuristics: CSS selectors for
//! the article's content, for elements to drop before anything is read, and for the
//! element holding the publication date. Selectors are compiled once, when the config is
//! loaded, so a typo is a config error naming the source rather than a silent miss on
//! every page. A rule that matches nothing on a page leaves that page to the heuristics.

use std::collections::HashSet;
use std::fmt;

use dom_query::{Document, Matcher, NodeId, NodeRef};

/// The compiled rules of one source. Cheap to clone (selectors are shared).
#[derive(Clone, Default)]
pub struct SiteRules {
    content: Option<Rule>,
    drop: Vec<Rule>,
    date: Option<Rule>,
}

/// One selector with the text it was written as, for messages and `Debug`.
#[derive(Clone)]
struct Rule {
    source: String,
    matcher: Matcher,
}

impl fmt::Debug for SiteRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteRules")
            .field("content", &self.content.as_ref().map(|r| &r.source))
            .field(
                "drop",
                &self.drop.iter().map(|r| &r.source).collect::<Vec<_>>(),
            )
            .field("date", &self.date.as_ref().map(|r| &r.source))
            .finish()
    }
}

/// Two rule sets are equal when they were written the same (config reloads compare them).
impl PartialEq for SiteRules {
    fn eq(&self, other: &SiteRules) -> bool {
        fn sources(r: &SiteRules) -> (Option<&str>, Vec<&str>, Option<&str>) {
            (
                r.content.as_ref().map(|r| r.source.as_str()),
                r.drop.iter().map(|r| r.source.as_str()).collect(),
                r.date.as_ref().map(|r| r.source.as_str()),
            )
        }
        sources(self) == sources(other)
    }
}

/// A selector that does not parse, named with the key it was given under.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: invalid CSS selector {selector:?}")]
pub struct RuleError {
    pub key: &'static str,
    pub selector: String,
}

impl SiteRules {
    /// Compiles the selectors; `None`/empty means "no rule" for that part.
    pub fn new(
        content: Option<&str>,
        drop: &[String],
        date: Option<&str>,
    ) -> Result<SiteRules, RuleError> {
        Ok(SiteRules {
            content: content
                .map(|s| Rule::new("content_selector", s))
                .transpose()?,
            drop: drop
                .iter()
                .map(|s| Rule::new("drop_selectors", s))
                .collect::<Result<_, _>>()?,
            date: date.map(|s| Rule::new("date_selector", s)).transpose()?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.content.is_none() && self.drop.is_empty() && self.date.is_none()
    }

    /// Removes what the drop selectors match.
    pub(crate) fn drop_elements(&self, doc: &Document) {
        for rule in &self.drop {
            doc.select_matcher(&rule.matcher).remove();
        }
    }

    /// The elements the content selector matches, outermost only (a match inside another
    /// match would be read twice), in document order; empty when there is no rule or no
    /// match.
    pub(crate) fn content_roots<'a>(&self, doc: &'a Document) -> Vec<NodeRef<'a>> {
        let Some(rule) = &self.content else {
            return Vec::new();
        };
        let matched: Vec<NodeRef<'a>> = doc.select_matcher(&rule.matcher).nodes().to_vec();
        let ids: HashSet<NodeId> = matched.iter().map(|n| n.id).collect();
        matched
            .into_iter()
            .filter(|n| !n.ancestors_it(None).any(|a| ids.contains(&a.id)))
            .collect()
    }

    /// What the date selector points at, for the date reader: a `datetime` or `content`
    /// attribute when the element has one (machine-readable), else its text. The first
    /// match that has either wins.
    pub(crate) fn date_text(&self, doc: &Document) -> Option<String> {
        let rule = self.date.as_ref()?;
        doc.select_matcher(&rule.matcher)
            .nodes()
            .iter()
            .find_map(|n| {
                let value = n
                    .attr("datetime")
                    .or_else(|| n.attr("content"))
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| n.text().to_string());
                let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
                (!value.is_empty()).then_some(value)
            })
    }
}

impl Rule {
    fn new(key: &'static str, selector: &str) -> Result<Rule, RuleError> {
        let error = || RuleError {
            key,
            selector: selector.to_string(),
        };
        if selector.trim().is_empty() {
            return Err(error());
        }
        let matcher = Matcher::new(selector).map_err(|_| error())?;
        Ok(Rule {
            source: selector.to_string(),
            matcher,
        })
    }
}
