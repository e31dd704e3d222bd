use std::collections::BTreeMap;

use serde_json::json;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn parse_err(s: &str) -> String {
    match LabelSelector::parse(s) {
        Ok(sel) => panic!("{s:?} parsed as {sel}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn equality_operators() {
    let app = labels(&[("app", "web"), ("tier", "fe")]);
    for s in ["app=web", "app==web", "app = web", " app ==  web "] {
        assert!(LabelSelector::parse(s).unwrap().matches(&app), "{s}");
    }
    assert!(!LabelSelector::parse("app=db").unwrap().matches(&app));
    assert!(LabelSelector::parse("app!=db").unwrap().matches(&app));
    assert!(!LabelSelector::parse("app!=web").unwrap().matches(&app));
    // != matches objects without the label
    assert!(LabelSelector::parse("env!=prod").unwrap().matches(&app));
    // empty value after = means ""
    let empty = LabelSelector::parse("app=").unwrap();
    assert!(empty.matches(&labels(&[("app", "")])));
    assert!(!empty.matches(&app));
}

#[test]
fn set_operators_and_existence() {
    let app = labels(&[("app", "web")]);
    let sel = LabelSelector::parse("app in (web, db)").unwrap();
    assert!(sel.matches(&app));
    assert!(!sel.matches(&labels(&[])));
    assert!(!LabelSelector::parse("app in (db)").unwrap().matches(&app));
    assert!(LabelSelector::parse("app notin (db,cache)").unwrap().matches(&app));
    assert!(LabelSelector::parse("x notin (a)").unwrap().matches(&app));
    assert!(!LabelSelector::parse("app notin (web)").unwrap().matches(&app));
    assert!(LabelSelector::parse("app").unwrap().matches(&app));
    assert!(!LabelSelector::parse("other").unwrap().matches(&app));
    assert!(LabelSelector::parse("!other").unwrap().matches(&app));
    assert!(!LabelSelector::parse("! app").unwrap().matches(&app));
    // `in` is a plain value inside the list
    assert!(LabelSelector::parse("app in (in,notin)").unwrap().matches(&labels(&[("app", "in")])));
}

#[test]
fn conjunction_whitespace_and_display() {
    let sel = LabelSelector::parse("tier=fe,\tapp in (web,db) , !canary,env").unwrap();
    assert_eq!(sel.to_string(), "app in (db,web),!canary,env,tier=fe");
    assert!(sel.matches(&labels(&[("app", "db"), ("tier", "fe"), ("env", "")])));
    assert!(!sel.matches(&labels(&[("app", "db"), ("tier", "fe")])));
    assert!(LabelSelector::parse("").unwrap().is_empty());
    assert!(LabelSelector::parse("  ").unwrap().is_empty());
    assert!(LabelSelector::everything().matches(&labels(&[])));
}

#[test]
fn empty_value_sets() {
    let sel = LabelSelector::parse("a in ()").unwrap();
    assert!(sel.matches(&labels(&[("a", "")])));
    let sel = LabelSelector::parse("a in (,x)").unwrap();
    assert_eq!(sel.to_string(), "a in (,x)");
}

#[test]
fn greater_and_less_than() {
    let l = labels(&[("n", "5")]);
    assert!(LabelSelector::parse("n>3").unwrap().matches(&l));
    assert!(!LabelSelector::parse("n<3").unwrap().matches(&l));
    assert!(!LabelSelector::parse("n>3").unwrap().matches(&labels(&[("n", "x")])));
    assert_eq!(
        parse_err("n>x"),
        r#"unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer"#
    );
}

#[test]
fn syntax_errors() {
    assert_eq!(parse_err("a b"), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    assert_eq!(parse_err("a=b,"), "found '', expected: identifier after ','");
    assert_eq!(parse_err("a=b c"), "found 'c', expected: ',' or 'end of string'");
    assert_eq!(parse_err("=a"), "found '=', expected: !, identifier, or 'end of string'");
    assert_eq!(parse_err("a in b"), "unable to parse requirement: found 'b' expected: '('");
    assert_eq!(parse_err("a in (b"), "unable to parse requirement: found '', expected: ',' or ')'");
    assert_eq!(parse_err("a in (="), "unable to parse requirement: found '=', expected: ',', ')' or identifier");
    assert_eq!(parse_err("a=(b)"), "unable to parse requirement: found '(', expected: identifier");
    assert_eq!(parse_err("!"), "unable to parse requirement: found '', expected: identifier");
}

#[test]
fn validation_errors() {
    assert_eq!(
        parse_err("app:monolith"),
        "unable to parse requirement: <nil>: Invalid value: \"app:monolith\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    );
    assert_eq!(
        parse_err("Example.com/x=1"),
        "unable to parse requirement: <nil>: Invalid value: \"Example.com/x\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
    assert!(parse_err("a/b/c=d").contains("Invalid value: \"a/b/c\": a qualified name must consist of"));
    let long = "k".repeat(64);
    assert_eq!(
        parse_err(&long),
        format!(
            "unable to parse requirement: <nil>: Invalid value: \"{long}\": name part must be no more than 63 characters"
        )
    );
    assert_eq!(
        parse_err("app=a@b"),
        "unable to parse requirement: values[0][app]: Invalid value: \"a@b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    );
    assert!(LabelSelector::parse("example.com/app_x.y-z=v_1.2-3").is_ok());
    let err = parse_err(&format!("a={}", "v".repeat(64)));
    assert!(err.ends_with("must be no more than 63 characters"), "{err}");
}

#[test]
fn matches_object_reads_metadata_labels() {
    let sel = LabelSelector::parse("app=web").unwrap();
    assert!(sel.matches_object(&json!({"metadata": {"labels": {"app": "web"}}})));
    assert!(!sel.matches_object(&json!({"metadata": {}})));
    assert!(!sel.matches_object(&json!({})));
    assert!(LabelSelector::parse("!app").unwrap().matches_object(&json!({})));
}

#[test]
fn from_json_all_operators() {
    let sel = LabelSelector::from_json(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
            {"key": "team", "operator": "Exists"},
            {"key": "canary", "operator": "DoesNotExist", "values": []}
        ]
    }))
    .unwrap();
    let good = labels(&[("app", "web"), ("tier", "fe"), ("team", "x")]);
    assert!(sel.matches(&good));
    let mut bad = good.clone();
    bad.insert("canary".into(), "1".into());
    assert!(!sel.matches(&bad));
    let mut prod = good.clone();
    prod.insert("env".into(), "prod".into());
    assert!(!sel.matches(&prod));
    assert!(LabelSelector::from_json(&json!({})).unwrap().is_empty());
    assert!(LabelSelector::from_json(&json!({"matchLabels": {}})).unwrap().matches(&labels(&[])));
}

#[test]
fn from_json_errors() {
    let err = |v| LabelSelector::from_json(&v).unwrap_err().to_string();
    assert_eq!(
        err(json!({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]})),
        "\"Equals\" is not a valid label selector operator"
    );
    assert_eq!(
        err(json!({"matchExpressions": [{"key": "a", "operator": "In"}]})),
        "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"
    );
    assert_eq!(
        err(json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})),
        "values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist"
    );
    assert!(err(json!({"matchLabels": {"a b": "x"}})).starts_with("key: Invalid value: \"a b\": name part"));
    assert_eq!(
        err(json!({"matchLabels": "x"})),
        "json: cannot unmarshal string into Go struct field LabelSelector.matchLabels of type map[string]string"
    );
}

