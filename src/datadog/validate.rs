//! Query validation before sending (spec §8.3 step 1): a query must be non-blank, must not hold a
//! top-level comma (it would split into two queries of the comma-joined batch), and its `() {} []`
//! and quotes must be balanced. The texts are the DCA's.

/// Why a query cannot be sent, in the DCA's words.
pub fn validate(query: &str) -> Result<(), String> {
    if query.trim().is_empty() {
        return Err("query is empty".into());
    }
    let mut open: Vec<char> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in query.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '{' | '[' => open.push(c),
            // The pop is wanted either way: a matching closer just ends its group.
            ')' | '}' | ']' if open.pop().map(closer) != Some(c) => {
                return Err(format!("unbalanced delimiter '{c}'"));
            }
            ',' if open.is_empty() => return Err("query contains a top-level comma".into()),
            _ => {}
        }
    }
    if quote.is_some() {
        return Err("query contains an unterminated quoted string".into());
    }
    match open.last() {
        Some(o) => Err(format!("query contains an unclosed delimiter '{o}'")),
        None => Ok(()),
    }
}

fn closer(open: char) -> char {
    match open {
        '(' => ')',
        '{' => '}',
        _ => ']',
    }
}

#[cfg(test)]
mod tests {
    use super::validate;
    use proptest::prelude::*;

    #[test]
    fn dca_examples() {
        assert_eq!(validate("avg:requests{env:prod}"), Ok(()));
        assert_eq!(validate("moving_rollup(avg:requests{env:prod,service:web}, 300, 'sum')"), Ok(()));
        assert_eq!(validate("avg:requests{value:\"a,b\"}"), Ok(()));
        assert_eq!(validate("avg:requests{value:'a\\'b'}"), Ok(()));
        assert_eq!(validate("  ").unwrap_err(), "query is empty");
        assert_eq!(validate("a{*},b{*}").unwrap_err(), "query contains a top-level comma");
        assert_eq!(validate("a{*})").unwrap_err(), "unbalanced delimiter ')'");
        assert_eq!(validate("a{*]").unwrap_err(), "unbalanced delimiter ']'");
        assert_eq!(validate("a{*").unwrap_err(), "query contains an unclosed delimiter '{'");
        assert_eq!(validate("a{'*}").unwrap_err(), "query contains an unterminated quoted string");
    }

    /// A query built from balanced pieces with commas only inside delimiters.
    fn balanced() -> impl Strategy<Value = String> {
        let leaf = "[a-z0-9_.:*]{1,8}";
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}{{{b}}}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("f({a}, {b})")),
                (inner.clone(), "[a-z, ]{0,6}").prop_map(|(a, s)| format!("{a}['{s}']")),
                (inner.clone(), inner).prop_map(|(a, b)| format!("{a} + {b}")),
            ]
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(s in any::<String>()) {
            let _ = validate(&s);
        }

        #[test]
        fn balanced_queries_are_valid(q in balanced()) {
            prop_assert_eq!(validate(&q), Ok(()));
        }

        #[test]
        fn joining_two_valid_queries_is_invalid(a in balanced(), b in balanced()) {
            prop_assert_eq!(validate(&format!("{a},{b}")), Err("query contains a top-level comma".to_string()));
        }
    }
}
