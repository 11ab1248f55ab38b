//! Real feeds from the wild parse into the expected items: RSS 0.90/0.91/1.0/2.0, Atom 0.3
//! and 1.0 and JSON Feed, in legacy charsets (windows-1251, Shift_JIS, EUC-KR, Big5, GB2312,
//! MacCyrillic, IBM855, undeclared ISO-8859-1), and with the blemishes real servers add
//! (whitespace before the XML declaration, stray `&`, `<rss>` without a version, truncation,
//! old JSON Feed versions, wrongly typed JSON). Non-feeds still fail, and hostile bodies stay
//! cheap. Counts are from the fixtures' index of the evaluation set; see
//! tests/fixtures/SOURCES.md.

mod common;

use common::fixture;
use newsvault::feed::{FeedError, parse_feed};
use url::Url;

fn parse(name: &str) -> newsvault::feed::ParsedFeed {
    let base = Url::parse("https://feeds.example/feed").expect("valid");
    parse_feed(&fixture(&format!("feeds/{name}")), &base).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn real_feeds_parse_with_all_their_items() {
    for (name, items) in [
        ("aif-ru-health.rss.xml", 17),
        ("10e-org.rdf.xml", 30),
        ("acnnewswire-ko.rss.xml", 8),
        ("jsonfeed-org.jsonfeed.json", 1),
        ("xkcd.atom.xml", 4),
        ("nytimes-homepage.rss.xml", 1),
        ("aws-blog-typepad.atom.xml", 10),
    ] {
        let feed = parse(name);
        assert_eq!(feed.items.len(), items, "{name}");
        assert!(
            feed.items.iter().all(|i| i.link.is_some()),
            "{name}: every item has a link"
        );
    }
}

#[test]
fn legacy_charsets_decode_to_the_right_text() {
    let russian = parse("aif-ru-health.rss.xml");
    let title = russian.items[0].title.as_deref().unwrap_or("");
    assert!(
        title.chars().any(|c| ('а'..='я').contains(&c)),
        "windows-1251 title decoded as Cyrillic: {title:?}"
    );
    let japanese = parse("10e-org.rdf.xml");
    assert!(
        japanese
            .items
            .iter()
            .filter_map(|i| i.title.as_deref())
            .any(|t| t.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)
                || ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "Shift_JIS titles decoded as Japanese"
    );
    let korean = parse("acnnewswire-ko.rss.xml");
    assert!(
        korean
            .items
            .iter()
            .filter_map(|i| i.title.as_deref())
            .any(|t| t.chars().any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c))),
        "EUC-KR titles decoded as Hangul"
    );
}

#[test]
fn the_example_feeds_list_their_pages() {
    let base = Url::parse("http://127.0.0.1:8736/site/bangla.rss.xml").expect("valid");
    let feed = parse_feed(&fixture("site/bangla.rss.xml"), &base).expect("parses");
    assert_eq!(feed.items.len(), 5);
    for item in &feed.items {
        let link = item.link.as_ref().expect("link");
        let page = link.path().trim_start_matches('/');
        assert!(
            common::fixtures().join(page).exists(),
            "{page} is served by the demo"
        );
    }
    // Items without a guid get none (not an invented one), so their link identifies them.
    assert_eq!(feed.items.iter().filter(|i| i.guid.is_none()).count(), 3);
}

fn base() -> Url {
    Url::parse("https://feeds.example/feed").expect("valid")
}

