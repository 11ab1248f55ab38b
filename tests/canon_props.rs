//! Property tests of URL canonicalisation (`canon::canonical_url`): over generated URLs
//! with realistic parts (ASCII and Bengali IDN hosts, Bengali paths raw and
//! percent-encoded, queries mixing tracking and real parameters, non-UTF-8 query bytes as
//! legacy-charset sites send them), the canonical form is a fixed point, addresses the same
//! page (scheme, host, port, path and meaningful parameters survive; only tracking
//! parameters, fragments and credentials go), gives every spelling of one address one form,
//! and keeps addresses that differ in a real parameter apart.

use std::collections::BTreeSet;

use newsvault::canon::canonical_url;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use proptest::sample::select;
use url::Url;

/// Host labels known to pass IDNA (UTS 46), in Bengali script.
const BENGALI_LABELS: &[&str] = &["বাংলা", "খবর", "সংবাদ", "প্রথমআলো", "ঢাকা"];
const TLDS: &[&str] = &["com", "org", "net", "com.bd", "news", "example", "বাংলা"];
const BENGALI_WORDS: &[&str] = &[
    "খবর",
    "জাতীয়",
    "রাজনীতি",
    "প্রকাশ",
    "২০২৫",
    "বাংলাদেশ-ক্রিকেট",
    "ঢাকা_শহর",
];
/// Parameters that select content; none of them is a tracking parameter.
const REAL_PARAMS: &[&str] = &[
    "id", "p", "page", "q", "cat", "lang", "article", "story_id", "date", "tag",
];
const TRACKING_PARAMS: &[&str] = &[
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "UTM_Content",
    "utm_term",
    "fbclid",
    "gclid",
    "_ga",
    "mc_cid",
    "ocid",
    "at_medium",
    "igshid",
];

/// How the same address is spelled.
#[derive(Debug, Clone)]
struct Spelling {
    upper_scheme: bool,
    /// Bit n set: upper-case the host's n-th character (ASCII letters only).
    host_case: u64,
    explicit_default_port: bool,
    userinfo: bool,
    /// 0: raw (the parser encodes), 1: upper-case hex, 2: lower-case hex.
    path_encoding: u8,
    query_space_as_plus: bool,
    query_lower_hex: bool,
    /// Tracking parameters and where among the real ones they go.
    tracking: Vec<(String, String, prop::sample::Index)>,
    /// A permutation of the real parameters (sort keys).
    order: Vec<u32>,
    fragment: Option<String>,
}

/// One address: what identifies the page.
#[derive(Debug, Clone)]
struct Address {
    https: bool,
    host: String,
    /// `Some` for a non-default port.
    port: Option<u16>,
    segments: Vec<String>,
    trailing_slash: bool,
    /// Decoded parameter names and values (values may be any bytes).
    params: Vec<(String, Vec<u8>)>,
}

fn host() -> impl Strategy<Value = String> {
    let ascii = (
        proptest::option::of(Just("www.")),
        prop::collection::vec("[a-z][a-z0-9]{0,9}", 1..3),
        select(&TLDS[..6]),
    )
        .prop_map(|(www, labels, tld)| format!("{}{}.{tld}", www.unwrap_or(""), labels.join(".")));
    let bengali =
        (select(BENGALI_LABELS), select(TLDS)).prop_map(|(label, tld)| format!("{label}.{tld}"));
    prop_oneof![3 => ascii, 2 => bengali]
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_~-][a-zA-Z0-9._~-]{0,11}",
        select(BENGALI_WORDS).prop_map(str::to_string),
        "[0-9]{1,6}(\\.html)?",
        // Characters the parser must encode, and an encoded slash inside a segment.
        Just("a b".to_string()),
        Just("x/y".to_string()),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-zA-Z0-9]{0,8}".prop_map(String::into_bytes),
        select(BENGALI_WORDS).prop_map(|w| w.as_bytes().to_vec()),
        "[a-z +&=%/?#]{1,6}".prop_map(String::into_bytes),
        // Legacy charsets (EUC-KR, Windows-1251, …) send bytes that are not UTF-8.
        prop::collection::vec(0x80u8..=0xFF, 1..4),
    ]
}

fn address() -> impl Strategy<Value = Address> {
    (
        any::<bool>(),
        host(),
        proptest::option::of(1024u16..=65535),
        prop::collection::vec(segment(), 0..5),
        any::<bool>(),
        prop::collection::vec(
            (
                prop_oneof![select(REAL_PARAMS).prop_map(str::to_string), "k[0-9]{1,3}"],
                value(),
            ),
            0..5,
        ),
    )
        .prop_map(
            |(https, host, port, segments, trailing_slash, params)| Address {
                https,
                host,
                port,
                segments,
                trailing_slash,
                params,
            },
        )
}

