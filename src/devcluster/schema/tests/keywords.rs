//! Keyword, extension and formatting cases on small inline schemas.

use serde_json::{Value, json};

use super::super::formats::KUBE_FORMATS;
use super::super::gofmt;
use super::super::{StructuralSchema, invalid_message};
use super::{admit, cause, causes_for, spec_with};

#[test]
fn defaults_never_create_absent_parents() {
    let schema = StructuralSchema::new(&json!({
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {
                "parent": {"type": "object", "properties": {"leaf": {"type": "string", "default": "d"}}},
                "list": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer", "default": 7}}}}
            }}
        }
    }))
    .expect("compiles");
    let mut obj = json!({"spec": {}});
    schema.apply_defaults(&mut obj);
    assert_eq!(obj, json!({"spec": {}}));
    let mut obj = json!({"spec": {"parent": {}, "list": [{}, {"n": 1}]}});
    schema.apply_defaults(&mut obj);
    assert_eq!(obj, json!({"spec": {"parent": {"leaf": "d"}, "list": [{"n": 7}, {"n": 1}]}}));
}

#[test]
fn nullable_and_null_handling() {
    let schema = StructuralSchema::new(&json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {
            "opt": {"type": "string", "nullable": true},
            "plain": {"type": "string"},
            "withDefault": {"type": "string", "default": "dflt"},
            "list": {"type": "array", "items": {"type": "string"}}
        }}}
    }))
    .expect("compiles");
    let mut obj = json!({"spec": {"opt": null, "plain": null, "withDefault": null, "list": ["a", null]}});
    let (_, causes) = admit(&schema, &mut obj);
    // nullable null kept; non-nullable null dropped, or defaulted when a default exists.
    assert_eq!(obj["spec"]["opt"], Value::Null);
    assert!(obj["spec"].get("plain").is_none());
    assert_eq!(obj["spec"]["withDefault"], "dflt");
    // A null list item is not dropped: it fails the type check.
    let expected = cause(
        "FieldValueTypeInvalid",
        "Invalid value: \"null\": spec.list[1] in body must be of type string: \"null\"",
        "spec.list[1]",
    );
    assert_eq!(causes, vec![expected]);
}

#[test]
fn enum_minimum_pattern_messages() {
    let e = spec_with(json!({"type": "string", "enum": ["a", "b"]}));
    assert_eq!(causes_for(&e, json!("a")), vec![]);
    assert_eq!(
        causes_for(&e, json!("x")),
        vec![cause("FieldValueNotSupported", "Unsupported value: \"x\": supported values: \"a\", \"b\"", "spec.x")]
    );
    let m = spec_with(json!({"type": "integer", "minimum": 1}));
    assert_eq!(
        causes_for(&m, json!(0)),
        vec![cause(
            "FieldValueInvalid",
            "Invalid value: 0: spec.x in body should be greater than or equal to 1",
            "spec.x"
        )]
    );
    let p = spec_with(json!({"type": "string", "pattern": "^[a-z]+$"}));
    assert_eq!(causes_for(&p, json!("abc")), vec![]);
    assert_eq!(
        causes_for(&p, json!("ABC")),
        vec![cause("FieldValueInvalid", "Invalid value: \"ABC\": spec.x in body should match '^[a-z]+$'", "spec.x")]
    );
}

#[test]
fn numeric_and_size_keyword_messages() {
    let cases = [
        (
            json!({"type": "number", "maximum": 1.5}),
            json!(2.25),
            "FieldValueInvalid",
            "Invalid value: 2.25: spec.x in body should be less than or equal to 1.5",
        ),
        (
            json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true}),
            json!(1),
            "FieldValueInvalid",
            "Invalid value: 1: spec.x in body should be greater than 1",
        ),
        (
            json!({"type": "integer", "multipleOf": 5}),
            json!(7),
            "FieldValueInvalid",
            "Invalid value: 7: spec.x in body should be a multiple of 5",
        ),
        (
            json!({"type": "string", "minLength": 3}),
            json!("ab"),
            "FieldValueInvalid",
            "Invalid value: \"ab\": spec.x in body should be at least 3 chars long",
        ),
        (
            json!({"type": "string", "maxLength": 2}),
            json!("abc"),
            "FieldValueTooLong",
            "Too long: may not be longer than 2",
        ),
        (
            json!({"type": "array", "items": {"type": "integer"}, "minItems": 1}),
            json!([]),
            "FieldValueInvalid",
            "Invalid value: 0: spec.x in body should have at least 1 items",
        ),
        (
            json!({"type": "array", "items": {"type": "integer"}, "maxItems": 1}),
            json!([1, 2]),
            "FieldValueTooMany",
            "Too many: 2: must have at most 1 items",
        ),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1}),
            json!({"a": "1", "b": "2"}),
            "FieldValueTooMany",
            "Too many: 2: must have at most 1 items",
        ),
        (
            json!({"type": "string", "format": "date-time"}),
            json!("yesterday"),
            "FieldValueTypeInvalid",
            "Invalid value: \"yesterday\": spec.x in body must be of type date-time: \"yesterday\"",
        ),
        (
            json!({"type": "string", "format": "uuid"}),
            json!("nope"),
            "FieldValueTypeInvalid",
            "Invalid value: \"nope\": spec.x in body must be of type uuid: \"nope\"",
        ),
    ];
    for (schema, value, reason, message) in cases {
        let schema = spec_with(schema);
        assert_eq!(causes_for(&schema, value), vec![cause(reason, message, "spec.x")], "{message}");
    }
}

