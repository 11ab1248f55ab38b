//! Stories end to end: articles archived from two local sites, and what the archive, the
//! `stories` and `show` commands and `reparse` make of near-duplicates among them. HTTP
//! runs against local servers on real time; nothing here sleeps or times anything.

mod common;

use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use common::{Reply, TestServer, count, fixture, open_db, rss};
use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::config::{Config, ConfigError};
use newsvault::extract::{ExtractOptions, extract};
use newsvault::shutdown::Shutdown;
use newsvault::store::{Archived, NewArticle, NewCapture, Store};
use newsvault::stories::{self, StoryRules};

/// A wire story, as its agency wrote it.
const WIRE: &[&str] = &[
    "DHAKA, July 12 (Wire) - Finance Minister Rahim Chowdhury on Saturday unveiled a plan to build 14 new river ports along the Padma and Meghna rivers, saying the 2.3 billion dollar programme would cut freight costs for farmers by a third within five years.",
    "Speaking at a news conference in Dhaka, Chowdhury said construction of the first four ports would begin in January at Mawa, Chandpur, Bhola and Barishal, with loans from three development banks covering most of the cost.",
    "Traders in the southern districts have long complained that poor landing facilities force them to pay middlemen to move rice, jute and vegetables to the capital, and that cargo boats wait for days to unload during the monsoon.",
    "The minister said the ports would be linked to the national highway network by new feeder roads, and that the government expected private operators to run warehouses and cold storage at each site under 20-year leases.",
    "Opposition lawmakers welcomed the plan but questioned how it would be financed, noting that the country's debt repayments had risen sharply over the past two years.",
];

/// Another article on the same topic, with the same names, in other words.
const SAME_TOPIC: &[&str] = &[
    "Finance Minister Rahim Chowdhury faced sharp questions in parliament on Sunday about the river port programme, a day after announcing it in Dhaka.",
    "Members from Barishal and Bhola asked why their constituencies had waited a decade for landing stations while Mawa and Chandpur were chosen first, and whether local boatmen would lose work to private operators.",
    "Chowdhury replied that every district on the Padma and Meghna would be surveyed before the budget session and that compensation for displaced families was already set aside, but he declined to give a figure.",
    "The speaker cut the debate short after an hour, and the opposition walked out in protest, promising to raise the matter again next week.",
];

/// A page of a news site: its own header, menu, sidebar and footer around the article.
fn page(site: &str, title: &str, paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} | {site}</title></head>
<body><header><a href=\"/\">{site}</a><nav><a href=\"/national\">National</a> <a href=\"/business\">Business</a> <a href=\"/sport\">Sport</a></nav></header>
<main><article><h1>{title}</h1>
{body}</article></main>
<aside><h2>Most read</h2><ul><li><a href=\"/a\">Cyclone warning for coastal districts</a></li><li><a href=\"/b\">Cricket board names new captain</a></li></ul></aside>
<footer><p>Copyright {site}. All rights reserved. Editor: A. Rahman.</p></footer></body></html>"
    )
}

fn strings(paragraphs: &[&str]) -> Vec<String> {
    paragraphs.iter().map(|p| p.to_string()).collect()
}

fn serve(server: &TestServer, path: &str, html: String) {
    server.route(path, Reply::ok("text/html; charset=utf-8", html));
}

fn serve_feed(server: &TestServer, paths: &[&str]) {
    let links: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let items: Vec<(Option<&str>, &str)> = links.iter().map(|l| (None, l.as_str())).collect();
    server.route("/feed.xml", Reply::ok("application/rss+xml", rss(&items)));
}

fn config(dir: &Path, sources: &[(&str, String)]) -> Config {
    let text = common::config_text(dir, sources);
    Config::parse(&text, Path::new("test.toml")).expect("test config is valid")
}

async fn poll(dir: &Path, sources: &[(&str, String)]) -> App {
    let app = App::open(config(dir, sources), Clock::System)
        .await
        .expect("open app");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    for summary in &summaries {
        assert_eq!(summary.failure, None, "{summary}");
        assert_eq!(summary.errors, 0, "{summary}");
    }
    app
}

/// The story of the article a URL led to.
fn story_of(db: &rusqlite::Connection, url: &str) -> i64 {
    db.query_row(
        "SELECT a.story_id FROM articles a JOIN article_urls u ON u.article_id = a.id
         WHERE u.url = ?1",
        [url],
        |r| r.get::<_, Option<i64>>(0),
    )
    .unwrap_or_else(|e| panic!("no article for {url}: {e}"))
    .unwrap_or_else(|| panic!("the article for {url} has no story"))
}

