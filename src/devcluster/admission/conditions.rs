//! `matchConditions`: CEL expressions over `object`, `oldObject` and `request`, evaluated with the
//! `cel` interpreter. kube-apiserver also offers `authorizer`; devcluster does not, and rejects
//! expressions that use it (or `params`, which webhooks never have) when the configuration is written.

use cel::{Context, Program, Value as CelValue};
use serde_json::Value;

/// Variables a webhook match condition may use here.
const VARIABLES: &[&str] = &["object", "oldObject", "request"];

/// Why an expression cannot be used, as the text after `Invalid value: "<expr>": `.
pub fn compile_error(expression: &str) -> Option<String> {
    let program = match Program::compile(expression) {
        Ok(p) => p,
        Err(e) => return Some(format!("compilation failed: {}", one_line(&e.to_string()))),
    };
    let refs = program.references();
    for var in ["params", "authorizer"] {
        if refs.has_variable(var) {
            let why = if var == "params" {
                "undeclared reference to 'params' (webhook match conditions have no params)".to_string()
            } else {
                "the 'authorizer' variable is not supported by devcluster's match conditions (supported: object, oldObject, request)".to_string()
            };
            return Some(format!("compilation failed: {why}"));
        }
    }
    None
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The outcome of one webhook's conditions, as kube's matcher reports it.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Matches,
    /// A condition evaluated to false (wins over errors in other conditions).
    Skipped,
    /// No condition was false but some could not be evaluated.
    Errors(Vec<String>),
}

/// Evaluates conditions in order: any `false` skips the webhook; errors are reported only when no
/// condition was false.
pub fn evaluate(conditions: &[(String, String)], object: &Value, old_object: &Value, request: &Value) -> Verdict {
    if conditions.is_empty() {
        return Verdict::Matches;
    }
    let mut ctx = Context::default();
    let vars = [object, old_object, request];
    for (name, value) in VARIABLES.iter().zip(vars) {
        match cel::to_value(value) {
            Ok(v) => ctx.add_variable_from_value(*name, v),
            Err(e) => return Verdict::Errors(vec![format!("cannot pass {name} to CEL: {e}")]),
        }
    }
    let mut errors = Vec::new();
    for (_, expression) in conditions {
        match eval_one(&ctx, expression) {
            Ok(true) => {}
            Ok(false) => return Verdict::Skipped,
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Verdict::Matches } else { Verdict::Errors(errors) }
}

fn eval_one(ctx: &Context, expression: &str) -> Result<bool, String> {
    let program = Program::compile(expression)
        .map_err(|e| format!("expression '{expression}' failed to compile: {}", one_line(&e.to_string())))?;
    match program.execute(ctx) {
        Ok(CelValue::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("expression '{expression}' must evaluate to bool, got {:?}", other.type_of())),
        Err(e) => Err(format!("expression '{expression}' resulted in error: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OWNED: &str =
        "has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, r.controller == true)";
    const MANAGED: &str = "has(object.metadata.annotations) && has(oldObject.metadata.annotations) && \
        'autoscaling.datadoghq.com/managed-by-dpa' in object.metadata.annotations && \
        'autoscaling.datadoghq.com/managed-by-dpa' in oldObject.metadata.annotations";

    fn cond(e: &str) -> Vec<(String, String)> {
        vec![("c".into(), e.into())]
    }

    #[test]
    fn controller_owned_pods_match_and_bare_pods_do_not() {
        let owned =
            json!({"metadata": {"ownerReferences": [{"kind": "X"}, {"kind": "ReplicaSet", "controller": true}]}});
        let bare = json!({"metadata": {"name": "p"}});
        let not_controller = json!({"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "controller": false}]}});
        assert_eq!(evaluate(&cond(OWNED), &owned, &Value::Null, &json!({})), Verdict::Matches);
        assert_eq!(evaluate(&cond(OWNED), &bare, &Value::Null, &json!({})), Verdict::Skipped);
        assert_eq!(evaluate(&cond(OWNED), &not_controller, &Value::Null, &json!({})), Verdict::Skipped);
    }

    #[test]
    fn annotation_membership_on_old_and_new() {
        let with = json!({"metadata": {"annotations": {"autoscaling.datadoghq.com/managed-by-dpa": "x"}}});
        let without = json!({"metadata": {"annotations": {"other": "y"}}});
        assert_eq!(evaluate(&cond(MANAGED), &with, &with, &json!({})), Verdict::Matches);
        assert_eq!(evaluate(&cond(MANAGED), &with, &without, &json!({})), Verdict::Skipped);
        assert_eq!(evaluate(&cond(MANAGED), &with, &json!({"metadata": {}}), &json!({})), Verdict::Skipped);
    }

    #[test]
    fn false_wins_over_errors_and_errors_are_reported_otherwise() {
        let obj = json!({"metadata": {}});
        let both = vec![("a".into(), "object.spec.missing == 1".into()), ("b".into(), "1 == 2".into())];
        assert_eq!(evaluate(&both, &obj, &Value::Null, &json!({})), Verdict::Skipped);
        let Verdict::Errors(errs) = evaluate(&cond("object.spec.missing == 1"), &obj, &Value::Null, &json!({})) else {
            panic!("expected an error")
        };
        assert!(errs[0].starts_with("expression 'object.spec.missing == 1' resulted in error"), "{errs:?}");
        let Verdict::Errors(errs) = evaluate(&cond("'a'"), &obj, &Value::Null, &json!({})) else { panic!() };
        assert!(errs[0].contains("must evaluate to bool"), "{errs:?}");
    }

    #[test]
    fn request_fields_are_visible() {
        let req = json!({"operation": "CREATE", "userInfo": {"username": "u"}});
        assert_eq!(evaluate(&cond("request.operation == 'CREATE'"), &json!({}), &Value::Null, &req), Verdict::Matches);
    }

    #[test]
    fn unusable_expressions_are_named_at_write_time() {
        assert!(compile_error(OWNED).is_none());
        assert!(compile_error(MANAGED).is_none());
        assert!(compile_error("object.metadata.name ==").unwrap().starts_with("compilation failed"));
        assert!(compile_error("authorizer.path('/x').check('get').allowed()").unwrap().contains("authorizer"));
        assert!(compile_error("params.x == 1").unwrap().contains("params"));
    }
}
