//! Recursive descent over the tokens, with upstream's precedence (lowest
//! first): OR, AND, equality (`=`, `<>`, `IS [NOT] NULL`), comparison
//! (`<` … `>=`, `[NOT] BETWEEN`, `[NOT] IN`), unary (`+`, `-`, `NOT`),
//! primary (literal, property, parentheses). The checks upstream makes
//! while building its tree are made here too, so the same expressions are
//! refused: `NULL` beside `=`, a string or boolean beside `<`, a reversed
//! constant `BETWEEN`, `IN` after something other than a property, a
//! non-boolean where a condition is needed.

use super::lex::Tok;
use super::{CmpOp, Expr, Literal};

/// Deepest nesting accepted (parentheses, unary operators, chained `=`).
const MAX_DEPTH: usize = 100;

pub(super) struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

type R<T> = Result<T, String>;

impl Parser {
    pub(super) fn new(toks: Vec<Tok>) -> Parser {
        Parser { toks, pos: 0 }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek2(&self) -> Option<&Tok> {
        self.toks.get(self.pos + 1)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok) -> R<()> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(format!("expected {} {}", show(t), self.found()))
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => format!("but found {} (token {})", show(t), self.pos + 1),
            None => "but the expression ended".to_owned(),
        }
    }

    /// The whole selector: one boolean expression and nothing after it.
    pub(super) fn selector(&mut self) -> R<Expr> {
        let e = self.or(0)?;
        if self.peek().is_some() {
            return Err(format!("unexpected {}", self.found()));
        }
        as_boolean(e)
    }

    fn or(&mut self, depth: usize) -> R<Expr> {
        let first = self.and(depth)?;
        if self.peek() != Some(&Tok::Kw("OR")) {
            return Ok(first);
        }
        let mut all = vec![as_boolean(first)?];
        while self.eat(&Tok::Kw("OR")) {
            all.push(as_boolean(self.and(depth)?)?);
        }
        Ok(Expr::Or(all))
    }

    fn and(&mut self, depth: usize) -> R<Expr> {
        let first = self.equality(depth)?;
        if self.peek() != Some(&Tok::Kw("AND")) {
            return Ok(first);
        }
        let mut all = vec![as_boolean(first)?];
        while self.eat(&Tok::Kw("AND")) {
            all.push(as_boolean(self.equality(depth)?)?);
        }
        Ok(Expr::And(all))
    }

    fn equality(&mut self, mut depth: usize) -> R<Expr> {
        let mut left = self.comparison(depth)?;
        loop {
            let op = match self.peek() {
                Some(Tok::Sym("=")) => Some(CmpOp::Eq),
                Some(Tok::Sym("<>")) => Some(CmpOp::Ne),
                Some(Tok::Kw("IS")) => None,
                _ => return Ok(left),
            };
            depth = deeper(depth)?;
            self.pos += 1;
            left = match op {
                Some(op) => {
                    let right = self.comparison(depth)?;
                    check_equal(&left, &right)?;
                    Expr::Cmp(op, Box::new(left), Box::new(right))
                }
                None => {
                    let not = self.eat(&Tok::Kw("NOT"));
                    self.expect(&Tok::Kw("NULL"))?;
                    Expr::IsNull(Box::new(left), not)
                }
            };
        }
    }

    fn comparison(&mut self, depth: usize) -> R<Expr> {
        let mut left = self.unary(depth)?;
        loop {
            let op = match self.peek() {
                Some(Tok::Sym(">")) => CmpOp::Gt,
                Some(Tok::Sym(">=")) => CmpOp::Ge,
                Some(Tok::Sym("<")) => CmpOp::Lt,
                Some(Tok::Sym("<=")) => CmpOp::Le,
                Some(Tok::Kw("BETWEEN")) => {
                    self.pos += 1;
                    left = self.between(left, false, depth)?;
                    continue;
                }
                Some(Tok::Kw("IN")) => {
                    self.pos += 1;
                    left = self.in_list(left, false)?;
                    continue;
                }
                Some(Tok::Kw("NOT")) if self.peek2() == Some(&Tok::Kw("BETWEEN")) => {
                    self.pos += 2;
                    left = self.between(left, true, depth)?;
                    continue;
                }
                Some(Tok::Kw("NOT")) if self.peek2() == Some(&Tok::Kw("IN")) => {
                    self.pos += 2;
                    left = self.in_list(left, true)?;
                    continue;
                }
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.unary(depth)?;
            check_ordered(&left)?;
            check_ordered(&right)?;
            left = Expr::Cmp(op, Box::new(left), Box::new(right));
        }
    }

    fn between(&mut self, value: Expr, not: bool, depth: usize) -> R<Expr> {
        let low = self.unary(depth)?;
        self.expect(&Tok::Kw("AND"))?;
        let high = self.unary(depth)?;
        if !not {
            if let (Expr::Lit(l), Expr::Lit(h)) = (&low, &high) {
                if matches!(l, Literal::Null) || matches!(h, Literal::Null) {
                    return Err("illegal values of between, values can not be null".into());
                }
                if super::eval::literal_order(h, l) == Some(std::cmp::Ordering::Less) {
                    return Err(format!(
                        "illegal values of between, left value ({l}) must be less than or equal to right value ({h})"
                    ));
                }
            }
        }
        for e in [&value, &low, &high] {
            check_ordered(e)?;
        }
        Ok(Expr::Between {
            value: Box::new(value),
            low: Box::new(low),
            high: Box::new(high),
            not,
        })
    }

    fn in_list(&mut self, left: Expr, not: bool) -> R<Expr> {
        let Expr::Prop(prop) = left else {
            return Err(format!("expected a property before IN, got {left}"));
        };
        self.expect(&Tok::Sym("("))?;
        let mut list = vec![self.string()?];
        while self.eat(&Tok::Sym(",")) {
            list.push(self.string()?);
        }
        self.expect(&Tok::Sym(")"))?;
        Ok(Expr::In { prop, list, not })
    }

    fn string(&mut self) -> R<String> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(format!("expected a string literal {}", self.found())),
        }
    }

    fn unary(&mut self, depth: usize) -> R<Expr> {
        let depth = deeper(depth)?;
        match self.peek() {
            Some(Tok::Sym("+")) => {
                self.pos += 1;
                self.unary(depth)
            }
            Some(Tok::Sym("-")) => {
                self.pos += 1;
                Ok(Expr::Neg(Box::new(self.unary(depth)?)))
            }
            Some(Tok::Kw("NOT")) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(as_boolean(self.unary(depth)?)?)))
            }
            _ => self.primary(depth),
        }
    }

    fn primary(&mut self, depth: usize) -> R<Expr> {
        let Some(t) = self.peek().cloned() else {
            return Err("expected a value but the expression ended".into());
        };
        self.pos += 1;
        Ok(match t {
            Tok::Str(s) => Expr::Lit(Literal::Str(s)),
            Tok::Dec(d) => Expr::Lit(decimal(&d)?),
            Tok::Float(f) => Expr::Lit(float(&f)?),
            Tok::Kw("TRUE") => Expr::Lit(Literal::Bool(true)),
            Tok::Kw("FALSE") => Expr::Lit(Literal::Bool(false)),
            Tok::Kw("NULL") => Expr::Lit(Literal::Null),
            Tok::Id(name) => Expr::Prop(name),
            Tok::Sym("(") => {
                let e = self.or(depth)?;
                self.expect(&Tok::Sym(")"))?;
                e
            }
            other => {
                self.pos -= 1;
                return Err(format!("expected a value, got {}", show(&other)));
            }
        })
    }
}

