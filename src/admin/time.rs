//! `--to-datetime` values: epoch milliseconds, ISO-8601
//! (`2026-05-01T12:00:00`, optional `.mmm` and `Z` or `±HH:MM`; without a
//! zone the time is UTC), or mqadmin's `yyyy-MM-dd#HH:mm:ss:SSS` (UTC).

/// Milliseconds since the epoch for `s`, or a message saying what is accepted.
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| bad(s));
    }
    let (date, rest) = s.split_once(['T', ' ', '#']).ok_or_else(|| bad(s))?;
    let mut d = date.split('-');
    let (y, mo, da) = (num(d.next(), s)?, num(d.next(), s)?, num(d.next(), s)?);
    if d.next().is_some() || !(1..=12).contains(&mo) || !(1..=days_in(y, mo)).contains(&da) {
        return Err(bad(s));
    }
    // The zone: Z, or the last + / - after the time.
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, m) = z
            .get(1..)
            .and_then(|z| z.split_once(':'))
            .ok_or_else(|| bad(s))?;
        let (h, m) = (num(Some(h), s)?, num(Some(m), s)?);
        if h > 23 || m > 59 {
            return Err(bad(s));
        }
        (c, sign * (h * 60 + m))
    } else {
        (rest, 0)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (clock, None),
    };
    let mut t = hms.split(':');
    let (h, mi, se) = (num(t.next(), s)?, num(t.next(), s)?, num(t.next(), s)?);
    // mqadmin's form has the milliseconds as a fourth field.
    let ms_field = t.next();
    if t.next().is_some() || h > 23 || mi > 59 || se > 60 {
        return Err(bad(s));
    }
    let ms = match (frac, ms_field) {
        (Some(f), None) | (None, Some(f)) => {
            let digits: String = f.chars().take(3).collect();
            if digits.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(s));
            }
            digits.parse::<i64>().map_err(|_| bad(s))? * 10i64.pow(3 - digits.len() as u32)
        }
        (None, None) => 0,
        _ => return Err(bad(s)),
    };
    let days = days_from_civil(y, mo, da);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_min * 60;
    Ok(secs * 1000 + ms)
}

fn bad(s: &str) -> String {
    format!(
        "invalid date/time {s:?}: use epoch milliseconds, 2026-05-01T12:00:00[.123][Z|+02:00] \
         (UTC without a zone) or yyyy-MM-dd#HH:mm:ss:SSS"
    )
}

fn num(p: Option<&str>, whole: &str) -> Result<i64, String> {
    let p = p.ok_or_else(|| bad(whole))?;
    if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(whole));
    }
    p.parse().map_err(|_| bad(whole))
}

fn days_in(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;

    #[test]
    fn accepted_forms() {
        assert_eq!(parse_datetime("0"), Ok(0));
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_datetime("2024-05-27T09:33:20"), Ok(1_716_802_400_000));
        assert_eq!(
            parse_datetime("2024-05-27T11:33:20.5+02:00"),
            Ok(1_716_802_400_500)
        );
        assert_eq!(
            parse_datetime("2024-05-27 09:33:20.123"),
            Ok(1_716_802_400_123)
        );
        assert_eq!(
            parse_datetime("2024-05-27#09:33:20:007"),
            Ok(1_716_802_400_007)
        );
        assert_eq!(parse_datetime("2000-02-29T00:00:00Z"), Ok(951_782_400_000));
    }

    #[test]
    fn bad_forms_say_what_is_accepted() {
        for s in [
            "",
            "yesterday",
            "2024-13-01T00:00:00",
            "2023-02-29T00:00:00",
            "2024-05-27",
            "2024-05-27T25:00:00",
            "2024-05-27T10:00:00+2",
            "2024-05-27T10:00:00.x",
        ] {
            let e = parse_datetime(s).unwrap_err();
            assert!(e.contains("epoch milliseconds"), "{s}: {e}");
        }
    }
}