/// Site A publishes the wire story and a different article on the same topic; site B
/// republishes the wire story under its own headline, cut by a paragraph, with its own
/// "also read" lines inside the article.
async fn two_sites(dir: &Path) -> (TestServer, TestServer, App) {
    let a = TestServer::start().await;
    serve(
        &a,
        "/wire",
        page(
            "Daily A",
            "Government unveils river port plan",
            &strings(WIRE),
        ),
    );
    serve(
        &a,
        "/debate",
        page(
            "Daily A",
            "Port plan questioned in parliament",
            &strings(SAME_TOPIC),
        ),
    );
    serve_feed(&a, &["/wire", "/debate"]);

    let b = TestServer::start().await;
    let mut copy = vec!["Also read: Fuel prices to stay unchanged this month".to_string()];
    copy.extend(strings(&WIRE[..WIRE.len() - 1]));
    copy.push("Follow Daily B on social media for the latest news.".to_string());
    serve(
        &b,
        "/2025/07/12/ports",
        page(
            "Daily B",
            "Fourteen river ports to cut farm freight costs",
            &copy,
        ),
    );
    serve_feed(&b, &["/2025/07/12/ports"]);

    let app = poll(
        dir,
        &[
            ("daily-a", a.url("/feed.xml")),
            ("daily-b", b.url("/feed.xml")),
        ],
    )
    .await;
    (a, b, app)
}

#[tokio::test]
async fn syndicated_copies_on_two_sites_share_one_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, _app) = two_sites(dir.path()).await;
    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 3);
    let original = story_of(&db, &a.url("/wire"));
    let copy = story_of(&db, &b.url("/2025/07/12/ports"));
    assert_eq!(original, copy, "the copy joined the original's story");
    let (members, sources): (i64, i64) = db
        .query_row(
            "SELECT member_count, source_count FROM stories WHERE id = ?1",
            [original],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("story row");
    assert_eq!((members, sources), (2, 2));
    // Every article with enough text is indexed by its bands.
    assert_eq!(count(&db, "SELECT count(*) FROM article_fingerprints"), 3);
    assert_eq!(
        count(&db, "SELECT count(*) FROM story_bands"),
        3 * stories::BANDS as i64
    );
}

#[tokio::test]
async fn another_article_on_the_same_topic_is_another_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _b, _app) = two_sites(dir.path()).await;
    let db = open_db(dir.path());
    assert_ne!(
        story_of(&db, &a.url("/wire")),
        story_of(&db, &a.url("/debate"))
    );
    assert_eq!(count(&db, "SELECT count(*) FROM stories"), 2);
}

/// Text of the Bengali seed page with its Bengali digits written as ASCII ones.
fn seed_with_ascii_digits() -> (Vec<String>, String) {
    let html = String::from_utf8(fixture("pages/bss-seed-lavrov-kim.html")).expect("UTF-8 page");
    let extracted = extract(
        &html,
        &ExtractOptions {
            url: None,
            timezone: chrono_tz::Asia::Dhaka,
            not_after: None,
            rules: Default::default(),
        },
    );
    let ascii = |text: &str| -> String {
        text.chars()
            .map(|c| match c {
                '\u{09E6}'..='\u{09EF}' => {
                    char::from_u32('0' as u32 + (c as u32 - 0x09E6)).unwrap_or(c)
                }
                _ => c,
            })
            .collect()
    };
    let converted: Vec<String> = extracted.text.lines().map(ascii).collect();
    assert_ne!(
        converted.join("\n"),
        extracted.text,
        "the seed text has Bengali digits to convert"
    );
    (converted, extracted.title.unwrap_or_default())
}

#[tokio::test]
async fn bengali_and_ascii_digits_are_the_same_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bss = TestServer::start().await;
    serve(
        &bss,
        "/bangla/international/491317",
        String::from_utf8(fixture("pages/bss-seed-lavrov-kim.html")).expect("UTF-8 page"),
    );
    serve_feed(&bss, &["/bangla/international/491317"]);
    let other = TestServer::start().await;
    let (paragraphs, title) = seed_with_ascii_digits();
    serve(
        &other,
        "/world/lavrov",
        page("Anya Khabar", &format!("{title} (ভিডিও)"), &paragraphs),
    );
    serve_feed(&other, &["/world/lavrov"]);
    poll(
        dir.path(),
        &[
            ("bss", bss.url("/feed.xml")),
            ("anya", other.url("/feed.xml")),
        ],
    )
    .await;

    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM stories"), 1);
    assert_eq!(
        count(&db, "SELECT max(member_count) FROM stories"),
        2,
        "the ASCII-digit copy joined the Bengali original"
    );
}