fn deeper(depth: usize) -> R<usize> {
    if depth >= MAX_DEPTH {
        Err(format!("expression nested deeper than {MAX_DEPTH}"))
    } else {
        Ok(depth + 1)
    }
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Kw(k) | Tok::Sym(k) => format!("\"{k}\""),
        Tok::Id(s) => format!("property {s}"),
        Tok::Dec(s) | Tok::Float(s) => format!("number {s}"),
        Tok::Str(s) => format!("string '{s}'"),
    }
}

/// Decimal literals: an `int` when they fit, else a `long`; larger ones are
/// refused (upstream: only the Java long range).
fn decimal(d: &str) -> R<Literal> {
    let v: i64 = d
        .parse()
        .map_err(|_| format!("{d} is out of the long range"))?;
    Ok(i32::try_from(v).map_or(Literal::Long(v), Literal::Int))
}

/// Floating literals: finite and not below the smallest positive double
/// (so upstream refuses `0.0` too).
fn float(f: &str) -> R<Literal> {
    let v: f64 = f.parse().map_err(|_| format!("bad number {f}"))?;
    if v.is_infinite() {
        return Err(format!("{f} is greater than the largest double"));
    }
    if v < f64::from_bits(1) {
        return Err(format!("{f} is less than the smallest positive double"));
    }
    Ok(Literal::Double(v))
}

/// True for the node kinds upstream builds as boolean expressions.
fn is_boolean(e: &Expr) -> bool {
    !matches!(
        e,
        Expr::Prop(_)
            | Expr::Neg(_)
            | Expr::Lit(Literal::Int(_) | Literal::Long(_) | Literal::Double(_) | Literal::Str(_))
    )
}

/// Where a condition is needed: a boolean, or a property (read as one).
fn as_boolean(e: Expr) -> R<Expr> {
    if is_boolean(&e) || matches!(e, Expr::Prop(_)) {
        Ok(e)
    } else {
        Err(format!(
            "expression will not result in a boolean value: {e}"
        ))
    }
}

/// Operands of `<`, `<=`, `>`, `>=`, BETWEEN: no string, boolean or null
/// constant and no condition.
fn check_ordered(e: &Expr) -> R<()> {
    let bad = match e {
        Expr::Lit(l) => !matches!(l, Literal::Int(_) | Literal::Long(_) | Literal::Double(_)),
        Expr::Prop(_) | Expr::Neg(_) => false,
        _ => true,
    };
    if bad {
        Err(format!("value '{e}' cannot be compared"))
    } else {
        Ok(())
    }
}

/// Operands of `=`, `<>`: no NULL constant; a boolean constant only
/// against a boolean constant.
fn check_equal(l: &Expr, r: &Expr) -> R<()> {
    for e in [l, r] {
        if matches!(e, Expr::Lit(Literal::Null)) {
            return Err("'NULL' cannot be compared (use IS NULL)".into());
        }
    }
    if let (Expr::Lit(Literal::Bool(_)), Expr::Lit(rl)) = (l, r) {
        if !matches!(rl, Literal::Bool(_)) {
            return Err(format!("'{l}' cannot be compared with '{r}'"));
        }
    }
    Ok(())
}