#[test]
fn formats_accept_valid_values_and_ignore_annotations() {
    let cases = [
        ("date-time", json!("2020-06-22T14:38:21Z")),
        ("date-time", json!("2020-06-22T14:38:21.123+02:00")),
        ("date", json!("2024-02-29")),
        ("uuid", json!("123e4567-e89b-12d3-a456-426614174000")),
        ("byte", json!("aGVsbG8=")),
        ("int32", json!(5)),
        ("int64", json!(5)),
        ("duration", json!("1h30m")),
        ("ipv4", json!("10.0.0.1")),
        ("cidr", json!("10.0.0.0/8")),
    ];
    for (format, value) in cases {
        let kind = if value.is_string() { "string" } else { "integer" };
        let schema = spec_with(json!({"type": kind, "format": format}));
        assert_eq!(causes_for(&schema, value.clone()), vec![], "{format} {value}");
    }
    for (name, check) in KUBE_FORMATS {
        // Forces every lazily compiled pattern; none may panic.
        let _ = check("x");
        assert!(!name.is_empty());
    }
}

#[test]
fn int_or_string() {
    let schema = spec_with(json!({
        "x-kubernetes-int-or-string": true,
        "anyOf": [{"type": "integer"}, {"type": "string"}]
    }));
    assert_eq!(causes_for(&schema, json!(5)), vec![]);
    assert_eq!(causes_for(&schema, json!("50%")), vec![]);
    let causes = causes_for(&schema, json!(true));
    assert_eq!(
        causes[0],
        cause(
            "FieldValueTypeInvalid",
            "Invalid value: \"boolean\": spec.x in body must be of type integer,string: \"boolean\"",
            "spec.x"
        )
    );
    assert!(causes.iter().any(|c| c.message.contains("must validate at least one schema (anyOf)")), "{causes:#?}");
}

#[test]
fn list_type_set_duplicates() {
    let schema = spec_with(json!({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}));
    assert_eq!(causes_for(&schema, json!(["a", "b"])), vec![]);
    assert_eq!(
        causes_for(&schema, json!(["a", "b", "a", "a"])),
        vec![cause("FieldValueDuplicate", "Duplicate value: \"a\"", "spec.x[2]")]
    );
}

#[test]
fn list_type_map_duplicate_keys() {
    let schema = spec_with(json!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name", "port"],
        "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"},
            "port": {"type": "integer", "default": 80},
            "note": {"type": "string"}
        }}
    }));
    assert_eq!(causes_for(&schema, json!([{"name": "a"}, {"name": "a", "port": 81}])), vec![]);
    let causes = causes_for(&schema, json!([{"name": "a", "note": "1"}, {"name": "a", "port": 80}]));
    let message = "Duplicate value: map[string]interface {}{\"name\":\"a\", \"port\":80}";
    assert_eq!(causes, vec![cause("FieldValueDuplicate", message, "spec.x[1]")]);
}

#[test]
fn composite_keywords() {
    let one_of = spec_with(json!({"type": "integer", "oneOf": [{"minimum": 5}, {"maximum": 1}]}));
    assert_eq!(causes_for(&one_of, json!(7)), vec![]);
    let causes = causes_for(&one_of, json!(3));
    assert_eq!(
        causes[0],
        cause(
            "FieldValueInvalid",
            "Invalid value: \"\": \"spec.x\" must validate one and only one schema (oneOf). Found none valid",
            "<nil>"
        )
    );
    let not = spec_with(json!({"type": "string", "not": {"enum": ["forbidden"]}}));
    assert_eq!(
        causes_for(&not, json!("forbidden")),
        vec![cause("FieldValueInvalid", "Invalid value: \"\": \"spec.x\" must not validate the schema (not)", "<nil>")]
    );
    let all_of = spec_with(json!({"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]}));
    assert_eq!(causes_for(&all_of, json!(2)), vec![]);
    assert_eq!(
        causes_for(&all_of, json!(4)),
        vec![
            cause("FieldValueInvalid", "Invalid value: 4: spec.x in body should be less than or equal to 3", "spec.x"),
            cause(
                "FieldValueInvalid",
                "Invalid value: \"\": \"spec.x\" must validate all the schemas (allOf)",
                "<nil>"
            ),
        ]
    );
    let nested = spec_with(json!({
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "allOf": [{"properties": {"a": {"minimum": 1}}}]
    }));
    let causes = causes_for(&nested, json!({"a": 0}));
    assert_eq!(causes[0].message, "Invalid value: 0: spec.x.a in body should be greater than or equal to 1");
    assert_eq!(
        causes[1].message,
        "Invalid value: \"\": \"spec.x\" must validate all the schemas (allOf). None validated"
    );
}

#[test]
fn preserve_unknown_fields_and_embedded_resources() {
    let schema = StructuralSchema::new(&json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                     "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}},
            "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                         "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}
        }}}
    }))
    .expect("compiles");
    let mut obj = json!({"spec": {
        "free": {"anything": {"goes": 1}, "known": {"a": "x", "b": "pruned"}},
        "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 1},
                     "spec": {"replicas": 1, "other": true}},
        "labels": {"k": "v"}
    }});
    let (mut pruned, causes) = admit(&schema, &mut obj);
    pruned.sort();
    assert_eq!(pruned, vec![".spec.free.known.b", ".spec.template.metadata.junk", ".spec.template.spec.other"]);
    assert_eq!(obj["spec"]["free"]["anything"], json!({"goes": 1}));
    assert_eq!(obj["spec"]["template"]["kind"], "Pod");
    assert_eq!(obj["spec"]["labels"], json!({"k": "v"}));
    assert_eq!(causes, vec![]);

    let mut obj = json!({"spec": {"template": {"kind": ""}}});
    let (_, causes) = admit(&schema, &mut obj);
    assert_eq!(
        causes,
        vec![
            cause("FieldValueRequired", "Required value: must not be empty", "spec.template.apiVersion"),
            cause("FieldValueInvalid", "Invalid value: \"\": must not be empty", "spec.template.kind"),
        ]
    );
}

