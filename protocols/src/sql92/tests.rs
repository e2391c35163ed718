use proptest::prelude::*;

use super::*;

fn sel(expr: &str, props: &[(&str, &str)]) -> bool {
    let e = compile(expr).unwrap_or_else(|err| panic!("{expr}: {err}"));
    e.matches(&|k| props.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| *v))
}

const P: &[(&str, &str)] = &[
    ("a", "3"),
    ("b", "3000000000"),
    ("f", "1.5"),
    ("s", "abc"),
    ("TAGS", "TagA"),
    ("flag", "true"),
];

#[test]
fn comparisons_convert_the_property_to_the_literal_type() {
    let cases = [
        ("a = 3", true),
        ("a <> 3", false),
        ("a > 2", true),
        ("a >= 3", true),
        ("a < 3", false),
        ("a <= 3", true),
        ("a > 2.5", true),
        ("a = 3.0", true),
        ("b > 2999999999", true),
        // an int literal reads the property as an int: too big, no match
        ("b > 5", false),
        ("f > 1", false),
        ("f > 1.0", true),
        ("f < 2E0", true),
        ("-a < 0", false), // the property is a string: its negation is NULL
        ("a > -1", true),
        ("s = 'abc'", true),
        ("s <> 'abd'", true),
        ("s = 3", false), // conversion fails: no match
        ("s <> 3", false),
        ("a = '3'", true),
        ("flag = TRUE", true),
        ("TAGS = 'TagA'", true),
        ("TAGS = 'taga'", false),
    ];
    for (e, want) in cases {
        assert_eq!(sel(e, P), want, "{e}");
    }
}

#[test]
fn missing_properties_are_null_and_never_match() {
    let cases = [
        ("x = 1", false),
        ("x <> 1", false),
        ("NOT (x = 1)", false),
        ("x > 1 OR a = 3", true),
        ("x > 1 AND a = 3", false),
        ("NOT (x > 1 AND a = 4)", true), // FALSE decides the AND
        ("x IS NULL", true),
        ("x IS NOT NULL", false),
        ("a IS NOT NULL", true),
        ("x IN ('a')", false),
        ("x NOT IN ('a')", false),
        ("x BETWEEN 1 AND 2", false),
        ("x NOT BETWEEN 1 AND 2", false),
    ];
    for (e, want) in cases {
        assert_eq!(sel(e, P), want, "{e}");
    }
}

#[test]
fn between_in_and_logic() {
    let cases = [
        ("a BETWEEN 1 AND 3", true),
        ("a BETWEEN 4 AND 5", false),
        ("a NOT BETWEEN 4 AND 5", true),
        ("a NOT BETWEEN 1 AND 3", false),
        ("s IN ('x', 'abc')", true),
        ("s NOT IN ('x', 'abc')", false),
        ("TAGS IN ('TagA', 'TagB') AND a > 1", true),
        ("(a > 5 OR s = 'abc') AND NOT (a = 4)", true),
        ("TRUE", true),
        ("FALSE", false),
        ("NULL", false),
        ("a", false), // a property read as a condition is never TRUE
        ("NOT a", true),
        ("not A = 3", false), // property names are case-sensitive; A is NULL
        ("a = 3 -- comment\n", true),
        ("/* c */ a = 3", true),
        ("a = 3L", true),
    ];
    for (e, want) in cases {
        assert_eq!(sel(e, P), want, "{e}");
    }
}

#[test]
fn strings_order_only_as_numbers() {
    assert!(sel("a < b", P));
    assert!(!sel("s < a", P)); // 'abc' is not a number: no match
}

#[test]
fn upstream_refusals() {
    for bad in [
        "",
        "a =",
        "a = NULL",
        "NULL = a",
        "a > 'x'",
        "a > TRUE",
        "(a > 1) > 2",
        "NOT a > 1",
        "a BETWEEN 5 AND 1",
        "a BETWEEN 'a' AND 'b'",
        "1 IN ('a')",
        "a IN (1, 2)",
        "a IN ()",
        "5",
        "'x'",
        "a = 1 b = 2",
        "a > 0.0",
        "a > 9223372036854775808",
        "a = 007",
        "TRUE = 1",
        "a LIKE 'x'",
        "a = 'x",
        "a = 1 -- no newline",
        "/* open",
        "a.b = 1",
        "a = 1)",
        "(a = 1",
    ] {
        assert!(compile(bad).is_err(), "{bad:?} should not compile");
    }
    assert!(compile("1 = TRUE").is_ok()); // only a leading boolean constant is checked
    assert!(compile(&"(".repeat(5000)).is_err());
    assert!(compile(&"NOT ".repeat(5000)).is_err());
    let chain = "a IS NULL".to_owned() + &" IS NULL".repeat(3000);
    assert!(compile(&chain).is_err());
}

