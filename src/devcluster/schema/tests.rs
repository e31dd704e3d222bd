use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Cause, StructuralSchema};

mod keywords;

// ---------------------------------------------------------------- helpers

fn reference_dir() -> PathBuf {
    let beside_crate = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference");
    if beside_crate.is_dir() {
        return beside_crate;
    }
    PathBuf::from("/work/shared/reference")
}

fn load_yaml(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn yaml_files(sub: &str) -> Vec<PathBuf> {
    let dir = reference_dir().join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// `(crd file name, version name, openAPIV3Schema)` for every version of every CRD.
fn crd_versions() -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for path in yaml_files("crds") {
        let crd = load_yaml(&path);
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        for version in crd["spec"]["versions"].as_array().expect("spec.versions") {
            let schema = version["schema"]["openAPIV3Schema"].clone();
            out.push((name.clone(), version["name"].as_str().unwrap_or_default().to_string(), schema));
        }
    }
    out
}

fn crd_schema(file_prefix: &str, version: &str) -> StructuralSchema {
    let (_, _, schema) = crd_versions()
        .into_iter()
        .find(|(f, v, _)| f.starts_with(file_prefix) && v == version)
        .unwrap_or_else(|| panic!("no {file_prefix} {version}"));
    StructuralSchema::new(&schema).expect("CRD schema compiles")
}

fn dpa_v1alpha2() -> StructuralSchema {
    crd_schema("datadoghq.com_datadogpodautoscalers.", "v1alpha2")
}

/// The kube-apiserver write path: prune → default → validate.
fn admit(schema: &StructuralSchema, obj: &mut Value) -> (Vec<String>, Vec<Cause>) {
    let pruned = schema.prune(obj);
    schema.apply_defaults(obj);
    (pruned, schema.validate(obj))
}

fn minimal_dpa() -> Value {
    json!({
        "apiVersion": "datadoghq.com/v1alpha2",
        "kind": "DatadogPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "owner": "Local",
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
        }
    })
}

fn cause(reason: &str, message: &str, field: &str) -> Cause {
    Cause { reason: reason.into(), message: message.into(), field: field.into() }
}

/// Schema with a single property `x` under `spec`, for keyword tests.
fn spec_with(x: Value) -> StructuralSchema {
    let schema = json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"x": x}}}
    });
    StructuralSchema::new(&schema).expect("inline schema compiles")
}

fn causes_for(schema: &StructuralSchema, x: Value) -> Vec<Cause> {
    let mut obj = json!({"spec": {"x": x}});
    admit(schema, &mut obj).1
}

// ---------------------------------------------------------------- reference CRDs and examples

#[test]
fn every_crd_version_compiles() {
    let versions = crd_versions();
    assert_eq!(versions.len(), 4, "datadogmetrics v1alpha1, profiles v1alpha2, dpa v1alpha1+v1alpha2");
    for (file, version, schema) in versions {
        StructuralSchema::new(&schema).unwrap_or_else(|e| panic!("{file} {version}: {e}"));
    }
}