#[test]
fn described_metadata_is_left_alone() {
    let schema = StructuralSchema::new(&json!({
        "type": "object",
        "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}}
    }))
    .expect("compiles");
    let mut obj = json!({"metadata": {"name": "n", "custom": 1}});
    assert_eq!(schema.prune(&mut obj), Vec::<String>::new());
    assert_eq!(obj["metadata"]["custom"], 1);
}

#[test]
fn non_object_schema_is_rejected() {
    assert!(StructuralSchema::new(&json!("nope")).is_err());
}

#[test]
fn invalid_message_formats() {
    let one = [cause("FieldValueRequired", "Required value", "spec.owner")];
    assert_eq!(
        invalid_message("DatadogPodAutoscaler", "datadoghq.com", "web", &one),
        "DatadogPodAutoscaler.datadoghq.com \"web\" is invalid: spec.owner: Required value"
    );
    let two = [
        cause("FieldValueRequired", "Required value", "spec.owner"),
        cause("FieldValueRequired", "Required value", "spec.targetRef"),
        cause("FieldValueRequired", "Required value", "spec.owner"),
    ];
    assert_eq!(
        invalid_message("DatadogPodAutoscaler", "datadoghq.com", "web", &two),
        "DatadogPodAutoscaler.datadoghq.com \"web\" is invalid: [spec.owner: Required value, spec.targetRef: Required value]"
    );
    assert_eq!(invalid_message("Pod", "", "p", &one), "Pod \"p\" is invalid: spec.owner: Required value");
}

#[test]
fn go_formatting() {
    assert_eq!(gofmt::float(1.5), "1.5");
    assert_eq!(gofmt::float(1.0), "1");
    assert_eq!(gofmt::float(1_000_000.0), "1e+06");
    assert_eq!(gofmt::float(0.00001), "1e-05");
    assert_eq!(gofmt::float(123456.0), "123456");
    assert_eq!(gofmt::quote("a\"b\n"), "\"a\\\"b\\n\"");
    assert_eq!(
        gofmt::bad_value(&json!({"b": [1], "a": null})),
        "map[string]interface {}{\"a\":interface {}(nil), \"b\":[]interface {}{1}}"
    );
}

#[test]
fn pruned_paths_use_list_indices_and_map_keys() {
    let schema = spec_with(json!({
        "type": "array",
        "items": {"type": "object", "properties": {
            "tags": {"type": "object", "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}}
        }}
    }));
    let mut obj = json!({"spec": {"x": [{"tags": {"a.b": {"v": "1", "w": 2}}}, {"junk": 1}]}});
    let (pruned, causes) = admit(&schema, &mut obj);
    assert_eq!(pruned, vec![".spec.x[0].tags.a.b.w", ".spec.x[1].junk"]);
    assert_eq!(causes, vec![]);
    assert_eq!(obj["spec"]["x"], json!([{"tags": {"a.b": {"v": "1"}}}, {}]));
}

#[test]
fn odd_documents_never_panic() {
    let schema = spec_with(json!({"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}}));
    for mut doc in
        [json!(null), json!("str"), json!([1, {"a": 2}]), json!({"spec": "x"}), json!({"spec": {"x": [1, null]}})]
    {
        let (_, causes) = admit(&schema, &mut doc);
        let _ = invalid_message("K", "g", "n", &causes);
    }
    let causes = causes_for(&schema, json!([1]));
    assert_eq!(
        causes,
        vec![
            cause(
                "FieldValueTypeInvalid",
                "Invalid value: \"integer\": spec.x[0] in body must be of type object: \"integer\"",
                "spec.x[0]"
            ),
            cause(
                "FieldValueInvalid",
                "Invalid value: 1: must be an object for an array of list-type map",
                "spec.x[0]"
            )
        ]
    );
}