/// Ill-formed real feeds that feed-rs alone refused (or read no items from): each parses
/// with all its items, every item linked, and the first item's link and title right.
#[test]
fn ill_formed_real_feeds_are_repaired() {
    for (name, items, link, title) in [
        // Unescaped `&` in text; ISO-8859-1 declared, UTF-8 titles pasted in.
        (
            "bold-dk.rss.xml",
            20,
            "https://www.bold.dk/fodbold/nyheder/ob-er-uskarpe--esbjerg-er-effektive/",
            "OB er uskarpe - Esbjerg er effektive",
        ),
        // Big5, a character reference cut in half.
        (
            "coolloud-org-tw.rdf.xml",
            20,
            "http://www.coolloud.org.tw/news/database/interface/detailstander.asp?ID=108725",
            "1226檔下點交之後\n不見棺材不走人 進輪自救會長期抗戰",
        ),
        // "MacCyrillic", a label encoding_rs does not know.
        (
            "kapranoff-ru.rdf.xml",
            15,
            "http://kapranoff.ru/archives/003663.html",
            "пулюм-пулюм",
        ),
        // IBM855, which encoding_rs lacks.
        (
            "template-toolkit-ru-news.rss.xml",
            20,
            "http://forum.template-toolkit.ru/view_topic/topic_id-122.html?rss",
            "Template::Provider::FromDATA - загрузка шаблонов из секции __DATA__",
        ),
        // No declaration, ISO-8859-1 bytes, `<rss>` without a version.
        (
            "uol-noticias.rss.xml",
            15,
            "https://noticias.uol.com.br/politica/eleicoes/2018/noticias/2018/09/24/ibope-bolsonaro-perde-de-haddad-ciro-e-alckmin-em-simulacoes-de-2-turno.htm",
            "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno",
        ),
        // Atom 0.3 in GB2312.
        (
            "eighthday-blogspot.atom.xml",
            7,
            "http://eighthday.blogspot.com/2005/11/blog-post_29.html",
            "又颠了",
        ),
        // RSS 0.90 namespace.
        (
            "heise-newsticker.rdf.xml",
            60,
            "https://www.heise.de/newsticker/meldung/OLED-TVs-Vorsichtsmassnahmen-gegen-Einbrennen-4205274.html?wt_mc=rss.ho.beitrag.rdf",
            "OLED-TVs: Vorsichtsmaßnahmen gegen Einbrennen",
        ),
        // Userland's RSS 2.0 namespace as the default namespace.
        (
            "oren-ru.rss.xml",
            10,
            "http://www.oren.ru/news/2743422/",
            "В Бузулуке главные стройплощадки – детсад и Ледовый дворец",
        ),
        // JSON Feed with the old http://jsonfeed.org/version/1 URL.
        (
            "pxlnv.jsonfeed.json",
            20,
            "https://pxlnv.com/linklog/uber-losses-2017/",
            "Uber Lost $4.5 Billion in 2017",
        ),
    ] {
        let feed = parse(name);
        assert_eq!(feed.items.len(), items, "{name}");
        assert!(
            feed.items.iter().all(|i| i.link.is_some()),
            "{name}: every item has a link"
        );
        let first = &feed.items[0];
        assert_eq!(first.link.as_ref().map(Url::as_str), Some(link), "{name}");
        assert_eq!(first.title.as_deref(), Some(title), "{name}");
    }
    // Mixed encodings: UTF-8 titles in an ISO-8859-1 feed read as UTF-8, not as "Ã¸".
    let bold = parse("bold-dk.rss.xml");
    assert_eq!(
        bold.items[1].title.as_deref(),
        Some("Brøndby til fans: Tag ikke til Horsens")
    );
}

#[test]
fn an_item_without_a_link_stays_without_one() {
    // The fourth item really is empty (`<title></title><link></link>`): it is kept, but an
    // empty link must not resolve to the feed's own address.
    let feed = parse("le-cercle-psy.rss.xml");
    assert_eq!(feed.items.len(), 10);
    assert_eq!(feed.items[3].link, None);
    assert_eq!(
        feed.items[0].title.as_deref(),
        Some("Perturbateurs endocriniens : quels effets sur le cerveau ?")
    );
}

#[test]
fn a_truncated_feed_keeps_its_complete_items() {
    // Cut before its first item: the channel is still a feed, with nothing in it.
    let feed = parse("reuters-most-read.rss.xml");
    assert_eq!(feed.title.as_deref(), Some("Reuters: Most Read Articles"));
    assert!(feed.items.is_empty());
    // Cut in the middle of the third item: the first two survive.
    let body = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>
        <item><title>One</title><link>https://example.org/1</link></item>
        <item><title>Two</title><link>https://example.org/2</link></item>
        <item><title>Thr";
    let feed = parse_feed(body, &base()).expect("parses");
    let titles: Vec<_> = feed
        .items
        .iter()
        .filter_map(|i| i.title.as_deref())
        .collect();
    assert_eq!(titles, ["One", "Two"]);
    let atom = b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title>
        <entry><title>E1</title><link href=\"/e/1\"/><id>1</id></entry><entry><title>E2</ti";
    let feed = parse_feed(atom, &base()).expect("parses");
    assert_eq!(feed.items.len(), 1);
    assert_eq!(
        feed.items[0].link.as_ref().map(Url::as_str),
        Some("https://feeds.example/e/1")
    );
}

#[test]
fn small_repairs() {
    // A comment before the root and a doctype with HTML entities used in the text.
    let body = "<!-- generated --><!DOCTYPE rss><rss version=\"0.93\"><channel><title>T</title>
        <item><title>&laquo;Caf&eacute;&raquo; &amp; R&D</title><link>/a?x=1&y=2</link></item>
        </channel></rss>";
    let feed = parse_feed(body.as_bytes(), &base()).expect("parses");
    assert_eq!(feed.items[0].title.as_deref(), Some("«Café» & R&D"));
    assert_eq!(
        feed.items[0].link.as_ref().map(Url::as_str),
        Some("https://feeds.example/a?x=1&y=2")
    );
    // A PHP warning printed before the declaration.
    let body = b"<br />\n<b>Warning</b>: x in y.php<br />\n<?xml version=\"1.0\"?>
        <rss version=\"2.0\"><channel><title>T</title><item><link>https://e.org/1</link></item></channel></rss>";
    assert_eq!(parse_feed(body, &base()).expect("parses").items.len(), 1);
    // A second declaration naming another encoding (feed-rs's reader would panic on it).
    let body = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>
        <item><title>x</title><link>https://e.org/1</link></item></channel></rss>
        <?xml version=\"1.0\" encoding=\"windows-1251\"?>";
    assert_eq!(parse_feed(body, &base()).expect("parses").items.len(), 1);
    // UTF-16 without a BOM.
    let text = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss version=\"2.0\"><channel>
        <title>T</title><item><title>Ёж</title><link>https://e.org/1</link></item></channel></rss>";
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let feed = parse_feed(&utf16, &base()).expect("parses");
    assert_eq!(feed.items[0].title.as_deref(), Some("Ёж"));
}

