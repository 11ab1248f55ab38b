//! Line classification by context, after jusText (Pomikálek, 2011): each line is first
//! judged on its own — its length, the share of its text inside links, a copyright
//! sign — then short and middling lines take the class of their neighbours. A short
//! line between two paragraphs of prose stays; "Kontakt:" between link lists goes.
//!
//! The extractor uses it to trim the page furniture that clings to the start and end of
//! an article ("Teilen", "Tags: …", "© 2021 …", a newsletter teaser). jusText also
//! weighs the share of function words; inside a container that is already article
//! text that cost more recall than it gave precision on the trafilatura evaluation
//! set (lists, tables and recipes have few), so it is left out.

use std::ops::Range;

/// Lines shorter than this (characters, whitespace excluded) are judged by context.
const SHORT: usize = 40;
/// Lines longer than this are prose on their own; those in between lean on context.
const LONG: usize = 100;
/// Lines with a larger share of their text in links are link lists.
const MAX_LINK_DENSITY: f32 = 0.3;
/// A heading counts as good when good text follows within this many characters.
const MAX_HEADING_DISTANCE: usize = 200;

/// One line of candidate text.
pub(crate) struct Para<'a> {
    pub text: &'a str,
    /// Characters (whitespace excluded), and of those inside links.
    pub chars: usize,
    pub link_chars: usize,
    pub heading: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Class {
    Bad,
    Short,
    NearGood,
    Good,
}

/// The lines from the first to the last that is not bad: the runs of furniture at
/// both ends cut off. All lines when none is good.
pub(crate) fn kept_range(paras: &[Para]) -> Range<usize> {
    let classes = classify(paras);
    let bad = |c: &&Class| **c == Class::Bad;
    let lead = classes.iter().take_while(bad).count();
    if lead == classes.len() {
        return 0..classes.len();
    }
    let trail = classes.iter().rev().take_while(bad).count();
    lead..classes.len() - trail
}

/// Classify every line; one class per input line.
pub(crate) fn classify(paras: &[Para]) -> Vec<Class> {
    let initial: Vec<Class> = paras.iter().map(initial_class).collect();
    revise(paras, &initial)
}

fn initial_class(p: &Para) -> Class {
    let link_density = if p.chars == 0 {
        0.0
    } else {
        p.link_chars as f32 / p.chars as f32
    };
    if link_density > MAX_LINK_DENSITY || p.text.contains('©') {
        Class::Bad
    } else if p.chars < SHORT {
        if p.link_chars > 0 {
            Class::Bad
        } else {
            Class::Short
        }
    } else if p.chars > LONG {
        Class::Good
    } else {
        Class::NearGood
    }
}

/// The class of the nearest line before (or after) `i` that is neither short nor,
/// optionally, near-good; the edge of the text counts as bad.
fn neighbour(classes: &[Class], i: usize, forward: bool, ignore_neargood: bool) -> Class {
    let skip = |c: &Class| *c == Class::Short || (ignore_neargood && *c == Class::NearGood);
    let found = if forward {
        classes[i + 1..].iter().find(|c| !skip(c))
    } else {
        classes[..i].iter().rev().find(|c| !skip(c))
    };
    found.copied().unwrap_or(Class::Bad)
}

fn good_follows(paras: &[Para], classes: &[Class], i: usize) -> bool {
    let mut distance = 0usize;
    for (p, &c) in paras.iter().zip(classes).skip(i + 1) {
        if distance > MAX_HEADING_DISTANCE {
            break;
        }
        if c == Class::Good {
            return true;
        }
        distance += p.chars;
    }
    false
}

fn revise(paras: &[Para], initial: &[Class]) -> Vec<Class> {
    let mut classes = initial.to_vec();
    // short headings right before good text are near-good
    for i in 0..classes.len() {
        if paras[i].heading && classes[i] == Class::Short && good_follows(paras, &classes, i) {
            classes[i] = Class::NearGood;
        }
    }
    // short lines take the class of their context
    let mut revised = classes.clone();
    for (i, class) in revised.iter_mut().enumerate() {
        if classes[i] != Class::Short {
            continue;
        }
        let prev = neighbour(&classes, i, false, true);
        let next = neighbour(&classes, i, true, true);
        *class = match (prev, next) {
            (Class::Good, Class::Good) => Class::Good,
            (Class::Bad, Class::Bad) => Class::Bad,
            // between good and bad: good when a near-good line stands on the bad side
            _ => {
                let near_before =
                    prev == Class::Bad && neighbour(&classes, i, false, false) == Class::NearGood;
                let near_after =
                    next == Class::Bad && neighbour(&classes, i, true, false) == Class::NearGood;
                if near_before || near_after {
                    Class::Good
                } else {
                    Class::Bad
                }
            }
        };
    }
    let mut classes = revised;
    // near-good lines are good unless bad surrounds them
    for i in 0..classes.len() {
        if classes[i] != Class::NearGood {
            continue;
        }
        let prev = neighbour(&classes, i, false, true);
        let next = neighbour(&classes, i, true, true);
        classes[i] = if prev == Class::Bad && next == Class::Bad {
            Class::Bad
        } else {
            Class::Good
        };
    }
    // headings that were not bad on their own and head good text
    for i in 0..classes.len() {
        if paras[i].heading
            && classes[i] == Class::Bad
            && initial[i] != Class::Bad
            && good_follows(paras, &classes, i)
        {
            classes[i] = Class::Good;
        }
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROSE: &str = "The council published the figures on Monday, and they show, for the \
                         first time, how the money that the city raises is spent.";

    fn para(text: &str, link_chars: usize, heading: bool) -> Para<'_> {
        Para {
            text,
            chars: text.chars().filter(|c| !c.is_whitespace()).count(),
            link_chars,
            heading,
        }
    }

    #[test]
    fn context_decides_short_lines() {
        let lines = [
            para("Home", 4, false),
            para("Budget", 0, true),
            para(PROSE, 0, false),
            para("It was a long day.", 0, false),
            para(PROSE, 0, false),
            para("Contact:", 0, false),
            para("Imprint", 7, false),
        ];
        let c = classify(&lines);
        assert_eq!(c[0], Class::Bad, "a link");
        assert_eq!(c[1], Class::Good, "a heading before prose");
        assert_eq!(c[3], Class::Good, "a short line between prose");
        assert_eq!(c[5], Class::Bad, "a short line before links");
    }

    #[test]
    fn only_the_ends_are_trimmed() {
        let lines = [
            para("Share", 5, false),
            para(PROSE, 0, false),
            para("Read the report", 15, false),
            para(PROSE, 0, false),
            para("© 2021 The Daily", 0, false),
            para("Tags:", 0, false),
        ];
        assert_eq!(kept_range(&lines), 1..4, "the link between prose stays");
        let furniture = [para("Home", 4, false), para("News", 4, false)];
        assert_eq!(
            kept_range(&furniture),
            0..2,
            "nothing good: nothing trimmed"
        );
    }
}