#[tokio::test]
async fn empty_and_one_word_texts_get_a_story_of_their_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = TestServer::start().await;
    let stubs = [
        ("/empty", "Empty page", vec![]),
        ("/word-1", "Subscribe", vec!["Subscribe".to_string()]),
        ("/word-2", "Subscribe again", vec!["Subscribe".to_string()]),
        (
            "/headline",
            "Headline only",
            vec!["Lavrov meets Kim Jong Un in Wonsan".to_string()],
        ),
    ];
    for (path, title, paragraphs) in &stubs {
        serve(&site, path, page("Stub Times", title, paragraphs));
    }
    let paths: Vec<&str> = stubs.iter().map(|(p, _, _)| *p).collect();
    serve_feed(&site, &paths);
    poll(dir.path(), &[("stubs", site.url("/feed.xml"))]).await;

    let db = open_db(dir.path());
    let articles = count(&db, "SELECT count(*) FROM articles");
    assert!(articles >= 3, "{articles} articles");
    assert_eq!(
        count(&db, "SELECT count(*) FROM articles WHERE story_id IS NULL"),
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM stories"),
        articles,
        "no two short texts share a story"
    );
    assert_eq!(count(&db, "SELECT max(member_count) FROM stories"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM article_fingerprints"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM story_bands"), 0);
}

fn new_article(url: &str, text: String) -> NewArticle {
    let at = Utc
        .with_ymd_and_hms(2025, 7, 12, 12, 0, 0)
        .single()
        .expect("valid time");
    NewArticle {
        source_id: None,
        item_key: None,
        canonical_url: url.to_string(),
        urls: vec![url.to_string()],
        title: Some(url.to_string()),
        authors: Vec::new(),
        published_at: None,
        updated_at: None,
        first_seen_at: at,
        language: Some("en".into()),
        site_name: None,
        description: None,
        story_fingerprint: stories::fingerprint(&text),
        text,
        text_fingerprint: None,
        extractor: "test".into(),
        capture: NewCapture {
            fetch_id: None,
            url: url.to_string(),
            fetched_at: at,
            status: 200,
            headers: Vec::new(),
            content_type: Some("text/html".into()),
            charset: Some("UTF-8".into()),
            charset_source: None,
            body: b"<p>test</p>".to_vec(),
            body_sha256: newsvault::canon::body_hash(b"<p>test</p>"),
        },
    }
}

#[tokio::test]
async fn five_megabyte_text_is_fingerprinted_with_bounded_work() {
    let mut huge = String::with_capacity(5_300_000);
    let mut n = 0u64;
    while huge.len() < 5_000_000 {
        // Words that never repeat as shingles, so nothing collapses the work.
        huge.push_str(&format!("w{n} "));
        n += 1;
    }
    let fingerprint = stories::fingerprint(&huge).expect("long enough");
    assert_eq!(fingerprint.words as usize, stories::MAX_WORDS);
    assert!(fingerprint.shingles as usize <= stories::MAX_WORDS);

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("archive.sqlite3"))
        .await
        .expect("open store");
    let archived = store
        .archive(new_article("https://big.example/1", huge))
        .await
        .expect("archive");
    let Archived::New(id) = archived else {
        panic!("expected a new article, got {archived:?}");
    };
    let story = store.story_of(id, 10).await.expect("read story");
    assert_eq!(story.map(|s| s.story.articles), Some(1));
}

#[tokio::test]
async fn concurrent_archives_of_one_story_do_not_split_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("archive.sqlite3"))
        .await
        .expect("open store");
    let wire = WIRE.join("\n");
    let copy = format!("{}\nFollow us for more.", WIRE[..4].join("\n"));
    let (first, second) = tokio::join!(
        store.archive(new_article("https://a.example/wire", wire)),
        store.archive(new_article("https://b.example/copy", copy)),
    );
    let ids = [first.expect("archive"), second.expect("archive")].map(|a| match a {
        Archived::New(id) => id,
        other => panic!("expected a new article, got {other:?}"),
    });
    let mut stories = Vec::new();
    for id in ids {
        let story = store.story_of(id, 10).await.expect("read story");
        stories.push(story.expect("has a story").story.id);
    }
    assert_eq!(stories[0], stories[1]);
    let listed = store
        .stories(newsvault::store::StoryFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list stories");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].articles, 2);
}

