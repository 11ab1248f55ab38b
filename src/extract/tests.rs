//! Whole-extractor tests: hostile input stays bounded and never panics; Bengali and
//! English pages yield every field.

use super::*;

fn opts(tz: Tz) -> ExtractOptions {
    ExtractOptions {
        url: None,
        timezone: tz,
        not_after: None,
        rules: Default::default(),
    }
}

fn dhaka() -> ExtractOptions {
    opts(chrono_tz::Asia::Dhaka)
}

fn paragraphs(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "<p>Paragraph {i} of the story, long enough to be scored as real content by \
                 Readability, with commas, clauses, and a few more words to pass thresholds.</p>"
            )
        })
        .collect()
}

#[test]
fn empty_and_blank_input() {
    assert_eq!(extract("", &dhaka()), Extracted::default());
    assert_eq!(extract("   \n\t ", &dhaka()), Extracted::default());
}

#[test]
fn binary_junk_does_not_panic() {
    let mut bytes = Vec::with_capacity(200_000);
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        // xorshift: deterministic junk, including '<', '&', NUL and invalid UTF-8
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push((x & 0xff) as u8);
    }
    let junk = String::from_utf8_lossy(&bytes);
    let e = extract(&junk, &dhaka());
    assert!(!e.text.contains('\u{0}'));
    let _ = extract("<<<>>>&&&;;<!--<![CDATA[<script>", &dhaka());
    let _ = extract(
        "<html><body><time datetime=\"99999-99-99\">x</time>",
        &dhaka(),
    );
}

#[test]
fn deeply_nested_markup_is_bounded() {
    let n = 100_000;
    let html = format!(
        "<html><head><title>Deep</title></head><body>{}<p>hello deep world</p>{}</body></html>",
        "<div>".repeat(n),
        "</div>".repeat(n)
    );
    let e = extract(&html, &dhaka());
    assert!(e.text.contains("hello deep world"));
    assert_eq!(e.title.as_deref(), Some("Deep"));

    // unclosed inline formatting nests too
    let html = format!("<body>{}<p>x</p>", "<b><i>".repeat(50_000));
    let _ = extract(&html, &dhaka());
}

#[test]
fn a_million_elements_are_cut_to_the_tag_limit() {
    let article = "The river rose through the night and by morning the low roads were under \
        water, the district officer said, and boats were sent to the villages on the bank."
        .repeat(3);
    let html = format!(
        "<html><head><title>Many</title></head><body><article><p>{article}</p></article>{}</body></html>",
        "<span></span>".repeat(1_000_000)
    );
    assert_eq!(within_tag_limit("<a>1<b>2<c>3", 2), "<a>1<b>2");
    assert_eq!(within_tag_limit("<a>1", 2), "<a>1");
    let e = extract(&html, &dhaka());
    assert_eq!(e.text, article);
    assert_eq!(e.title.as_deref(), Some("Many"));
}

#[test]
fn ten_megabyte_page_is_bounded() {
    let body = paragraphs(70_000);
    assert!(body.len() > 10_000_000);
    let html = format!("<html><body><article>{body}</article></body></html>");
    let e = extract(&html, &dhaka());
    assert!(e.text.starts_with("Paragraph 0"));
}

#[test]
fn page_without_article() {
    let e = extract(
        "<html><head><title>Home</title></head><body><nav><a href=/>Home</a></nav></body></html>",
        &dhaka(),
    );
    assert_eq!(e.title.as_deref(), Some("Home"));
    assert!(e.published_at.is_none());
}

#[test]
fn bengali_page_fields() {
    let html = format!(
        r#"<html lang="bn"><head>
        <title>কিম জং উনের সঙ্গে লাভরভের সাক্ষাৎ | আন্তর্জাতিক</title>
        <meta property="og:site_name" content="বাসস">
        <link rel="canonical" href="/bangla/international/491317">
        </head><body>
        <div class="headline"><h4>কিম জং উনের সঙ্গে লাভরভের সাক্ষাৎ</h4></div>
        <div class="rpt_name">বাসস</div>
        <div class="entry_update">প্রকাশ: ১২ জুলাই ২০২৫, ১৮:৩১</div>
        <div class="byline">নিজস্ব প্রতিবেদক</div>
        <article>{}</article>
        <div class="also-read"><span>আরও পড়ুন:</span><ul><li><a href="/x">অন্য খবর</a></li></ul></div>
        </body></html>"#,
        "<p>রাশিয়ার পররাষ্ট্রমন্ত্রী সের্গেই লাভরভ শনিবার উত্তর কোরিয়া সফরকালে দেশটির সর্বোচ্চ নেতা কিম জং উনের সঙ্গে সাক্ষাৎ করেছেন, রুশ পররাষ্ট্র মন্ত্রণালয় এ কথা জানিয়েছে।</p>"
            .repeat(6)
    );
    let options = ExtractOptions {
        url: url::Url::parse("https://www.bssnews.net/bangla/international/491317?x=1").ok(),
        ..dhaka()
    };
    let e = extract(&html, &options);
    assert_eq!(e.title.as_deref(), Some("কিম জং উনের সঙ্গে লাভরভের সাক্ষাৎ"));
    assert_eq!(e.site_name.as_deref(), Some("বাসস"));
    assert_eq!(e.language.as_deref(), Some("bn"));
    assert!(e.authors.is_empty(), "{:?}", e.authors);
    assert_eq!(
        e.published_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2025-07-12T18:31:00+06:00")
    );
    assert_eq!(e.updated_at, None);
    assert_eq!(
        e.canonical_url.as_deref(),
        Some("https://www.bssnews.net/bangla/international/491317")
    );
    assert!(e.text.contains("সের্গেই লাভরভ"));
    assert!(!e.text.contains("প্রকাশ: ১২ জুলাই"));
    assert!(!e.text.contains("\n\n"));
}