#[test]
fn keywords_are_case_insensitive_and_names_are_not() {
    assert!(sel("a between 1 and 3 AnD s in ('abc') or FALSE", P));
    let e = compile("andy = 1").unwrap();
    assert_eq!(e.to_string(), "(andy = 1)");
}

#[test]
fn error_text_names_the_selector() {
    let e = compile("a >").unwrap_err();
    assert!(
        e.to_string().starts_with("Invalid MessageSelector. "),
        "{e}"
    );
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_$][a-zA-Z0-9_$]{0,6}".prop_filter("not a keyword", |s| {
        ![
            "NOT", "AND", "OR", "BETWEEN", "IN", "TRUE", "FALSE", "NULL", "IS",
        ]
        .contains(&s.to_ascii_uppercase().as_str())
    })
}

fn number() -> impl Strategy<Value = Expr> {
    prop_oneof![
        any::<i32>().prop_map(|v| Expr::Lit(Literal::Int(v.max(0)))),
        (i64::from(i32::MAX) + 1..i64::MAX).prop_map(|v| Expr::Lit(Literal::Long(v))),
        (1e-300f64..1e300).prop_map(|v| Expr::Lit(Literal::Double(v))),
    ]
}

fn operand() -> impl Strategy<Value = Expr> {
    prop_oneof![
        name().prop_map(Expr::Prop),
        number(),
        number().prop_map(|n| Expr::Neg(Box::new(n))),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    let op = prop_oneof![
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge)
    ];
    prop_oneof![
        (op, operand(), operand()).prop_map(|(o, l, r)| Expr::Cmp(o, Box::new(l), Box::new(r))),
        (name(), "[ -~]{0,5}", any::<bool>()).prop_map(|(p, s, eq)| Expr::Cmp(
            if eq { CmpOp::Eq } else { CmpOp::Ne },
            Box::new(Expr::Prop(p)),
            Box::new(Expr::Lit(Literal::Str(s)))
        )),
        (name(), any::<bool>()).prop_map(|(p, n)| Expr::IsNull(Box::new(Expr::Prop(p)), n)),
        (
            name(),
            proptest::collection::vec("[ -~]{0,4}", 1..4),
            any::<bool>()
        )
            .prop_map(|(prop, list, not)| Expr::In { prop, list, not }),
        (name(), operand(), any::<bool>()).prop_map(|(p, o, not)| Expr::Between {
            value: Box::new(Expr::Prop(p)),
            low: Box::new(o.clone()),
            high: Box::new(Expr::Neg(Box::new(o))),
            not,
        }),
        any::<bool>().prop_map(|b| Expr::Lit(Literal::Bool(b))),
    ]
}

fn tree() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn soup() -> impl Strategy<Value = String> {
    let tok = prop_oneof![
        Just("a".to_owned()),
        Just("TAGS".to_owned()),
        Just("'x'".to_owned()),
        Just("''''".to_owned()),
        Just("1".to_owned()),
        Just("2.5".to_owned()),
        Just(".5E3".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(",".to_owned()),
        Just("NOT".to_owned()),
        Just("AND".to_owned()),
        Just("OR".to_owned()),
        Just("BETWEEN".to_owned()),
        Just("IN".to_owned()),
        Just("IS".to_owned()),
        Just("NULL".to_owned()),
        Just("TRUE".to_owned()),
        Just("=".to_owned()),
        Just("<>".to_owned()),
        Just("<".to_owned()),
        Just(">=".to_owned()),
        Just("-".to_owned()),
        Just("+".to_owned()),
        Just("--\n".to_owned()),
        "[ -~]{0,3}",
    ];
    proptest::collection::vec(tok, 0..24).prop_map(|v| v.join(" "))
}

proptest! {
    #[test]
    fn display_round_trips(e in tree()) {
        let text = e.to_string();
        let back = compile(&text).map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
        prop_assert_eq!(back, e);
    }

    #[test]
    fn never_panics_on_token_soup(s in soup(), a in "[ -~]{0,4}") {
        if let Ok(e) = compile(&s) {
            let _ = e.matches(&|k| (k == "a").then_some(a.as_str()));
            prop_assert!(compile(&e.to_string()).is_ok(), "{} -> {}", s, e);
        }
    }

    #[test]
    fn never_panics_on_any_text(s in "\\PC{0,64}") {
        let _ = compile(&s);
    }
}
