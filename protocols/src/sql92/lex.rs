//! Tokens of a SQL92 message selector (RocketMQ's subset of the JMS
//! selector grammar): keywords and identifiers case-insensitive for
//! keywords, `--` line and `/* */` block comments, `'…'` strings with `''`
//! for a quote, decimal (`5`, `5L`) and floating (`5.`, `.5`, `5E3`)
//! literals. Hex, octal and `LIKE` are not part of the subset.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, one_of};
use nom::combinator::{opt, recognize};
use nom::sequence::pair;
use nom::{IResult, Parser};

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// A keyword, upper-cased: NOT AND OR BETWEEN IN TRUE FALSE NULL IS.
    Kw(&'static str),
    /// A property name as written.
    Id(String),
    /// A decimal literal's digits (without an `L` suffix).
    Dec(String),
    /// A floating-point literal as written.
    Float(String),
    /// A string literal, unquoted.
    Str(String),
    /// `=` `<>` `<` `<=` `>` `>=` `(` `)` `,` `+` `-`.
    Sym(&'static str),
}

const KEYWORDS: [&str; 9] = [
    "NOT", "AND", "OR", "BETWEEN", "IN", "TRUE", "FALSE", "NULL", "IS",
];
const SYMBOLS: [&str; 11] = ["<>", "<=", ">=", "=", "<", ">", "(", ")", ",", "+", "-"];

fn id_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Skips white space and comments; a `--` comment must end with a line
/// break, as upstream's token requires.
fn skip(mut s: &str) -> Result<&str, String> {
    loop {
        let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\u{c}']);
        if let Some(rest) = t.strip_prefix("--") {
            let end = rest.find(['\n', '\r']).ok_or("unterminated line comment")?;
            s = rest.get(end + 1..).unwrap_or("");
        } else if let Some(rest) = t.strip_prefix("/*") {
            let end = rest.find("*/").ok_or("unterminated block comment")?;
            s = rest.get(end + 2..).unwrap_or("");
        } else {
            return Ok(t);
        }
    }
}

fn digits(s: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_digit())(s)
}

fn exponent(s: &str) -> IResult<&str, &str> {
    recognize((one_of("eE"), opt(one_of("+-")), digits)).parse(s)
}

fn float(s: &str) -> IResult<&str, &str> {
    alt((
        recognize((
            digits,
            char('.'),
            take_while(|c: char| c.is_ascii_digit()),
            opt(exponent),
        )),
        recognize((char('.'), digits, opt(exponent))),
        recognize(pair(digits, exponent)),
    ))
    .parse(s)
}

fn string(s: &str) -> IResult<&str, String> {
    let (mut rest, _) = tag("'")(s)?;
    let mut out = String::new();
    loop {
        let (r, chunk) = take_while(|c| c != '\'')(rest)?;
        out.push_str(chunk);
        let (r, _) = tag("'")(r)?;
        match r.strip_prefix('\'') {
            Some(after) => {
                out.push('\'');
                rest = after;
            }
            None => return Ok((r, out)),
        }
    }
}

fn word(s: &str) -> IResult<&str, &str> {
    recognize(pair(take_while1(id_start), take_while(id_char))).parse(s)
}

/// Splits `src` into tokens, or says where it could not.
pub(super) fn tokens(src: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut s = skip(src)?;
    while !s.is_empty() {
        let at = src.len() - s.len();
        let (rest, tok) = if let Ok((r, f)) = float(s) {
            (r, Tok::Float(f.to_owned()))
        } else if let Ok((r, d)) = digits(s) {
            if d.len() > 1 && d.starts_with('0') {
                return Err(format!(
                    "a number may not start with 0, at column {}",
                    at + 1
                ));
            }
            let r = r.strip_prefix(['l', 'L']).unwrap_or(r);
            (r, Tok::Dec(d.to_owned()))
        } else if s.starts_with('\'') {
            let (r, v) =
                string(s).map_err(|_| format!("unterminated string at column {}", at + 1))?;
            (r, Tok::Str(v))
        } else if let Ok((r, w)) = word(s) {
            let up = w.to_ascii_uppercase();
            match KEYWORDS.iter().find(|k| **k == up) {
                Some(k) => (r, Tok::Kw(k)),
                None => (r, Tok::Id(w.to_owned())),
            }
        } else if let Some(sym) = SYMBOLS.iter().find(|p| s.starts_with(**p)) {
            (s.get(sym.len()..).unwrap_or(""), Tok::Sym(sym))
        } else {
            let c = s.chars().next().unwrap_or(' ');
            return Err(format!("unexpected character {c:?} at column {}", at + 1));
        };
        out.push(tok);
        s = skip(rest)?;
    }
    Ok(out)
}
