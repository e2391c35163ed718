//! SQL92 message selectors, the subset RocketMQ brokers evaluate for
//! `MessageSelector.bySql(...)` subscriptions: comparisons, `[NOT] BETWEEN`,
//! `[NOT] IN ('a', …)`, `IS [NOT] NULL`, `AND`/`OR`/`NOT`, string, numeric
//! and boolean literals, over message properties (the tag is property
//! `TAGS`). Sans-io: [`compile`] turns the expression into an [`Expr`] once,
//! [`Expr::matches`] evaluates it against one message's properties.
//!
//! Semantics follow the reference broker (facts, not code): property values
//! are strings, converted to the literal's type when compared with one
//! (`a > 5` parses `a` as an int); a missing property is NULL and anything
//! compared with NULL is unknown; unknown, a conversion failure or a
//! non-boolean result means "no match".
//!
//! ```text
//! lex.rs    tokens (nom)
//! parse.rs  precedence climbing into Expr, with upstream's build-time checks
//! eval.rs   three-valued evaluation
//! ```

mod eval;
mod lex;
mod parse;

use std::fmt;

/// The expression type name clients send for SQL92 subscriptions.
pub const EXPRESSION_TYPE: &str = "SQL92";

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`.
    Null,
    /// `TRUE` / `FALSE`.
    Bool(bool),
    /// A decimal literal within the Java int range.
    Int(i32),
    /// A larger decimal literal (Java long).
    Long(i64),
    /// A floating-point literal.
    Double(f64),
    /// A string literal.
    Str(String),
}

/// `=`, `<>`, `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A compiled selector.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Lit(Literal),
    /// A message property by name.
    Prop(String),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `NOT`.
    Not(Box<Expr>),
    /// `a AND b AND …`.
    And(Vec<Expr>),
    /// `a OR b OR …`.
    Or(Vec<Expr>),
    /// A comparison.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `x IS NULL` (`true`: `IS NOT NULL`).
    IsNull(Box<Expr>, bool),
    /// `value [NOT] BETWEEN low AND high`.
    Between {
        /// Tested value.
        value: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        not: bool,
    },
    /// `prop [NOT] IN ('a', …)`.
    In {
        /// Property name.
        prop: String,
        /// The strings.
        list: Vec<String>,
        /// `NOT IN`.
        not: bool,
    },
}

/// A selector that does not compile; `Display` gives the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid MessageSelector. {0}")]
pub struct CompileError(pub String);

/// Longest selector accepted, bytes.
pub const MAX_EXPRESSION: usize = 64 * 1024;

/// Compiles a selector; the errors match what upstream refuses.
pub fn compile(src: &str) -> Result<Expr, CompileError> {
    if src.len() > MAX_EXPRESSION {
        return Err(CompileError(format!(
            "expression longer than {MAX_EXPRESSION} bytes"
        )));
    }
    let toks = lex::tokens(src).map_err(CompileError)?;
    parse::Parser::new(toks).selector().map_err(CompileError)
}

impl Expr {
    /// True if the message whose property lookup is `props` is selected.
    pub fn matches<'a>(&'a self, props: &dyn Fn(&str) -> Option<&'a str>) -> bool {
        eval::matches(self, props)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Bool(true) => f.write_str("TRUE"),
            Literal::Bool(false) => f.write_str("FALSE"),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Long(v) => write!(f, "{v}L"),
            Literal::Double(v) => write!(f, "{v:e}"),
            Literal::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        })
    }
}

fn join(f: &mut fmt::Formatter<'_>, all: &[Expr], sep: &str) -> fmt::Result {
    f.write_str("(")?;
    for (i, e) in all.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{e}")?;
    }
    f.write_str(")")
}

/// Canonical text, fully parenthesised; compiling it gives the same tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = |n: &bool| if *n { "NOT " } else { "" };
        match self {
            Expr::Lit(l) => write!(f, "{l}"),
            Expr::Prop(p) => f.write_str(p),
            Expr::Neg(e) => write!(f, "(-{e})"),
            Expr::Not(e) => write!(f, "(NOT {e})"),
            Expr::And(all) => join(f, all, " AND "),
            Expr::Or(all) => join(f, all, " OR "),
            Expr::Cmp(op, l, r) => write!(f, "({l} {op} {r})"),
            Expr::IsNull(e, n) => write!(f, "({e} IS {}NULL)", not(n)),
            Expr::Between {
                value,
                low,
                high,
                not: n,
            } => write!(f, "({value} {}BETWEEN {low} AND {high})", not(n)),
            Expr::In { prop, list, not: n } => {
                write!(f, "({prop} {}IN (", not(n))?;
                for (i, s) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", Literal::Str(s.clone()))?;
                }
                f.write_str("))")
            }
        }
    }
}

#[cfg(test)]
mod tests;