#[test]
fn english_page_with_json_ld_graph() {
    let html = format!(
        r#"<html lang="en-GB"><head><title>Rain returns to the valley - The Herald</title>
        <meta property="og:site_name" content="The Herald">
        <script type="application/ld+json">{{"@context":"https://schema.org","@graph":[
          {{"@type":"WebSite","name":"The Herald"}},
          {{"@type":"NewsArticle","headline":"Rain returns to the valley",
            "datePublished":"2024-03-05T06:10:00Z","dateModified":"2024-03-05T09:00:00+00:00",
            "author":[{{"@type":"Person","name":"Jane Doe"}},{{"@type":"Person","name":"John Roe"}}]}}]}}
        </script></head><body><h1>Rain returns to the valley</h1>{}</body></html>"#,
        paragraphs(8)
    );
    let e = extract(&html, &opts(chrono_tz::Europe::London));
    assert_eq!(e.title.as_deref(), Some("Rain returns to the valley"));
    assert_eq!(e.authors, vec!["Jane Doe", "John Roe"]);
    assert_eq!(e.site_name.as_deref(), Some("The Herald"));
    assert_eq!(e.language.as_deref(), Some("en"));
    assert_eq!(
        e.published_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-05T06:10:00+00:00")
    );
    assert_eq!(
        e.updated_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-05T09:00:00+00:00")
    );
    assert!(e.text.contains("Paragraph 3 of the story"));
}

#[test]
fn future_dates_are_rejected() {
    let html = r#"<html><head><meta property="article:published_time" content="2030-01-01T00:00:00Z">
        </head><body><p>Published: 3 March 2024</p></body></html>"#;
    let options = ExtractOptions {
        not_after: "2025-01-01T00:00:00Z".parse().ok(),
        ..opts(chrono_tz::UTC)
    };
    let e = extract(html, &options);
    assert_eq!(
        e.published_at
            .map(|d| d.date_naive().to_string())
            .as_deref(),
        Some("2024-03-03")
    );
}

#[test]
fn declared_language_contradicted_by_script() {
    let html = format!(
        "<html lang=\"en-US\"><body><article>{}</article></body></html>",
        "<p>কুষ্টিয়া-১ আসনের সংসদ সদস্যের ফুপাতো ভাইকে কুপিয়ে হত্যা করা হয়েছে। এ সময় আরেকজন আহত হন, পুলিশ জানিয়েছে।</p>"
            .repeat(5)
    );
    assert_eq!(extract(&html, &dhaka()).language.as_deref(), Some("bn"));
}

fn day_of(e: &Extracted) -> Option<String> {
    e.published_at.map(|d| d.date_naive().to_string())
}

#[test]
fn comments_and_teasers_do_not_date_the_article() {
    let html = format!(
        r#"<html lang="de"><body>
        <ul class="teaser"><li><a href="/a"><span class="date">02.03.2021</span> Anderes</a></li></ul>
        <article><h1>Titel</h1><div class="meta"><span class="date">14.12.2015</span></div>{}</article>
        <div id="comments"><div class="comment"><span class="comment-date">30.05.2016</span>
        <p>Danke!</p></div></div></body></html>"#,
        paragraphs(4)
    );
    assert_eq!(
        day_of(&extract(&html, &opts(chrono_tz::UTC))).as_deref(),
        Some("2015-12-14")
    );
}

