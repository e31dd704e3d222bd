//! Who is asking and for what: `user.Info` and `authorizer.Attributes` as kube-apiserver models
//! them, and the 403 text it writes. Shared by devcluster's RBAC and the API server's delegated
//! authorization.

use std::collections::BTreeMap;

use super::gofmt::quote;

/// Group every authenticated user gets (k8s `user.AllAuthenticated`).
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// Name of the anonymous user.
pub const ANONYMOUS_USER: &str = "system:anonymous";
/// Group of the anonymous user.
pub const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";

/// Who made a request, as kube-apiserver's `user.Info`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// `system:anonymous` in `system:unauthenticated`, the identity authorization sees for
    /// [`Authenticated::Anonymous`].
    pub fn anonymous() -> Self {
        UserInfo { name: ANONYMOUS_USER.into(), groups: vec![UNAUTHENTICATED_GROUP.into()], ..Default::default() }
    }
}

/// What is being asked for, as kube-apiserver's `authorizer.Attributes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attributes {
    pub user: UserInfo,
    pub verb: String,
    pub resource_request: bool,
    pub api_group: String,
    pub api_version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
}

#[cfg(test)]
impl Attributes {
    /// A `list` of external metric `metric` in `namespace` by `user`, as the HPA controller reads
    /// one (the tests' usual request).
    pub(crate) fn metric_list(user: UserInfo, namespace: &str, metric: &str) -> Self {
        Attributes {
            user,
            verb: "list".into(),
            resource_request: true,
            api_group: "external.metrics.k8s.io".into(),
            api_version: "v1beta1".into(),
            resource: metric.into(),
            namespace: namespace.into(),
            path: format!("/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}"),
            ..Default::default()
        }
    }
}

/// e.g. `datadogmetrics.external.metrics.k8s.io "m" is forbidden: User "u" cannot get resource
/// "datadogmetrics" in API group "external.metrics.k8s.io" in the namespace "default"`, then
/// `: <reason>` when the authorizer gave one. Non-resource requests read
/// `forbidden: User "u" cannot get path "/x"`.
pub fn forbidden_message(attrs: &Attributes, reason: &str) -> String {
    let detail = sanitize(&what_was_refused(attrs));
    let detail = if reason.is_empty() { detail } else { format!("{detail}: {reason}") };
    let qualified = qualified_resource(attrs);
    match (qualified.is_empty(), attrs.name.is_empty()) {
        (true, _) => format!("forbidden: {detail}"),
        (false, true) => format!("{qualified} is forbidden: {detail}"),
        (false, false) => format!("{qualified} {} is forbidden: {detail}", quote(&attrs.name)),
    }
}

/// Go's `forbiddenMessage`.
fn what_was_refused(attrs: &Attributes) -> String {
    let user = quote(&attrs.user.name);
    let verb = &attrs.verb;
    if !attrs.resource_request {
        return format!("User {user} cannot {verb} path {}", quote(&attrs.path));
    }
    let mut resource = attrs.resource.clone();
    if !attrs.subresource.is_empty() {
        resource = format!("{resource}/{}", attrs.subresource);
    }
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {}", quote(&attrs.namespace))
    };
    format!("User {user} cannot {verb} resource {} in API group {} {scope}", quote(&resource), quote(&attrs.api_group))
}

/// `schema.GroupResource.String()`; empty for non-resource requests.
fn qualified_resource(attrs: &Attributes) -> String {
    match (attrs.resource_request, attrs.api_group.is_empty()) {
        (false, _) => String::new(),
        (true, true) => attrs.resource.clone(),
        (true, false) => format!("{}.{}", attrs.resource, attrs.api_group),
    }
}

/// The `sanitizer` replacer kube applies to the message: no HTML in error bodies.
fn sanitize(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