fn spelling() -> impl Strategy<Value = Spelling> {
    (
        (
            any::<bool>(),
            any::<u64>(),
            any::<bool>(),
            any::<bool>(),
            0u8..3,
        ),
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(
                (
                    select(TRACKING_PARAMS),
                    "[a-z0-9]{0,6}",
                    any::<prop::sample::Index>(),
                ),
                0..4,
            ),
            prop::collection::vec(any::<u32>(), 5),
            proptest::option::of("[a-z0-9-]{0,8}"),
        ),
    )
        .prop_map(
            |(
                (upper_scheme, host_case, explicit_default_port, userinfo, path_encoding),
                (query_space_as_plus, query_lower_hex, tracking, order, fragment),
            )| Spelling {
                upper_scheme,
                host_case,
                explicit_default_port,
                userinfo,
                path_encoding,
                query_space_as_plus,
                query_lower_hex,
                tracking: tracking
                    .into_iter()
                    .map(|(k, v, at)| (k.to_string(), v, at))
                    .collect(),
                order,
                fragment,
            },
        )
}

fn encode_bytes(bytes: &[u8], lower_hex: bool, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::new();
    for &b in bytes {
        if keep(b) {
            out.push(char::from(b));
        } else if lower_hex {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn encode_query_part(bytes: &[u8], s: &Spelling) -> String {
    let encoded = encode_bytes(bytes, s.query_lower_hex, |b| {
        is_unreserved(b) || (b == b' ' && s.query_space_as_plus)
    });
    if s.query_space_as_plus {
        encoded.replace(' ', "+")
    } else {
        encoded
    }
}

impl Address {
    fn default_port(&self) -> u16 {
        if self.https { 443 } else { 80 }
    }

    /// The address written out in one spelling.
    fn spell(&self, s: &Spelling) -> String {
        let scheme = match (self.https, s.upper_scheme) {
            (true, false) => "https",
            (true, true) => "HTTPS",
            (false, false) => "http",
            (false, true) => "HTTP",
        };
        let host: String = self
            .host
            .chars()
            .enumerate()
            .map(|(n, c)| {
                if s.host_case >> (n % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let mut url = format!("{scheme}://");
        if s.userinfo {
            url.push_str("reader:secret@");
        }
        url.push_str(&host);
        match (self.port, s.explicit_default_port) {
            (Some(port), _) => url.push_str(&format!(":{port}")),
            (None, true) => url.push_str(&format!(":{}", self.default_port())),
            (None, false) => {}
        }
        for segment in &self.segments {
            url.push('/');
            let spelled = match s.path_encoding {
                0 => raw_segment(segment),
                1 => encode_bytes(segment.as_bytes(), false, is_unreserved),
                _ => encode_bytes(segment.as_bytes(), true, is_unreserved),
            };
            url.push_str(&spelled);
        }
        if self.trailing_slash || self.segments.is_empty() {
            url.push('/');
        }
        let mut real: Vec<(&(String, Vec<u8>), u32)> =
            self.params.iter().zip(s.order.iter().copied()).collect();
        real.sort_by_key(|(_, key)| *key);
        let mut parts: Vec<String> = real
            .into_iter()
            .map(|((k, v), _)| format!("{k}={}", encode_query_part(v, s)))
            .collect();
        for (k, v, at) in &s.tracking {
            let at = at.index(parts.len() + 1);
            parts.insert(at, format!("{k}={v}"));
        }
        if !parts.is_empty() {
            url.push('?');
            url.push_str(&parts.join("&"));
        }
        if let Some(fragment) = &s.fragment {
            url.push('#');
            url.push_str(fragment);
        }
        url
    }
}

/// A segment as typed by hand: non-ASCII characters raw, only what cannot stand in a path
/// encoded.
fn raw_segment(segment: &str) -> String {
    segment.replace('/', "%2F").replace(' ', "%20")
}

fn canonical(text: &str) -> Url {
    let parsed = Url::parse(text).unwrap_or_else(|e| panic!("generated URL {text:?}: {e}"));
    canonical_url(&parsed).unwrap_or_else(|| panic!("no canonical form for {text:?}"))
}

/// The query of `url` as decoded (name, value) byte pairs, in order.
fn decoded_query(url: &Url) -> Vec<(Vec<u8>, Vec<u8>)> {
    let decode = |s: &str| percent_decode_str(&s.replace('+', " ")).collect::<Vec<u8>>();
    url.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decoded_segments(url: &Url) -> Vec<Vec<u8>> {
    url.path_segments()
        .map(|segments| {
            segments
                .map(|s| percent_decode_str(s).collect::<Vec<u8>>())
                .collect()
        })
        .unwrap_or_default()
}

proptest! {
    // Failures are kept as the examples at the end of this file, not in a regressions file.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn canonical_form_is_a_fixed_point(address in address(), spelling in spelling()) {
        let c = canonical(&address.spell(&spelling));
        prop_assert_eq!(canonical_url(&c), Some(c.clone()));
        // Also once stored as text and read back.
        prop_assert_eq!(canonical(c.as_str()), c);
    }

    #[test]
    fn canonical_form_addresses_the_same_page(address in address(), spelling in spelling()) {
        let text = address.spell(&spelling);
        let c = canonical(&text);
        prop_assert_eq!(c.scheme(), if address.https { "https" } else { "http" });
        let expected_host = Url::parse(&format!("http://{}/", address.host.to_lowercase()))
            .expect("generated host parses");
        prop_assert_eq!(c.host_str(), expected_host.host_str());
        prop_assert!(c.host_str().is_some_and(|h| h.is_ascii() && h == h.to_ascii_lowercase()));
        prop_assert_eq!(c.port(), address.port, "only a default port goes");
        prop_assert_eq!(c.port_or_known_default(), Some(address.port.unwrap_or(address.default_port())));
        // Path: the same segments, byte for byte once decoded.
        let mut segments: Vec<Vec<u8>> =
            address.segments.iter().map(|s| s.as_bytes().to_vec()).collect();
        if address.trailing_slash || segments.is_empty() {
            segments.push(Vec::new());
        }
        prop_assert_eq!(decoded_segments(&c), segments, "{} -> {}", text, c);
        // Query: exactly the real parameters, sorted, values byte for byte.
        let mut real: Vec<(Vec<u8>, Vec<u8>)> = address
            .params
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
            .collect();
        real.sort();
        prop_assert_eq!(decoded_query(&c), real, "{} -> {}", text, c);
        prop_assert!(c.fragment().is_none());
        prop_assert!(c.username().is_empty() && c.password().is_none());
    }

    #[test]
    fn every_spelling_of_an_address_has_one_form(
        address in address(),
        one in spelling(),
        other in spelling(),
    ) {
        let (a, b) = (address.spell(&one), address.spell(&other));
        prop_assert_eq!(canonical(&a), canonical(&b), "{} vs {}", a, b);
    }

    #[test]
    fn a_different_real_parameter_is_a_different_page(
        address in address(),
        spelling in spelling(),
        name in select(REAL_PARAMS),
        (first, second) in (value(), value()).prop_filter("values differ", |(a, b)| a != b),
    ) {
        let with = |v: &Vec<u8>| {
            let mut a = address.clone();
            a.params.push((name.to_string(), v.clone()));
            a.spell(&spelling)
        };
        let (a, b) = (with(&first), with(&second));
        prop_assert_ne!(canonical(&a), canonical(&b), "{} and {} merged", a, b);
    }

    #[test]
    fn tracking_parameters_and_fragments_always_go(address in address(), spelling in spelling()) {
        let c = canonical(&address.spell(&spelling));
        let names: BTreeSet<String> = decoded_query(&c)
            .into_iter()
            .map(|(k, _)| String::from_utf8_lossy(&k).to_ascii_lowercase())
            .collect();
        for (tracking, _, _) in &spelling.tracking {
            prop_assert!(!names.contains(&tracking.to_ascii_lowercase()), "{} kept in {}", tracking, c);
        }
        prop_assert!(c.fragment().is_none());
    }
}

// Cases the properties found, kept as plain examples.

#[test]
fn query_bytes_that_are_not_utf8_are_kept() {
    // Both used to become `id=%EF%BF%BD`, merging two articles into one.
    assert_eq!(
        canonical("http://a.com/?id=%80").as_str(),
        "http://a.com/?id=%80"
    );
    assert_ne!(
        canonical("http://a.com/?id=%80%80%80"),
        canonical("http://a.com/?id=%80%80%81")
    );
    assert_eq!(
        canonical("https://example.kr/view?q=%c7%d1&utm_source=x").as_str(),
        "https://example.kr/view?q=%C7%D1"
    );
}

#[test]
fn path_escapes_in_either_hex_case_are_one_path() {
    assert_eq!(
        canonical("http://a.com/x%2fy"),
        canonical("http://a.com/x%2Fy")
    );
    // WordPress writes Bengali slugs in lower-case hex; pages declare them raw.
    assert_eq!(
        canonical("https://example.com/%e0%a6%96%e0%a6%ac%e0%a6%b0/"),
        canonical("https://example.com/খবর/")
    );
    // An escaped unreserved character is that character; an escaped slash is not a slash.
    assert_eq!(
        canonical("http://a.com/%7Euser/%41").as_str(),
        "http://a.com/~user/A"
    );
    assert_eq!(canonical("http://a.com/a%2Fb").path(), "/a%2Fb");
    // A `%` that starts no escape stays as the parser left it.
    assert_eq!(canonical("http://a.com/100%+1%zz").path(), "/100%+1%zz");
}