#[test]
fn json_feeds_with_wrong_types_and_rss_in_json() {
    // rosemaryorchard.com: "tags" is a string.
    let body = br#"{"version":"https://jsonfeed.org/version/1","title":"R","items":[
        {"id":"a","url":"https://e.org/a","title":"A","tags":"workflow,omnifocus",
         "date_published":"2018-08-24T05:00:00Z","author":{"name":"R"}}]}"#;
    let feed = parse_feed(body, &base()).expect("parses");
    assert_eq!(feed.items.len(), 1);
    assert_eq!(feed.items[0].guid.as_deref(), Some("a"));
    assert!(feed.items[0].published.is_some());
    // scripting.com's RSS-in-JSON.
    let body = br#"{"rss":{"version":"2.0","channel":{"title":"Scripting News",
        "link":"http://scripting.com/","item":[
        {"link":"http://scripting.com/2017/06/26.html#a080605","description":"Good morning",
         "pubDate":"Mon, 26 Jun 2017 12:20:05 GMT","guid":"http://scripting.com/2017/06/26.html#a080605"},
        {"title":"Two","link":"http://scripting.com/2","pubDate":"Mon, 26 Jun 2017 12:00:00 GMT"}]}}}"#;
    let feed = parse_feed(body, &base()).expect("parses");
    assert_eq!(feed.title.as_deref(), Some("Scripting News"));
    assert_eq!(feed.items.len(), 2);
    assert_eq!(
        feed.items[0].link.as_ref().map(Url::as_str),
        Some("http://scripting.com/2017/06/26.html#a080605")
    );
    assert!(feed.items[0].published.is_some());
    assert_eq!(feed.items[1].title.as_deref(), Some("Two"));
}

#[test]
fn non_feeds_still_fail() {
    let html: &[&[u8]] = &[
        b"<!DOCTYPE html><html><body><a href='/feed'>feed</a></body></html>",
        b"<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"x\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><rss/></body></html>",
        b"\n\n<HTML><HEAD><TITLE>502</TITLE></HEAD></HTML>",
    ];
    for body in html {
        assert_eq!(parse_feed(body, &base()), Err(FeedError::Html));
    }
    let invalid: &[&[u8]] = &[
        b"just some text & more",
        b"\x00\x01\x02binary\xff\xfe\x00",
        b"<?xml version=\"1.0\"?><sitemapindex><sitemap><loc>https://e.org/</loc></sitemap></sitemapindex>",
        b"<rss version=\"2.0\"",
        b"{\"error\": \"not found\"}",
        b"[1, 2, 3]",
        b"{\"items\": ",
    ];
    for body in invalid {
        assert!(
            matches!(parse_feed(body, &base()), Err(FeedError::Invalid(_))),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn hostile_bodies_stay_cheap() {
    let started = std::time::Instant::now();
    // 10 MB of stray markup characters, a flood of attributes, unclosed comments.
    let bodies = [
        format!("<rss><channel><title>{}", "&".repeat(10_000_000)),
        format!("<rss>{}", "<".repeat(10_000_000)),
        format!("<rss {}>", " a=\"1\"".repeat(1_000_000)),
        format!("<rss><channel>{}", "<!--".repeat(2_000_000)),
        format!(
            "<rss><channel>{}{}",
            "<a>".repeat(500),
            "</b>".repeat(2_000_000)
        ),
    ];
    for body in &bodies {
        // Whatever the answer, it comes back.
        let _ = parse_feed(body.as_bytes(), &base());
    }
    // Deep nesting, on a small stack like a worker thread's.
    let deep = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            for depth in [1_000, 60_000, 200_000] {
                let body = format!(
                    "<rss version=\"2.0\"><channel><item><title>x</title><description>{}{}</description></item></channel></rss>",
                    "<a>".repeat(depth),
                    "</a>".repeat(depth)
                );
                let _ = parse_feed(body.as_bytes(), &base());
                let json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
                assert!(parse_feed(json.as_bytes(), &base()).is_err());
            }
        })
        .expect("thread");
    assert!(deep.join().is_ok(), "deep nesting did not crash the parser");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
