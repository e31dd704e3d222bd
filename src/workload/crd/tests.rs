//! Round trips against the reference: every example under `reference/examples/dpa/` and, for each
//! CRD schema, objects that fill every property the schema declares (each enum value in turn) read
//! into the types and written back unchanged — so every JSON name and enum value is the CRD's.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::*;

fn reference(path: &str) -> String {
    let full = format!("{}/../shared/reference/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {full}: {e}"))
}

fn schema(file: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&reference(&format!("crds/{file}"))).unwrap();
    jsonschema::options().with_pattern_options(jsonschema::PatternOptions::regex()).build(&schema).unwrap()
}

fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Value {
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("read {value}: {e}"));
    serde_json::to_value(&typed).unwrap()
}

fn example(name: &str) -> Value {
    serde_saphyr::from_str(&reference(&format!("examples/dpa/{name}"))).unwrap()
}

#[test]
fn v1alpha2_examples_round_trip_and_match_the_schema() {
    let validator = schema("datadoghq.com_datadogpodautoscalers_v1alpha2.schema.json");
    for name in
        ["v1alpha2_annotated-skeleton.yaml", "v1alpha2_optimize-cost.yaml", "v1alpha2_rightsize-cpu-and-memory.yaml"]
    {
        let value = example(name);
        assert!(validator.is_valid(&value), "{name} does not match the CRD schema");
        assert_eq!(round_trip::<DatadogPodAutoscaler>(&value), value, "{name}");
    }
    let skeleton: DatadogPodAutoscaler = serde_json::from_value(example("v1alpha2_annotated-skeleton.yaml")).unwrap();
    let policy = skeleton.spec.apply_policy.unwrap();
    assert_eq!(policy.update.unwrap().strategy, Some(UpdateStrategy::Auto));
    assert_eq!(policy.scale_down.unwrap().rules.unwrap()[0].period_seconds, 1800);
    let container = &skeleton.spec.constraints.unwrap().containers.unwrap()[0];
    assert_eq!(container.max_allowed.as_ref().unwrap()["memory"].0, "8Gi");
}

#[test]
fn v1alpha1_scaffold_reads_and_its_conversion_names_what_is_missing() {
    let value = example("v1alpha1_operator-sample.yaml");
    assert_eq!(value["spec"], Value::Null, "the scaffold sample has an empty spec");
    assert!(!schema("datadoghq.com_datadogpodautoscalers_v1alpha1.schema.json").is_valid(&value));
    let dpa: DatadogPodAutoscalerV1Alpha1 = serde_json::from_value(value.clone()).unwrap();
    let mut expected = value;
    expected.as_object_mut().unwrap().remove("spec");
    assert_eq!(serde_json::to_value(&dpa).unwrap(), expected);
    let err = dpa.to_v1alpha2().unwrap_err();
    assert_eq!(err.to_string(), "DatadogPodAutoscaler datadogpodautoscaler-sample (v1alpha1): spec is required");
}

/// A value for `schema` at `path`; `pick` chooses among enum values.
fn fill(schema: &Value, pick: usize) -> Value {
    if schema.get("x-kubernetes-int-or-string").is_some() || schema.get("anyOf").is_some() {
        return json!("250m");
    }
    if let Some(values) = schema["enum"].as_array() {
        return values[pick % values.len()].clone();
    }
    match schema["type"].as_str() {
        Some("object") => fill_object(schema, pick),
        Some("array") => json!([fill(&schema["items"], pick)]),
        Some("integer") => json!(schema["minimum"].as_i64().unwrap_or(0).max(1) + 1),
        Some("boolean") => json!(pick.is_multiple_of(2)),
        Some("string") if schema["format"] == "date-time" => json!("2024-05-06T07:08:09Z"),
        Some("string") => json!("text"),
        other => panic!("schema type {other:?} not handled in {schema}"),
    }
}

fn fill_object(schema: &Value, pick: usize) -> Value {
    let mut out = Map::new();
    for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
        out.insert(name.clone(), fill(prop, pick));
    }
    if let Some(extra) = schema["additionalProperties"].as_object() {
        out.insert("cpu".into(), fill(&Value::Object(extra.clone()), pick));
    }
    Value::Object(out)
}

fn full_objects(file: &str, api_version: &str, kind: &str, namespaced: bool) -> Vec<Value> {
    let schema: Value = serde_json::from_str(&reference(&format!("crds/{file}"))).unwrap();
    let validator = self::schema(file);
    (0..16)
        .map(|pick| {
            let mut obj = fill_object(&schema, pick);
            obj["apiVersion"] = json!(api_version);
            obj["kind"] = json!(kind);
            obj["metadata"] =
                if namespaced { json!({"name": "web", "namespace": "prod"}) } else { json!({"name": "web"}) };
            let errors: Vec<String> = validator.iter_errors(&obj).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "generated {kind} does not match its schema: {errors:?}");
            obj
        })
        .collect()
}

#[test]
fn every_schema_property_and_enum_value_of_dpa_v1alpha2_round_trips() {
    let file = "datadoghq.com_datadogpodautoscalers_v1alpha2.schema.json";
    for obj in full_objects(file, "datadoghq.com/v1alpha2", "DatadogPodAutoscaler", true) {
        assert_eq!(round_trip::<DatadogPodAutoscaler>(&obj), obj);
    }
}

#[test]
fn every_schema_property_of_the_cluster_profile_round_trips() {
    let file = "datadoghq.com_datadogpodautoscalerclusterprofiles_v1alpha2.schema.json";
    for obj in full_objects(file, "datadoghq.com/v1alpha2", "DatadogPodAutoscalerClusterProfile", false) {
        assert_eq!(round_trip::<DatadogPodAutoscalerClusterProfile>(&obj), obj);
    }
}

#[test]
fn every_schema_property_of_dpa_v1alpha1_reads_and_converts() {
    let file = "datadoghq.com_datadogpodautoscalers_v1alpha1.schema.json";
    for obj in full_objects(file, "datadoghq.com/v1alpha1", "DatadogPodAutoscaler", true) {
        assert_eq!(round_trip::<DatadogPodAutoscalerV1Alpha1>(&obj), obj);
        let old: DatadogPodAutoscalerV1Alpha1 = serde_json::from_value(obj.clone()).unwrap();
        let new = serde_json::to_value(old.to_v1alpha2().unwrap()).unwrap();
        let policy = &obj["spec"]["policy"];
        assert_eq!(new["apiVersion"], "datadoghq.com/v1alpha2");
        assert_eq!(new["spec"]["applyPolicy"]["scaleUp"], policy["upscale"]);
        assert_eq!(new["spec"]["applyPolicy"]["scaleDown"], policy["downscale"]);
        assert_eq!(new["spec"]["applyPolicy"]["update"], policy["update"]);
        let mode = if policy["applyMode"] == "All" { "Apply" } else { "Preview" };
        assert_eq!(new["spec"]["applyPolicy"]["mode"], mode);
        assert_eq!(new["spec"]["objectives"], obj["spec"]["targets"]);
        assert_eq!(new["spec"]["targetRef"], obj["spec"]["targetRef"]);
        assert_eq!(new["status"], obj["status"]);
    }
}
