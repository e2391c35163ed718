//! Three-valued evaluation. `Ok(None)` is NULL (unknown); `Err(())` is a
//! failed conversion, which upstream raises as an exception and the broker
//! treats as "no match".

use std::cmp::Ordering;

use super::{CmpOp, Expr, Literal};

/// A value during evaluation; property values are always strings.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

type Props<'p, 'a> = &'p dyn Fn(&str) -> Option<&'a str>;
type V<'a> = Result<Option<Val<'a>>, ()>;

pub(super) fn matches<'a>(e: &'a Expr, props: Props<'_, 'a>) -> bool {
    matches!(cond(e, props), Ok(Some(true)))
}

fn lit(l: &Literal) -> Option<Val<'_>> {
    Some(match l {
        Literal::Null => return None,
        Literal::Bool(b) => Val::Bool(*b),
        Literal::Int(v) => Val::Int(*v),
        Literal::Long(v) => Val::Long(*v),
        Literal::Double(v) => Val::Double(*v),
        Literal::Str(s) => Val::Str(s),
    })
}

/// A condition: a property read as a boolean is FALSE when present (its
/// value is a string, not a boolean) and NULL when absent.
fn cond<'a>(e: &'a Expr, props: Props<'_, 'a>) -> Result<Option<bool>, ()> {
    match e {
        Expr::Prop(p) => Ok(props(p).map(|_| false)),
        _ => Ok(match value(e, props)? {
            Some(Val::Bool(b)) => Some(b),
            Some(_) => Some(false),
            None => None,
        }),
    }
}

