//! Message filters of a subscription, shared by every read path (classic
//! and lite pull today; POP and gRPC receive call the same functions).
//!
//! A TAG subscription compares ConsumeQueue tags codes; a SQL92 one
//! (`enablePropertyFilter=true`) evaluates the compiled selector against the
//! message's properties, `TAGS` included, as the reference broker does. A
//! selector is compiled once per (group, topic) and recompiled only when
//! the subscription's text changes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use rokka_protocols::remoting::message::decode_properties;
use rokka_protocols::sql92::{self, CompileError, Expr};

/// What a read keeps.
#[derive(Debug, Clone)]
pub enum MessageFilter {
    /// Everything (`*` or an empty expression).
    All,
    /// Messages whose tags code is in the set.
    Tags(HashSet<i32>),
    /// Messages whose properties satisfy the selector.
    Sql(Arc<Expr>),
}

impl MessageFilter {
    /// The tags codes to filter the ConsumeQueue by, if this is a TAG filter.
    pub fn tag_codes(&self) -> Option<&HashSet<i32>> {
        match self {
            MessageFilter::Tags(s) => Some(s),
            _ => None,
        }
    }

    /// True if a message with this tags code and raw properties string
    /// (`k␁v␂…`) is kept.
    pub fn matches(&self, tags_code: i64, properties: &str) -> bool {
        match self {
            MessageFilter::All => true,
            MessageFilter::Tags(s) => s.contains(&(tags_code as i32)),
            MessageFilter::Sql(e) => sql_matches(e, properties),
        }
    }

    /// True if only properties can decide (the ConsumeQueue cannot).
    pub fn needs_properties(&self) -> bool {
        matches!(self, MessageFilter::Sql(_))
    }
}

/// Evaluates `expr` against a raw properties string; a repeated name keeps
/// its last value.
pub fn sql_matches(expr: &Expr, properties: &str) -> bool {
    let map: HashMap<&str, &str> = decode_properties(properties).into_iter().collect();
    expr.matches(&|k| map.get(k).copied())
}

/// Why a subscription cannot be filtered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// A non-TAG expression while `enablePropertyFilter` is off (or an
    /// expression type the broker does not know).
    Unsupported(String),
    /// The selector does not compile.
    Invalid(CompileError),
}

/// (group, topic) → (expression text, compiled selector).
type Compiled = HashMap<(String, String), (String, Arc<Expr>)>;

/// Compiled selectors per (group, topic).
#[derive(Debug, Default)]
pub struct FilterCache {
    compiled: Mutex<Compiled>,
}

impl FilterCache {
    fn lock(&self) -> MutexGuard<'_, Compiled> {
        self.compiled.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The filter for a subscription (`expr_type` `TAG` or `SQL92`).
    pub fn filter(
        &self,
        sql_enabled: bool,
        group: &str,
        topic: &str,
        expr_type: &str,
        expr: &str,
    ) -> Result<MessageFilter, FilterError> {
        if expr_type.is_empty() || expr_type.eq_ignore_ascii_case("TAG") {
            return Ok(tag_filter(expr));
        }
        if !sql_enabled || !expr_type.eq_ignore_ascii_case(sql92::EXPRESSION_TYPE) {
            return Err(FilterError::Unsupported(expr_type.to_owned()));
        }
        let key = (group.to_owned(), topic.to_owned());
        if let Some((text, e)) = self.lock().get(&key) {
            if text == expr {
                return Ok(MessageFilter::Sql(e.clone()));
            }
        }
        let e = Arc::new(sql92::compile(expr).map_err(FilterError::Invalid)?);
        self.lock().insert(key, (expr.to_owned(), e.clone()));
        Ok(MessageFilter::Sql(e))
    }

    /// Forgets a group's selectors (its last consumer left).
    pub fn forget_group(&self, group: &str) {
        self.lock().retain(|(g, _), _| g != group);
    }
}

/// A TAG expression: `*` or empty keeps everything, else `a || b`.
pub fn tag_filter(expr: &str) -> MessageFilter {
    let expr = expr.trim();
    if expr.is_empty() || expr == "*" {
        return MessageFilter::All;
    }
    let set: HashSet<i32> = expr
        .split("||")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(rokka_store::java_string_hash)
        .collect();
    if set.is_empty() {
        MessageFilter::All
    } else {
        MessageFilter::Tags(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_is_refused_unless_enabled_and_compiled_once() {
        let c = FilterCache::default();
        assert_eq!(
            c.filter(false, "g", "t", "SQL92", "a > 1").unwrap_err(),
            FilterError::Unsupported("SQL92".into())
        );
        assert!(matches!(
            c.filter(true, "g", "t", "SQL92", "a >"),
            Err(FilterError::Invalid(_))
        ));
        let MessageFilter::Sql(a) = c.filter(true, "g", "t", "SQL92", "a > 1").unwrap() else {
            panic!("not sql")
        };
        let MessageFilter::Sql(b) = c.filter(true, "g", "t", "sql92", "a > 1").unwrap() else {
            panic!("not sql")
        };
        assert!(Arc::ptr_eq(&a, &b), "compiled once");
        let f = MessageFilter::Sql(a);
        assert!(f.matches(0, "a\u{1}2\u{2}TAGS\u{1}x"));
        assert!(!f.matches(0, "a\u{1}1"));
        assert!(!f.matches(0, ""));
        assert!(matches!(
            c.filter(true, "g", "t", "TAG", " * "),
            Ok(MessageFilter::All)
        ));
        assert!(matches!(
            c.filter(true, "g", "t", "BAD", "x"),
            Err(FilterError::Unsupported(_))
        ));
    }

    #[test]
    fn tags_property_is_visible_to_sql() {
        let e = sql92::compile("TAGS IN ('TagA') AND region = 'eu'").unwrap();
        assert!(sql_matches(&e, "TAGS\u{1}TagA\u{2}region\u{1}eu"));
        assert!(!sql_matches(&e, "TAGS\u{1}TagB\u{2}region\u{1}eu"));
        // The last value of a repeated property counts.
        assert!(sql_matches(
            &e,
            "region\u{1}us\u{2}TAGS\u{1}TagA\u{2}region\u{1}eu"
        ));
    }
}
