//! Repairs for JSON feeds feed-rs refused. Owns rebuilding the document as the JSON Feed
//! 1.1 that feed-rs's strict serde model accepts: old version URLs (`http://jsonfeed.org/
//! version/1`), values of the wrong type (`"tags": "a,b"`, numeric ids, a lone author
//! object), and "RSS in JSON" (a `{"rss": {"channel": {"item": [...]}}}` transliteration of
//! RSS 2.0) mapped field by field. Anything that is neither stays an error.

use serde_json::{Map, Value};

/// A JSON Feed feed-rs accepts, rebuilt from `value`; `None` when `value` is not a feed.
pub(super) fn normalise(value: &Value) -> Option<Value> {
    let obj = value.as_object()?;
    if let Some(channel) = obj
        .get("rss")
        .and_then(|rss| rss.get("channel"))
        .filter(|c| c.is_object())
    {
        return Some(from_rss(channel));
    }
    let says_json_feed = string(obj.get("version")).is_some_and(|v| v.contains("jsonfeed.org"));
    let has_items = obj.get("items").is_some_and(Value::is_array);
    if !says_json_feed && !has_items {
        return None;
    }
    let mut feed = Map::new();
    feed.insert("version".into(), "https://jsonfeed.org/version/1.1".into());
    feed.insert(
        "title".into(),
        string(obj.get("title")).unwrap_or_default().into(),
    );
    for key in [
        "home_page_url",
        "feed_url",
        "description",
        "language",
        "icon",
        "favicon",
    ] {
        copy_string(obj, &mut feed, key);
    }
    copy_authors(obj, &mut feed);
    let items: Vec<Value> = as_list(obj.get("items"))
        .filter_map(Value::as_object)
        .map(item)
        .collect();
    feed.insert("items".into(), items.into());
    Some(Value::Object(feed))
}

/// The feed in `text` without its authors and its items' authors, for a feed on which
/// feed-rs panics while splitting a name from an e-mail address; `None` when `text` is no
/// JSON object.
pub(super) fn without_authors(text: &str) -> Option<String> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    let feed = value.as_object_mut()?;
    feed.remove("author");
    feed.remove("authors");
    if let Some(items) = feed.get_mut("items").and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            item.remove("author");
            item.remove("authors");
        }
    }
    serde_json::to_string(&value).ok()
}

fn item(obj: &Map<String, Value>) -> Value {
    let mut item = Map::new();
    for key in [
        "id",
        "url",
        "external_url",
        "title",
        "content_html",
        "content_text",
        "summary",
        "date_published",
        "date_modified",
    ] {
        copy_string(obj, &mut item, key);
    }
    copy_authors(obj, &mut item);
    let tags: Vec<Value> = match obj.get("tags") {
        // "tags": "workflow,omnifocus"
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(Value::from)
            .collect(),
        other => as_list(other)
            .filter_map(|t| string(Some(t)))
            .map(Value::from)
            .collect(),
    };
    if !tags.is_empty() {
        item.insert("tags".into(), tags.into());
    }
    let attachments: Vec<Value> = as_list(obj.get("attachments"))
        .filter_map(Value::as_object)
        .filter_map(|a| {
            let mut out = Map::new();
            out.insert("url".into(), string(a.get("url"))?.into());
            let mime =
                string(a.get("mime_type")).unwrap_or_else(|| "application/octet-stream".into());
            out.insert("mime_type".into(), mime.into());
            copy_string(a, &mut out, "title");
            let size = a.get("size_in_bytes").and_then(|s| {
                s.as_u64()
                    .or_else(|| s.as_str().and_then(|s| s.trim().parse().ok()))
            });
            if let Some(size) = size {
                out.insert("size_in_bytes".into(), size.into());
            }
            Some(Value::Object(out))
        })
        .collect();
    if !attachments.is_empty() {
        item.insert("attachments".into(), attachments.into());
    }
    Value::Object(item)
}

/// Maps an "RSS in JSON" channel (scripting.com's rss.json) to JSON Feed.
fn from_rss(channel: &Value) -> Value {
    let mut feed = Map::new();
    feed.insert("version".into(), "https://jsonfeed.org/version/1.1".into());
    feed.insert(
        "title".into(),
        string(channel.get("title")).unwrap_or_default().into(),
    );
    if let Some(link) = string(channel.get("link")) {
        feed.insert("home_page_url".into(), link.into());
    }
    if let Some(d) = string(channel.get("description")) {
        feed.insert("description".into(), d.into());
    }
    let items: Vec<Value> = as_list(channel.get("item"))
        .filter_map(Value::as_object)
        .map(|it| {
            let mut item = Map::new();
            // A guid is a string or {"isPermaLink": ..., "value"/"#value": ...}.
            let guid = string(it.get("guid")).or_else(|| {
                let g = it.get("guid")?;
                string(g.get("value")).or_else(|| string(g.get("#value")))
            });
            let pairs = [
                ("id", guid),
                ("url", string(it.get("link"))),
                ("title", string(it.get("title"))),
                ("content_html", string(it.get("description"))),
                ("date_published", string(it.get("pubDate"))),
            ];
            for (key, value) in pairs {
                if let Some(value) = value {
                    item.insert(key.into(), value.into());
                }
            }
            Value::Object(item)
        })
        .collect();
    feed.insert("items".into(), items.into());
    Value::Object(feed)
}

fn copy_string(from: &Map<String, Value>, to: &mut Map<String, Value>, key: &str) {
    if let Some(s) = string(from.get(key)) {
        to.insert(key.into(), s.into());
    }
}

/// `author` (an object, or a bare name) and `authors` (a list, or one object), as feed-rs's
/// `{name, url}` objects.
fn copy_authors(from: &Map<String, Value>, to: &mut Map<String, Value>) {
    let authors: Vec<Value> = as_list(from.get("authors"))
        .chain(as_list(from.get("author")))
        .filter_map(|a| {
            let mut out = Map::new();
            match a {
                Value::String(name) => {
                    out.insert("name".into(), name.clone().into());
                }
                Value::Object(o) => {
                    copy_string(o, &mut out, "name");
                    copy_string(o, &mut out, "url");
                }
                _ => return None,
            }
            Some(Value::Object(out))
        })
        .collect();
    if !authors.is_empty() {
        to.insert("authors".into(), authors.into());
    }
}

/// A string, or a number written as one; other types are dropped.
fn string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The elements of an array, or the value itself when it is a lone object or string.
fn as_list(value: Option<&Value>) -> Box<dyn Iterator<Item = &Value> + '_> {
    match value {
        Some(Value::Array(list)) => Box::new(list.iter()),
        Some(v @ (Value::Object(_) | Value::String(_))) => Box::new(std::iter::once(v)),
        _ => Box::new(std::iter::empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_versions_and_wrong_types_are_coerced() {
        let v: Value = serde_json::from_str(
            r#"{"version":"http://jsonfeed.org/version/1","title":5,"author":"Me",
                "items":[{"id":7,"url":"https://x/1","tags":"a, b","attachments":[{"url":"u"}]}]}"#,
        )
        .expect("json");
        let feed = normalise(&v).expect("feed");
        assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(feed["title"], "5");
        assert_eq!(feed["items"][0]["id"], "7");
        assert_eq!(feed["items"][0]["tags"][1], "b");
        assert_eq!(feed["authors"][0]["name"], "Me");
        assert_eq!(normalise(&serde_json::json!({"a": 1})), None);
        assert_eq!(normalise(&serde_json::json!([1, 2])), None);
    }
}
