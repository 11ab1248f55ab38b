//! Which addresses a request may reach. A crawler follows URLs that strangers wrote (feed
//! items, page links, sitemap entries, redirects); without a check, a feed could point
//! newsvault at the machine's own admin ports, the cloud metadata service or the LAN.
//! So a URL found in fetched content may reach only public addresses, unless its host is
//! one the user configured (a source written in the config is trusted as written) or the
//! source opted in with `allow_private`.
//!
//! The check is made twice: on the URL's host when it is an IP literal (no DNS involved),
//! and on every address the DNS answer holds, inside the HTTP client's resolver, so the
//! addresses checked are the ones connected to: a name that resolves to a public address
//! for the check and a private one for the connection (DNS rebinding) cannot happen,
//! because there is only one resolution. Only http and https are ever requested.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// Whether a request may reach non-public addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Public addresses only: the URL came from fetched content.
    Public,
    /// Any address: the URL (or its host) was written by the user, or its source has
    /// `allow_private = true`.
    Any,
}

tokio::task_local! {
    /// Set for the work done on behalf of a source with `allow_private = true`: its
    /// requests may reach any address. A task-local rather than a parameter because the
    /// requests are made deep inside shared code (listing, sitemaps, articles, redirects)
    /// that otherwise has no reason to know about the source's settings.
    static PRIVATE_ALLOWED: bool;
}

/// Runs `work` with non-public addresses allowed (or not) for the requests it makes.
pub async fn with_private_allowed<F: std::future::Future>(allowed: bool, work: F) -> F::Output {
    PRIVATE_ALLOWED.scope(allowed, work).await
}

/// Whether the current task runs on behalf of a source with `allow_private = true`.
pub fn private_allowed() -> bool {
    PRIVATE_ALLOWED
        .try_with(|allowed| *allowed)
        .unwrap_or(false)
}

/// Why an address is not public, for messages; `None` when it is public.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        // 169.254.169.254 is the cloud metadata service.
        Some("link-local")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified (\"this network\")")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("broadcast, multicast or reserved")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if a == 192 && b == 0 && c == 0 {
        Some("IETF protocol assignments")
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        Some("documentation")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    // An IPv4 address wrapped in IPv6 reaches the IPv4 host: judge that.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    let segments = ip.segments();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("unique local (private)")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        Some("documentation")
    } else if segments[0] == 0x0064 && segments[1] == 0xff9b {
        // NAT64 (64:ff9b::/96) embeds an IPv4 address in the last 32 bits.
        let [.., hi, lo] = segments;
        v4_reason(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        ))
    } else if segments[0] == 0x2002 {
        // 6to4 embeds an IPv4 address in bits 16..48.
        v4_reason(Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        ))
    } else {
        None
    }
}

/// Checks a URL before any connection: scheme, and the host when it is an IP literal.
/// Names are checked later, on what they resolve to ([`PublicResolver`]).
pub fn check_url(url: &Url, reach: Reach) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "refused: only http and https are fetched, not {}:",
            url.scheme()
        ));
    }
    if reach == Reach::Any {
        return Ok(());
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(name)) => {
            // "localhost" never reaches DNS on most systems (nss-myhostname, /etc/hosts).
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return Err(format!(
                    "refused: {name} is this machine (loopback), and the URL came from fetched content"
                ));
            }
            return Ok(());
        }
        None => return Err("refused: the URL has no host".to_string()),
    };
    match non_public_reason(ip) {
        Some(reason) => Err(format!(
            "refused: {ip} is a {reason} address, and the URL came from fetched content (set allow_private = true on the source to allow it)"
        )),
        None => Ok(()),
    }
}

/// The DNS resolver of the client used for [`Reach::Public`] requests: it resolves with
/// the system's resolver, drops every non-public address, and fails when none is left.
#[derive(Debug, Default, Clone, Copy)]
pub struct PublicResolver;

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port in afterwards.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (public, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = resolved
                .into_iter()
                .partition(|a| non_public_reason(a.ip()).is_none());
            if public.is_empty() {
                let listed: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
                return Err(format!(
                    "refused: {host} resolves only to non-public addresses ({}), and the URL came from fetched content",
                    listed.join(", ")
                )
                .into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        non_public_reason(s.parse().expect("address")).is_none()
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        for s in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "2001:db8::1",
        ] {
            assert!(!public(s), "{s} must not count as public");
        }
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "203.112.218.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(s), "{s} is public");
        }
    }

    #[test]
    fn urls_from_content_may_not_name_private_hosts() {
        let url = |s: &str| Url::parse(s).expect("url");
        assert!(check_url(&url("https://example.com/a"), Reach::Public).is_ok());
        assert!(check_url(&url("http://8.8.8.8/"), Reach::Public).is_ok());
        for bad in [
            "http://127.0.0.1:8080/admin",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://db.localhost/",
            "http://[::ffff:7f00:1]/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            let error = check_url(&url(bad), Reach::Public).expect_err(bad);
            assert!(error.starts_with("refused"), "{bad}: {error}");
        }
        // The user's own sources may be anywhere.
        assert!(check_url(&url("http://127.0.0.1:8080/feed"), Reach::Any).is_ok());
        // Never another scheme, whoever wrote it.
        for scheme in ["file:///etc/passwd", "ftp://example.com/", "gopher://x/"] {
            assert!(check_url(&url(scheme), Reach::Any).is_err(), "{scheme}");
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_private_answers() {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().expect("name");
        let result = PublicResolver.resolve(name).await;
        let error = match result {
            Ok(addrs) => panic!(
                "localhost resolved to {:?}",
                addrs.collect::<Vec<SocketAddr>>()
            ),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("non-public"), "{error}");
    }
}
