//! The subject of a client certificate as Kafka's default principal builder
//! names it: `X500Principal.getName()`, i.e. RFC 2253 — RDNs last to first,
//! `CN=alice,OU=eng,O=Example,C=US`, known attribute types by their short
//! names, others as dotted OIDs with `#`-hex values, special characters
//! escaped with `\`. A minimal DER walk over the certificate (tag, length,
//! value; every length checked against what is left), no dependency.

/// One DER element: (tag, contents, rest).
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// The subject Name (DER contents of the SEQUENCE) of a certificate.
fn subject(cert: &[u8]) -> Option<&[u8]> {
    let (SEQUENCE, cert, _) = element(cert)? else {
        return None;
    };
    let (SEQUENCE, mut tbs, _) = element(cert)? else {
        return None;
    };
    // [0] version (optional), serial, signature algorithm, issuer, validity, subject.
    let (tag, _, rest) = element(tbs)?;
    if tag == 0xa0 {
        tbs = rest;
    }
    for _ in 0..4 {
        tbs = element(tbs)?.2;
    }
    match element(tbs)? {
        (SEQUENCE, name, _) => Some(name),
        _ => None,
    }
}

fn oid_text(oid: &[u8]) -> Option<String> {
    let (&first, rest) = oid.split_first()?;
    let mut parts = vec![u64::from(first / 40), u64::from(first % 40)];
    let mut v = 0u64;
    for b in rest {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            parts.push(v);
            v = 0;
        }
    }
    Some(
        parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// The short names `X500Principal.getName()` (RFC 2253) uses.
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One `type=value`.
fn attribute(atv: &[u8]) -> Option<String> {
    let (OID, oid, rest) = element(atv)? else {
        return None;
    };
    let oid = oid_text(oid)?;
    let (tag, value, _) = element(rest)?;
    let text = match tag {
        // UTF8String, PrintableString, IA5String, TeletexString (as Latin-1).
        0x0c | 0x13 | 0x16 => std::str::from_utf8(value).ok().map(str::to_string),
        0x14 => Some(value.iter().map(|&b| char::from(b)).collect()),
        // BMPString (UTF-16BE).
        0x1e if value.len() % 2 == 0 => String::from_utf16(
            &value
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        )
        .ok(),
        _ => None,
    };
    Some(match (short_name(&oid), text) {
        (Some(name), Some(t)) => format!("{name}={}", escape(&t)),
        _ => {
            // RFC 2253: unknown types as OID=#<hex of the whole DER value>.
            let whole_len = rest.len() - element(rest)?.2.len();
            let hex: String = rest[..whole_len]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{oid}=#{hex}")
        }
    })
}

/// The RFC 2253 name of the certificate's subject; `None` if the DER
/// cannot be read.
pub fn subject_name(cert_der: &[u8]) -> Option<String> {
    let mut name = subject(cert_der)?;
    let mut rdns = Vec::new();
    while !name.is_empty() {
        let (SET, mut set, rest) = element(name)? else {
            return None;
        };
        let mut atvs = Vec::new();
        while !set.is_empty() {
            let (SEQUENCE, atv, more) = element(set)? else {
                return None;
            };
            atvs.push(attribute(atv)?);
            set = more;
        }
        rdns.push(atvs.join("+"));
        name = rest;
    }
    rdns.reverse();
    Some(rdns.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2253_from_a_generated_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CountryName, "US");
        dn.push(rcgen::DnType::OrganizationName, "Example, Inc");
        dn.push(rcgen::DnType::OrganizationalUnitName, "eng");
        dn.push(rcgen::DnType::CommonName, "alice");
        params.distinguished_name = dn;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            subject_name(cert.der()).as_deref(),
            Some("CN=alice,OU=eng,O=Example\\, Inc,C=US")
        );
    }

    #[test]
    fn garbage_is_refused_without_panic() {
        assert_eq!(subject_name(b""), None);
        assert_eq!(subject_name(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(subject_name(&[0x30, 0x03, 0x30, 0x01]), None);
    }
}
