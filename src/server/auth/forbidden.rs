//! The 403 message kube-apiserver writes (`responsewriters.Forbidden` + `apierrors.NewForbidden`).

use super::Attributes;

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
        (false, false) => format!("{qualified} {} is forbidden: {detail}", go_quote(&attrs.name)),
    }
}

/// Go's `forbiddenMessage`.
fn what_was_refused(attrs: &Attributes) -> String {
    let user = go_quote(&attrs.user.name);
    let verb = &attrs.verb;
    if !attrs.resource_request {
        return format!("User {user} cannot {verb} path {}", go_quote(&attrs.path));
    }
    let mut resource = attrs.resource.clone();
    if !attrs.subresource.is_empty() {
        resource = format!("{resource}/{}", attrs.subresource);
    }
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {}", go_quote(&attrs.namespace))
    };
    format!(
        "User {user} cannot {verb} resource {} in API group {} {scope}",
        go_quote(&resource),
        go_quote(&attrs.api_group)
    )
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

/// Go's `%q` for the plain strings seen here: quotes, with `"` and `\` escaped.
fn go_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}