#[test]
fn field_selector_parse_and_match() {
    let sel = FieldSelector::parse("metadata.name=web,status.phase!=Failed,spec.nodeName==n1").unwrap();
    let mut fields: Vec<&str> = sel.fields().collect();
    fields.sort_unstable();
    assert_eq!(fields, ["metadata.name", "spec.nodeName", "status.phase"]);
    let get = |f: &str| match f {
        "metadata.name" => Some("web".to_owned()),
        "spec.nodeName" => Some("n1".to_owned()),
        _ => None,
    };
    assert!(sel.matches(&get));
    assert!(!FieldSelector::parse("spec.nodeName=").unwrap().matches(&get));
    assert!(FieldSelector::parse("status.phase=").unwrap().matches(&get));
    assert!(FieldSelector::parse("").unwrap().is_empty());
    assert!(FieldSelector::everything().matches(&get));
}

#[test]
fn field_selector_escapes_and_errors() {
    let sel = FieldSelector::parse(r"metadata.name=a\,b\=c\\d").unwrap();
    assert!(sel.matches(&|_| Some(r"a,b=c\d".to_owned())));
    let err = |s| FieldSelector::parse(s).unwrap_err().to_string();
    assert_eq!(err("a=b,c"), "invalid selector: 'a=b,c'; can't understand 'c'");
    assert_eq!(err(r"a=b\x"), r"invalid field selector: invalid escape sequence: \x");
    assert_eq!(err(r"a=b\"), r"invalid field selector: invalid escape sequence: \");
    assert_eq!(err("a=b=c"), "invalid field selector: unescaped character in value: 61");
}