fn newsvault() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_newsvault"));
    command
        .env_remove("RUST_LOG")
        .env_remove("NEWSVAULT_CONFIG")
        .env_remove("NEWSVAULT_DATABASE");
    command
}

fn run(dir: &Path, args: &[&str]) -> String {
    let output = newsvault()
        .arg("--database")
        .arg(dir.join("archive.sqlite3"))
        .args(args)
        .output()
        .expect("run newsvault");
    assert!(
        output.status.success(),
        "newsvault {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[tokio::test]
async fn stories_command_lists_the_syndicated_story_and_show_names_its_siblings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, _app) = two_sites(dir.path()).await;

    let out = run(dir.path(), &["stories", "--min-sources", "2", "--json"]);
    let stories: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(stories.len(), 1, "{out}");
    let story = &stories[0];
    assert_eq!(story["articles"], 2);
    let mut sources: Vec<&str> = story["sources"]
        .as_array()
        .expect("sources array")
        .iter()
        .map(|s| s["source"].as_str().expect("source name"))
        .collect();
    sources.sort_unstable();
    assert_eq!(sources, ["daily-a", "daily-b"]);
    assert!(story["first_seen_at"].is_string() && story["last_seen_at"].is_string());

    // Without the filter, the other article's story of one is listed too.
    let all = run(dir.path(), &["stories"]);
    assert!(all.contains("Port plan questioned in parliament"), "{all}");
    // Sources are listed in the order they joined, which the two concurrent polls decide.
    let both = ["daily-a (1), daily-b (1)", "daily-b (1), daily-a (1)"];
    assert!(
        both.iter().any(|line| all.contains(line)),
        "sources in the listing: {all}"
    );

    let shown = run(dir.path(), &["show", &b.url("/2025/07/12/ports")]);
    assert!(shown.contains("story:"), "{shown}");
    assert!(
        both.iter()
            .any(|line| shown.contains(&format!("2 articles from {line}"))),
        "{shown}"
    );
    assert!(
        shown.contains(&a.url("/wire")),
        "the sibling is named: {shown}"
    );
    let json = run(dir.path(), &["show", "--json", &a.url("/wire")]);
    let record: serde_json::Value = serde_json::from_str(json.trim()).expect("show --json");
    assert_eq!(record["story"]["articles"], 2);
    assert_eq!(record["story"]["members"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn reparse_gives_articles_archived_before_stories_their_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, app) = two_sites(dir.path()).await;
    {
        // What an archive of schema version 3 looks like after migrating: no stories.
        let db = rusqlite::Connection::open(dir.path().join("archive.sqlite3")).expect("open");
        db.execute_batch(
            "UPDATE articles SET story_id = NULL; DELETE FROM stories;
             DELETE FROM story_bands; DELETE FROM article_fingerprints;",
        )
        .expect("forget stories");
    }
    let summary = newsvault::reparse::reparse(app.store(), &Default::default())
        .await
        .expect("reparse");
    assert_eq!(summary.stories_assigned, 3, "{summary:?}");
    let db = open_db(dir.path());
    assert_eq!(
        story_of(&db, &a.url("/wire")),
        story_of(&db, &b.url("/2025/07/12/ports"))
    );
    assert_ne!(
        story_of(&db, &a.url("/wire")),
        story_of(&db, &a.url("/debate"))
    );
    // A second run finds nothing left to do.
    let again = newsvault::reparse::reparse(app.store(), &Default::default())
        .await
        .expect("reparse");
    assert_eq!(again.stories_assigned, 0);
    assert_eq!(count(&db, "SELECT count(*) FROM stories"), 2);
}

#[test]
fn stories_configuration_is_validated() {
    let parse = |text: &str| Config::parse(text, Path::new("test.toml"));
    let config = parse("[stories]\nthreshold = 0.8\nmin_words = 100\n").expect("valid");
    assert_eq!(
        config.stories,
        StoryRules {
            threshold: 0.8,
            min_words: 100
        }
    );
    assert_eq!(parse("").expect("valid").stories, StoryRules::default());
    for (text, key) in [
        ("[stories]\nthreshold = 0.0\n", "stories.threshold"),
        ("[stories]\nthreshold = 1.5\n", "stories.threshold"),
        ("[stories]\nthreshold = nan\n", "stories.threshold"),
        ("[stories]\nmin_words = 1\n", "stories.min_words"),
    ] {
        match parse(text) {
            Err(ConfigError::Invalid { key: got, .. }) => assert_eq!(got, key, "{text}"),
            other => panic!("{text}: expected an invalid-value error, got {other:?}"),
        }
    }
}
