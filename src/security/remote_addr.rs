//! RocketMQ ACL white-list address patterns (`whiteRemoteAddress`,
//! `globalWhiteRemoteAddresses`), read the way upstream's
//! `RemoteAddressStrategyFactory` reads them: blank matches nobody; `*`,
//! `*.*.*.*` or `*:*:*:*:*:*:*:*` everybody; `192.168.0.{1,2}` or
//! `a,b` a set of addresses; `192.168.*` / `192.168.1.1-100` a range (IPv4;
//! every part after the first wildcard or range must be `*`); anything else
//! one address (IPv4 or IPv6, compared as addresses, so `::1` equals
//! `0:0:0:0:0:0:0:1`). IPv6 ranges are not supported (refused as invalid).

use std::net::IpAddr;

/// A parsed white-list pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteAddr {
    /// Blank: matches no address.
    Nobody,
    /// `*`: matches every address.
    Everybody,
    /// A set of addresses.
    Set(Vec<IpAddr>),
    /// An IPv4 range: each octet is `(low, high)`.
    Range([(u8, u8); 4]),
}

impl RemoteAddr {
    /// Parses a pattern; the error is upstream's remark text.
    pub fn parse(pattern: &str) -> Result<RemoteAddr, String> {
        let p = pattern.trim();
        if p.is_empty() {
            return Ok(RemoteAddr::Nobody);
        }
        if matches!(p, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(RemoteAddr::Everybody);
        }
        if p.ends_with('}') {
            let open = p.find('{').ok_or_else(|| invalid(p))?;
            let (head, alternatives) = (&p[..open], &p[open + 1..p.len() - 1]);
            if !p.contains(':') && p.split('.').count() < 4 {
                return Err(format!(
                    "MultipleRemoteAddressStrategy has got a/some wrong format IP(s) {p}"
                ));
            }
            let all: Vec<String> = alternatives
                .split(',')
                .map(|a| format!("{head}{}", a.trim()))
                .collect();
            return set(all.iter().map(String::as_str));
        }
        if p.contains(',') {
            return set(p.split(',').map(str::trim));
        }
        if p.contains('*') || p.contains('-') {
            return range(p);
        }
        one(p).map(|a| RemoteAddr::Set(vec![a]))
    }

    /// Whether `addr` is white-listed by this pattern.
    pub fn matches(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        match self {
            RemoteAddr::Nobody => false,
            RemoteAddr::Everybody => true,
            RemoteAddr::Set(s) => s.contains(&addr),
            RemoteAddr::Range(parts) => match addr {
                IpAddr::V4(v4) => v4
                    .octets()
                    .iter()
                    .zip(parts)
                    .all(|(o, (lo, hi))| (lo..=hi).contains(&o)),
                IpAddr::V6(_) => false,
            },
        }
    }
}

fn invalid(p: &str) -> String {
    format!("Netaddress examine Exception netaddress is {p}")
}

fn one(p: &str) -> Result<IpAddr, String> {
    p.parse::<IpAddr>()
        .map(|a| a.to_canonical())
        .map_err(|_| invalid(p))
}

fn set<'a>(items: impl Iterator<Item = &'a str>) -> Result<RemoteAddr, String> {
    items
        .filter(|s| !s.is_empty())
        .map(one)
        .collect::<Result<Vec<_>, _>>()
        .map(RemoteAddr::Set)
}

fn range(p: &str) -> Result<RemoteAddr, String> {
    let scope = || format!("Netaddress examine scope Exception netaddress is {p}");
    let parts: Vec<&str> = p.split('.').map(str::trim).collect();
    if p.contains(':') || parts.len() > 4 || parts.len() < 2 {
        return Err(scope());
    }
    let mut out = [(0u8, 255u8); 4];
    let mut open = false;
    for (i, part) in parts.iter().enumerate() {
        let bound = |s: &str| s.parse::<u8>().map_err(|_| scope());
        out[i] = if *part == "*" {
            open = true;
            (0, 255)
        } else if open {
            // After a wildcard or a range only `*` may follow.
            return Err(scope());
        } else if let Some((lo, hi)) = part.split_once('-') {
            if i == 0 {
                return Err(scope());
            }
            open = true;
            let (lo, hi) = (bound(lo)?, bound(hi)?);
            if lo > hi {
                return Err(format!(
                    "RangeRemoteAddressStrategy netaddress examine scope Exception start is {lo} , end is {hi}"
                ));
            }
            (lo, hi)
        } else {
            let v = bound(part)?;
            (v, v)
        };
    }
    if !open {
        return Err(scope());
    }
    Ok(RemoteAddr::Range(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn upstream_pattern_forms() {
        let all = RemoteAddr::parse("*").unwrap();
        assert!(all.matches(ip("10.1.2.3")));
        assert!(!RemoteAddr::parse("").unwrap().matches(ip("10.1.2.3")));
        let braces = RemoteAddr::parse("192.168.0.{1,2}").unwrap();
        assert!(braces.matches(ip("192.168.0.2")));
        assert!(!braces.matches(ip("192.168.0.3")));
        let comma = RemoteAddr::parse("10.0.0.1, 10.0.0.9").unwrap();
        assert!(comma.matches(ip("10.0.0.9")));
        let star = RemoteAddr::parse("192.168.*").unwrap();
        assert!(star.matches(ip("192.168.7.200")));
        assert!(!star.matches(ip("192.169.7.200")));
        let span = RemoteAddr::parse("192.168.1.1-100").unwrap();
        assert!(span.matches(ip("192.168.1.100")));
        assert!(!span.matches(ip("192.168.1.101")));
        let v6 = RemoteAddr::parse("0:0:0:0:0:0:0:1").unwrap();
        assert!(v6.matches(ip("::1")));
        let mapped = RemoteAddr::parse("127.0.0.1").unwrap();
        assert!(mapped.matches(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "192.168.1.300",
            "192.168.*.3",
            "1.2.3.9-4",
            "*-3.1.1.1",
            "nonsense",
        ] {
            assert!(RemoteAddr::parse(bad).is_err(), "{bad}");
        }
    }
}
