//! Texts the HPA controller writes, rendered the way Go renders them: `%+v` of a
//! `*metav1.LabelSelector` (its generated `String()`), and client-go's error text for a failed
//! request (the Status message, or the generic per-code sentence when the body is not a Status).

use serde_json::Value;

/// `fmt.Sprintf("%+v", selector)` for a `*metav1.LabelSelector` given as JSON (`null` → `nil`):
/// `&LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}`.
pub fn go_label_selector(selector: Option<&Value>) -> String {
    let Some(sel) = selector.filter(|s| s.is_object()) else { return "nil".into() };
    let mut labels: Vec<(&String, String)> = sel["matchLabels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    labels.sort();
    let labels: String = labels.iter().map(|(k, v)| format!("{k}: {v},")).collect();
    let expressions: String = sel["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                e["key"].as_str().unwrap_or_default(),
                e["operator"].as_str().unwrap_or_default(),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

/// The `error.Error()` client-go returns for a non-2xx answer: a `Status` body gives its message;
/// anything else gives apimachinery's `NewGenericServerResponse` sentence with `(<verb> <resource>)`.
pub fn client_error(code: u16, body: &[u8], verb: &str, qualified_resource: &str) -> String {
    if let Ok(status) = serde_json::from_slice::<Value>(body)
        && status["kind"] == "Status"
        && let Some(message) = status["message"].as_str()
    {
        return message.to_string();
    }
    let server_message = {
        let text = String::from_utf8_lossy(body).trim().to_string();
        if text.is_empty() { "unknown".to_string() } else { text }
    };
    let message = match code {
        409 => "the server reported a conflict".to_string(),
        404 => "the server could not find the requested resource".to_string(),
        400 => "the server rejected our request for an unknown reason".to_string(),
        401 => "the server has asked for the client to provide credentials".to_string(),
        403 => server_message,
        405 => "the server does not allow this method on the requested resource".to_string(),
        422 => "the server rejected our request due to an error in our request".to_string(),
        503 => "the server is currently unable to handle the request".to_string(),
        504 => {
            "the server was unable to return a response in the time allotted, but may still be processing the request"
                .to_string()
        }
        429 => "the server has received too many requests and has asked us to try again later".to_string(),
        c if c >= 500 => format!(
            "an error on the server ({}) has prevented the request from succeeding",
            crate::apimachinery::gofmt::quote(&server_message)
        ),
        c => format!("the server responded with the status code {c} but did not return more information"),
    };
    format!("{message} ({} {qualified_resource})", verb.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selector_renders_like_the_recorded_event() {
        let sel = json!({"matchLabels": {"app": "web"}});
        assert_eq!(
            go_label_selector(Some(&sel)),
            "&LabelSelector{MatchLabels:map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}"
        );
    }

    #[test]
    fn selector_with_expressions_sorted_labels_and_nil() {
        let sel = json!({
            "matchLabels": {"z": "1", "a": "2"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db", "cache"]}, {"key": "x", "operator": "Exists"}]
        });
        assert_eq!(
            go_label_selector(Some(&sel)),
            "&LabelSelector{MatchLabels:map[string]string{a: 2,z: 1,},MatchExpressions:[]LabelSelectorRequirement{\
             LabelSelectorRequirement{Key:tier,Operator:In,Values:[db cache],},LabelSelectorRequirement{Key:x,Operator:Exists,Values:[],},},}"
        );
        assert_eq!(go_label_selector(None), "nil");
        assert_eq!(go_label_selector(Some(&Value::Null)), "nil");
        assert_eq!(
            go_label_selector(Some(&json!({}))),
            "&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}"
        );
    }

    #[test]
    fn status_bodies_give_their_message() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"datadog is down","code":500}"#;
        assert_eq!(client_error(500, body, "GET", "m.external.metrics.k8s.io"), "datadog is down");
    }

    #[test]
    fn other_bodies_give_client_go_generic_text() {
        let r = "datadogmetric@default:web-rps.external.metrics.k8s.io";
        assert_eq!(
            client_error(404, b"404 page not found", "GET", r),
            format!("the server could not find the requested resource (get {r})")
        );
        assert_eq!(
            client_error(503, b"service unavailable\n", "GET", r),
            format!("the server is currently unable to handle the request (get {r})")
        );
        assert_eq!(
            client_error(502, b"bad gateway", "GET", r),
            format!("an error on the server (\"bad gateway\") has prevented the request from succeeding (get {r})")
        );
        assert_eq!(client_error(403, b"", "GET", r), format!("unknown (get {r})"));
    }
}