#[test]
fn dpa_v1alpha2_examples_are_valid() {
    let schema = dpa_v1alpha2();
    let mut checked = 0;
    for path in yaml_files("examples/dpa") {
        let mut obj = load_yaml(&path);
        if obj["apiVersion"] != "datadoghq.com/v1alpha2" {
            continue;
        }
        let (_, causes) = admit(&schema, &mut obj);
        assert_eq!(causes, vec![], "{}", path.display());
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn datadogmetric_examples_are_valid() {
    let schema = crd_schema("datadoghq.com_datadogmetrics.", "v1alpha1");
    let files = yaml_files("examples/datadogmetric");
    assert_eq!(files.len(), 3);
    for path in files {
        let mut obj = load_yaml(&path);
        let (_, causes) = admit(&schema, &mut obj);
        assert_eq!(causes, vec![], "{}", path.display());
    }
}

#[test]
fn max_replicas_string_is_type_invalid() {
    let schema = dpa_v1alpha2();
    let mut obj = minimal_dpa();
    obj["spec"]["constraints"] = json!({"maxReplicas": "ten"});
    let (_, causes) = admit(&schema, &mut obj);
    let expected = cause(
        "FieldValueTypeInvalid",
        "Invalid value: \"string\": spec.constraints.maxReplicas in body must be of type integer: \"string\"",
        "spec.constraints.maxReplicas",
    );
    assert_eq!(causes, vec![expected]);
}

#[test]
fn missing_owner_is_required() {
    let schema = dpa_v1alpha2();
    let mut obj = minimal_dpa();
    obj["spec"].as_object_mut().map(|s| s.remove("owner"));
    let (_, causes) = admit(&schema, &mut obj);
    assert_eq!(causes, vec![cause("FieldValueRequired", "Required value", "spec.owner")]);
}

#[test]
fn dpa_enum_is_not_supported() {
    let schema = dpa_v1alpha2();
    let mut obj = minimal_dpa();
    obj["spec"]["applyPolicy"] = json!({"mode": "Bogus"});
    let (_, causes) = admit(&schema, &mut obj);
    let message = "Unsupported value: \"Bogus\": supported values: \"Apply\", \"Preview\"";
    assert_eq!(causes, vec![cause("FieldValueNotSupported", message, "spec.applyPolicy.mode")]);
}

#[test]
fn dpa_minimum_and_list_index_paths() {
    let schema = dpa_v1alpha2();
    let mut obj = minimal_dpa();
    obj["spec"]["constraints"] = json!({"maxReplicas": 0});
    obj["spec"]["objectives"] = json!([{"podResource": {"name": "cpu"}}]);
    let (_, causes) = admit(&schema, &mut obj);
    assert!(causes.contains(&cause(
        "FieldValueInvalid",
        "Invalid value: 0: spec.constraints.maxReplicas in body should be greater than or equal to 1",
        "spec.constraints.maxReplicas",
    )));
    assert!(causes.contains(&cause("FieldValueRequired", "Required value", "spec.objectives[0].type")), "{causes:#?}");
}

#[test]
fn unknown_fields_are_pruned_and_reported() {
    let schema = dpa_v1alpha2();
    let mut obj = minimal_dpa();
    obj["spec"]["foo"] = json!(1);
    obj["spec"]["targetRef"]["bar"] = json!({"deep": true});
    obj["metadata"]["bogus"] = json!("x");
    obj["extra"] = json!([1]);
    let (pruned, causes) = admit(&schema, &mut obj);
    assert_eq!(causes, vec![]);
    let mut pruned = pruned;
    pruned.sort();
    assert_eq!(pruned, vec![".extra", ".metadata.bogus", ".spec.foo", ".spec.targetRef.bar"]);
    assert!(obj["spec"].get("foo").is_none());
    assert!(obj.get("extra").is_none());
    assert_eq!(obj["metadata"], json!({"name": "web", "namespace": "default"}));
    assert_eq!(obj["apiVersion"], "datadoghq.com/v1alpha2");
}

#[test]
fn dpa_defaults_are_applied() {
    let schema = dpa_v1alpha2();
    let mut obj = minimal_dpa();
    schema.apply_defaults(&mut obj);
    assert_eq!(obj["spec"]["applyPolicy"]["mode"], "Apply");
    assert_eq!(obj["spec"]["fallback"]["horizontal"]["direction"], "ScaleUp");
    assert_eq!(obj["spec"]["fallback"]["horizontal"]["triggers"]["staleRecommendationThresholdSeconds"], 600);
    // An explicit value wins.
    let mut obj = minimal_dpa();
    obj["spec"]["applyPolicy"] = json!({"mode": "Preview"});
    schema.apply_defaults(&mut obj);
    assert_eq!(obj["spec"]["applyPolicy"]["mode"], "Preview");
}