fn value<'a>(e: &'a Expr, props: Props<'_, 'a>) -> V<'a> {
    let b = |x: Option<bool>| Ok(x.map(Val::Bool));
    match e {
        Expr::Lit(l) => Ok(lit(l)),
        Expr::Prop(p) => Ok(props(p).map(Val::Str)),
        Expr::Neg(x) => Ok(match value(x, props)? {
            Some(Val::Int(v)) => Some(Val::Int(v.wrapping_neg())),
            Some(Val::Long(v)) => Some(Val::Long(v.wrapping_neg())),
            Some(Val::Double(v)) => Some(Val::Double(-v)),
            _ => None,
        }),
        Expr::Not(x) => b(cond(x, props)?.map(|v| !v)),
        Expr::And(all) => {
            let mut unknown = false;
            for x in all {
                match cond(x, props)? {
                    Some(false) => return b(Some(false)),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            b((!unknown).then_some(true))
        }
        Expr::Or(all) => {
            let mut unknown = false;
            for x in all {
                match cond(x, props)? {
                    Some(true) => return b(Some(true)),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            b((!unknown).then_some(false))
        }
        Expr::Cmp(op, l, r) => b(compare(*op, value(l, props)?, value(r, props)?)?),
        Expr::IsNull(x, not) => b(Some(value(x, props)?.is_none() != *not)),
        Expr::Between {
            value: x,
            low,
            high,
            not,
        } => {
            let v = value(x, props)?;
            let (lo, hi) = (value(low, props)?, value(high, props)?);
            // BETWEEN is `x >= low AND x <= high`; NOT BETWEEN is
            // `x < low OR x > high`, both with their NULL rules.
            let (op_low, op_high) = if *not {
                (CmpOp::Lt, CmpOp::Gt)
            } else {
                (CmpOp::Ge, CmpOp::Le)
            };
            // AND (BETWEEN) is decided by a FALSE, OR (NOT BETWEEN) by a TRUE.
            let decisive = *not;
            // The high side is not looked at once the low side decides.
            let a = compare(op_low, v, lo)?;
            if a == Some(decisive) {
                return b(a);
            }
            let c = compare(op_high, v, hi)?;
            b(if c == Some(decisive) {
                c
            } else if a.is_some() && c.is_some() {
                Some(!decisive)
            } else {
                None
            })
        }
        Expr::In { prop, list, not } => b(props(prop).map(|v| list.iter().any(|s| s == v) != *not)),
    }
}

fn compare(op: CmpOp, l: Option<Val<'_>>, r: Option<Val<'_>>) -> Result<Option<bool>, ()> {
    if matches!(op, CmpOp::Eq | CmpOp::Ne) {
        let eq = match (l, r) {
            (None, None) => true,
            (None, Some(_)) => return Ok(None),
            (Some(_), None) => false,
            (Some(l), Some(r)) => order(l, r)? == Ordering::Equal,
        };
        return Ok(Some(eq == (op == CmpOp::Eq)));
    }
    let (Some(l), Some(r)) = (l, r) else {
        return Ok(None);
    };
    let ord = match (l, r) {
        // Strings are ordered only as numbers.
        (Val::Str(a), Val::Str(b)) => {
            java_cmp(java_double(a).ok_or(())?, java_double(b).ok_or(())?)
        }
        _ => order(l, r)?,
    };
    Ok(Some(match op {
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    }))
}

/// Order of two constants, for the BETWEEN check at compile time.
pub(super) fn literal_order(a: &Literal, b: &Literal) -> Option<Ordering> {
    order(lit(a)?, lit(b)?).ok()
}

/// Upstream's comparison with type promotion: numbers widen (int → long →
/// double), a string beside a number or boolean is converted to that type
/// (failure is an error), any other mix orders the left value first.
fn order(l: Val<'_>, r: Val<'_>) -> Result<Ordering, ()> {
    use Val::*;
    let wide = |v: Val<'_>| match v {
        Int(x) => Some(f64::from(x)),
        Long(x) => Some(x as f64),
        Double(x) => Some(x),
        _ => None,
    };
    Ok(match (l, r) {
        (Bool(a), Bool(b)) => a.cmp(&b),
        (Bool(a), Str(s)) => a.cmp(&java_bool(s)),
        (Str(s), Bool(b)) => java_bool(s).cmp(&b),
        (Str(a), Str(b)) => a.cmp(b),
        (Int(a), Int(b)) => a.cmp(&b),
        (Int(a), Long(b)) => i64::from(a).cmp(&b),
        (Long(a), Int(b)) => a.cmp(&i64::from(b)),
        (Long(a), Long(b)) => a.cmp(&b),
        (Int(a), Str(s)) => a.cmp(&s.parse::<i32>().map_err(|_| ())?),
        (Str(s), Int(b)) => s.parse::<i32>().map_err(|_| ())?.cmp(&b),
        (Long(a), Str(s)) => a.cmp(&s.parse::<i64>().map_err(|_| ())?),
        (Str(s), Long(b)) => s.parse::<i64>().map_err(|_| ())?.cmp(&b),
        (Double(a), Str(s)) => java_cmp(a, java_double(s).ok_or(())?),
        (Str(s), Double(b)) => java_cmp(java_double(s).ok_or(())?, b),
        (Bool(_), _) | (_, Bool(_)) => Ordering::Less,
        (a, b) => match (wide(a), wide(b)) {
            (Some(x), Some(y)) => java_cmp(x, y),
            _ => Ordering::Less,
        },
    })
}

/// `Boolean.valueOf`: true only for "true", any case.
fn java_bool(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// `Double.compareTo`: NaN equals itself and is above everything, -0 < 0.
fn java_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.total_cmp(&b),
    }
}

/// `Double.valueOf` for the decimal forms: surrounding control/space
/// characters trimmed, an optional sign, `NaN`, `Infinity`, or digits with
/// an optional fraction, exponent and `f`/`d` suffix.
pub(super) fn java_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..)?),
        Some(b'+') => (false, t.get(1..)?),
        _ => (false, t),
    };
    let v = match body {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let num = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
            let ok = !num.is_empty()
                && num.bytes().any(|c| c.is_ascii_digit())
                && num
                    .bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
            if !ok {
                return None;
            }
            num.parse::<f64>().ok()?
        }
    };
    Some(if neg { -v } else { v })
}