#[test]
fn broken_json_ld_and_rdfa_still_date_the_page() {
    // a stray closing brace after the object
    let html = format!(
        r#"<html><head><script type="application/ld+json">
        {{"@type": "NewsArticle", "datePublished": "2020-10-26T18:10:00+01:00"}} }}
        </script></head><body>{}</body></html>"#,
        paragraphs(3)
    );
    let e = extract(&html, &opts(chrono_tz::UTC));
    assert_eq!(
        e.published_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2020-10-26T18:10:00+01:00")
    );
    let html = format!(
        r#"<html><body><span property="schema:dateCreated" content="2022-01-28T12:45:46+00:00"></span>{}</body></html>"#,
        paragraphs(3)
    );
    assert_eq!(
        day_of(&extract(&html, &opts(chrono_tz::UTC))).as_deref(),
        Some("2022-01-28")
    );
}

#[test]
fn a_date_only_in_a_script_is_found_but_never_the_page_clock() {
    let html = format!(
        r#"<html><body><script>var product = {{"title":"Kaffee","published_at":"2019-03-02T06:22:28+01:00"}};</script>
        {}</body></html>"#,
        paragraphs(3)
    );
    assert_eq!(
        day_of(&extract(&html, &opts(chrono_tz::UTC))).as_deref(),
        Some("2019-03-02")
    );
    // the time the page was generated, cached or requested is not its date
    let html = format!(
        r#"<html><body><!-- cached 2020-04-24 21:36:31 -->
        <script>var serverNow = "2020-04-24 21:36:31";</script>{}</body></html>"#,
        paragraphs(3)
    );
    assert_eq!(day_of(&extract(&html, &opts(chrono_tz::UTC))), None);
}

#[test]
fn bengali_labels_with_visarga_and_next_line_dates() {
    let html = format!(
        r#"<html lang="bn"><body><div class="info">প্রকাশঃ<br>১২ জুলাই ২০২৫, রাত ৯:১৫</div>
        <div class="upd">আপডেটঃ ১৩ জুলাই ২০২৫, সকাল ১০:০৫</div><article>{}</article></body></html>"#,
        "<p>রাশিয়ার পররাষ্ট্রমন্ত্রী সের্গেই লাভরভ শনিবার উত্তর কোরিয়া সফরকালে দেশটির সর্বোচ্চ নেতা কিম জং উনের সঙ্গে সাক্ষাৎ করেছেন।</p>"
            .repeat(4)
    );
    let e = extract(&html, &dhaka());
    assert_eq!(
        e.published_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2025-07-12T21:15:00+06:00")
    );
    assert_eq!(
        e.updated_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2025-07-13T10:05:00+06:00")
    );
}

fn with_rules(content: Option<&str>, drop: &[&str], date: Option<&str>) -> ExtractOptions {
    let drop: Vec<String> = drop.iter().map(|s| s.to_string()).collect();
    ExtractOptions {
        rules: SiteRules::new(content, &drop, date).expect("valid selectors"),
        ..dhaka()
    }
}

/// A page built to fool the heuristics: the article is a run of short link-free lines
/// inside a box named like a sidebar, and a long promotional block sits in `<article>`.
const RULED_PAGE: &str = r#"<html><head><title>Ruled</title></head><body>
<article><p>Subscribe to our newsletter for the best deals of the season, delivered every
morning with offers from all our partners across the country and beyond, and more.</p>
<p>Click here to win a prize in our grand lucky draw open to all readers this month.</p></article>
<div class="sidebar widget" id="x1"><div class="share-buttons">Share on Facebook</div>
<span class="when">প্রকাশ: ১২ জুলাই ২০২৫, ১৮:৩১</span>
<p>The river rose through the night.</p><p>Boats were sent to the villages.</p>
<p>The district officer said roads were closed.</p></div>
</body></html>"#;

#[test]
fn site_rules_pick_the_content_drop_elements_and_read_the_date() {
    let e = extract(
        RULED_PAGE,
        &with_rules(Some("div.sidebar"), &[".share-buttons", ".when"], None),
    );
    assert_eq!(
        e.text,
        "The river rose through the night.\nBoats were sent to the villages.\nThe district officer said roads were closed."
    );
    let e = extract(
        RULED_PAGE,
        &with_rules(Some("#x1 p"), &[], Some("span.when")),
    );
    assert!(e.text.starts_with("The river rose"), "{}", e.text);
    assert!(!e.text.contains("Share on Facebook"));
    assert_eq!(
        e.published_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2025-07-12T18:31:00+06:00")
    );
}

#[test]
fn site_rules_that_match_nothing_leave_the_page_to_the_heuristics() {
    let plain = extract(RULED_PAGE, &dhaka());
    let ruled = extract(
        RULED_PAGE,
        &with_rules(Some("div.no-such"), &[".nothing"], Some("time.none")),
    );
    assert_eq!(plain, ruled);
    assert!(SiteRules::new(Some("div["), &[], None).is_err());
    assert!(SiteRules::new(None, &["".to_string()], None).is_err());
}
