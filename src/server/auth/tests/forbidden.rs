//! kube-apiserver's 403 texts (`responsewriters.forbiddenMessage` + `apierrors.NewForbidden`).

use super::super::{Attributes, UserInfo, forbidden_message};

fn attrs(verb: &str, group: &str, resource: &str, namespace: &str, name: &str) -> Attributes {
    Attributes {
        user: UserInfo { name: "system:serviceaccount:default:hpa-reader".into(), ..Default::default() },
        verb: verb.into(),
        resource_request: true,
        api_group: group.into(),
        api_version: "v1beta1".into(),
        resource: resource.into(),
        namespace: namespace.into(),
        name: name.into(),
        ..Default::default()
    }
}

#[test]
fn namespaced_collection_as_recorded_from_kube_apiserver() {
    let a = attrs("list", "external.metrics.k8s.io", "x", "default", "");
    assert_eq!(
        forbidden_message(&a, ""),
        "x.external.metrics.k8s.io is forbidden: User \"system:serviceaccount:default:hpa-reader\" cannot list resource \"x\" in API group \"external.metrics.k8s.io\" in the namespace \"default\""
    );
}

#[test]
fn named_object_with_a_reason() {
    let a = attrs("get", "external.metrics.k8s.io", "x", "default", "m");
    assert_eq!(
        forbidden_message(&a, "no RBAC policy matched"),
        "x.external.metrics.k8s.io \"m\" is forbidden: User \"system:serviceaccount:default:hpa-reader\" cannot get resource \"x\" in API group \"external.metrics.k8s.io\" in the namespace \"default\": no RBAC policy matched"
    );
}

#[test]
fn cluster_scope_core_group_and_subresource() {
    let mut a = attrs("update", "", "nodes", "", "n1");
    a.subresource = "status".into();
    assert_eq!(
        forbidden_message(&a, ""),
        "nodes \"n1\" is forbidden: User \"system:serviceaccount:default:hpa-reader\" cannot update resource \"nodes/status\" in API group \"\" at the cluster scope"
    );
}

#[test]
fn non_resource_paths() {
    let a = Attributes {
        user: UserInfo { name: "system:anonymous".into(), ..Default::default() },
        verb: "get".into(),
        path: "/openapi/v2".into(),
        ..Default::default()
    };
    assert_eq!(forbidden_message(&a, ""), "forbidden: User \"system:anonymous\" cannot get path \"/openapi/v2\"");
}

#[test]
fn user_text_is_quoted_and_sanitized() {
    let mut a = attrs("get", "g", "r", "ns", "a\"b");
    a.user.name = "<script>&".into();
    assert_eq!(
        forbidden_message(&a, ""),
        "r.g \"a\\\"b\" is forbidden: User \"&lt;script&gt;&amp;\" cannot get resource \"r\" in API group \"g\" in the namespace \"ns\""
    );
}
