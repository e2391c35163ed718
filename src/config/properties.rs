//! Reader for Java-properties text, the syntax of RocketMQ's `broker.conf` and
//! Kafka's `server.properties`. It only splits the text into `key = value`
//! entries with their line numbers; `config/keys.rs` gives the keys meaning.
//!
//! Supported, as in `java.util.Properties::load`: `#` and `!` comment lines,
//! blank lines, `=`, `:` or whitespace between key and value (with optional
//! spaces around `=`/`:`), a trailing `\` continuing an entry on the next line,
//! and the escapes `\t \n \r \f \uXXXX \\`. Unlike Java, trailing whitespace of
//! a value is dropped (a stray space after `ASYNC_FLUSH` is never meant).

/// One `key=value` entry of a properties file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line on which the entry starts.
    pub line: usize,
    /// The key, unescaped.
    pub key: String,
    /// The value, unescaped, without leading or trailing whitespace.
    pub value: String,
}

/// A line that cannot be read as a properties entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct SyntaxError {
    /// 1-based line of the entry.
    pub line: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// Splits properties `text` into entries, in file order (a later duplicate
/// key overrides an earlier one when applied).
pub fn parse(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let mut entries = Vec::new();
    let mut lines = text.split('\n').enumerate();
    while let Some((index, raw)) = lines.next() {
        let first = trim_start(raw.strip_suffix('\r').unwrap_or(raw));
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let line = index + 1;
        let mut logical = String::from(first);
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => {
                    logical.push_str(trim_start(next.strip_suffix('\r').unwrap_or(next)))
                }
                None => break,
            }
        }
        let (key, value) = split_entry(&logical);
        let key = unescape(key).map_err(|reason| SyntaxError { line, reason })?;
        let value = unescape(value.trim_end()).map_err(|reason| SyntaxError { line, reason })?;
        entries.push(Entry { line, key, value });
    }
    Ok(entries)
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

fn trim_start(s: &str) -> &str {
    s.trim_start_matches(is_blank)
}

/// An odd number of trailing backslashes continues the entry; an even number
/// is escaped backslashes.
fn ends_with_continuation(s: &str) -> bool {
    s.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Splits a logical line at the first unescaped `=`, `:` or blank.
fn split_entry(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (&line[..i], trim_start(&line[i + 1..])),
            c if is_blank(c) => {
                let rest = trim_start(&line[i..]);
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .map_or(rest, trim_start);
                return (&line[..i], rest);
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str) -> Result<String, &'static str> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or("malformed \\uXXXX escape")?;
                out.push(char::from_u32(code).ok_or("\\uXXXX escape is not a character")?);
            }
            Some(other) => out.push(other),
            // A lone trailing backslash is dropped, as Java does.
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(usize, String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.line, e.key, e.value))
            .collect()
    }

    fn e(line: usize, k: &str, v: &str) -> (usize, String, String) {
        (line, k.to_string(), v.to_string())
    }

    #[test]
    fn rocketmq_sample_broker_conf() {
        let text = "# Licensed to the Apache Software Foundation\n\
                    brokerClusterName = DefaultCluster\n\
                    brokerName = broker-a\n\
                    brokerId = 0\n\
                    deleteWhen = 04\n\
                    fileReservedTime = 48\n\
                    brokerRole = ASYNC_MASTER\n\
                    flushDiskType = ASYNC_FLUSH\n";
        assert_eq!(
            kv(text),
            vec![
                e(2, "brokerClusterName", "DefaultCluster"),
                e(3, "brokerName", "broker-a"),
                e(4, "brokerId", "0"),
                e(5, "deleteWhen", "04"),
                e(6, "fileReservedTime", "48"),
                e(7, "brokerRole", "ASYNC_MASTER"),
                e(8, "flushDiskType", "ASYNC_FLUSH"),
            ]
        );
    }

    #[test]
    fn comments_blank_lines_and_crlf() {
        let text = "! bang comment\r\n\r\n   \r\n  # indented comment\r\na=1\r\n";
        assert_eq!(kv(text), vec![e(5, "a", "1")]);
    }

    #[test]
    fn separators() {
        let text = "a=1\nb = 2\nc:3\nd : 4\ne 5\nf\ng=\nh = x = y\n";
        assert_eq!(
            kv(text),
            vec![
                e(1, "a", "1"),
                e(2, "b", "2"),
                e(3, "c", "3"),
                e(4, "d", "4"),
                e(5, "e", "5"),
                e(6, "f", ""),
                e(7, "g", ""),
                e(8, "h", "x = y"),
            ]
        );
    }

    #[test]
    fn value_keeps_colons_of_urls() {
        assert_eq!(
            kv("listeners=PLAINTEXT://127.0.0.1:9092\n"),
            vec![e(1, "listeners", "PLAINTEXT://127.0.0.1:9092")]
        );
    }

    #[test]
    fn trailing_whitespace_is_dropped() {
        assert_eq!(
            kv("flushDiskType = SYNC_FLUSH  \t\n"),
            vec![e(1, "flushDiskType", "SYNC_FLUSH")]
        );
    }

    #[test]
    fn continuation_lines_report_first_line() {
        let text = "x=1\nnamesrvAddr = a:9876;\\\n    b:9876\ny=2\n";
        assert_eq!(
            kv(text),
            vec![
                e(1, "x", "1"),
                e(2, "namesrvAddr", "a:9876;b:9876"),
                e(4, "y", "2")
            ]
        );
    }

    #[test]
    fn escaped_backslash_is_not_continuation() {
        assert_eq!(
            kv("p=C:\\\\data\\\\\nq=1"),
            vec![e(1, "p", "C:\\data\\"), e(2, "q", "1")]
        );
    }

    #[test]
    fn escapes_in_key_and_value() {
        assert_eq!(kv("a\\=b=c\\u0041\\td"), vec![e(1, "a=b", "cA\td")]);
    }

    #[test]
    fn malformed_unicode_escape() {
        assert_eq!(
            parse("a=1\nb=\\u12").unwrap_err(),
            SyntaxError {
                line: 2,
                reason: "malformed \\uXXXX escape"
            }
        );
    }

    #[test]
    fn continuation_at_end_of_file() {
        assert_eq!(kv("a=1\\"), vec![e(1, "a", "1")]);
    }
}
