//! Generated schema rows: field numbers from the k8s-pb 0.9 prost tags, JSON names from the
//! k8s-openapi 0.29 serde field names. Keep hand edits consistent with those two sources.

use super::Kind::*;
use super::Shape::*;
use super::*;

pub static POLICY_RULE: Message = msg(
    "k8s.io.api.rbac.v1.PolicyRule",
    &[
        fld(1, "verbs", Str, List),
        fld(2, "apiGroups", Str, List),
        fld(3, "resources", Str, List),
        fld(4, "resourceNames", Str, List),
        fld(5, "nonResourceURLs", Str, List),
    ],
);

pub static ROLE: Message = msg(
    "k8s.io.api.rbac.v1.Role",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "rules", Msg(&POLICY_RULE), List)],
);

pub static AGGREGATION_RULE: Message =
    msg("k8s.io.api.rbac.v1.AggregationRule", &[fld(1, "clusterRoleSelectors", Msg(&LABEL_SELECTOR), List)]);

pub static CLUSTER_ROLE: Message = msg(
    "k8s.io.api.rbac.v1.ClusterRole",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "rules", Msg(&POLICY_RULE), List),
        fld(3, "aggregationRule", Msg(&AGGREGATION_RULE), One),
    ],
);

pub static SUBJECT: Message = msg(
    "k8s.io.api.rbac.v1.Subject",
    &[fld(1, "kind", Str, One), fld(2, "apiGroup", Str, One), fld(3, "name", Str, One), fld(4, "namespace", Str, One)],
);

pub static ROLE_REF: Message = msg(
    "k8s.io.api.rbac.v1.RoleRef",
    &[fld(1, "apiGroup", Str, One), fld(2, "kind", Str, One), fld(3, "name", Str, One)],
);

pub static ROLE_BINDING: Message = msg(
    "k8s.io.api.rbac.v1.RoleBinding",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "subjects", Msg(&SUBJECT), List),
        fld(3, "roleRef", Msg(&ROLE_REF), One),
    ],
);

pub static CLUSTER_ROLE_BINDING: Message = msg(
    "k8s.io.api.rbac.v1.ClusterRoleBinding",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "subjects", Msg(&SUBJECT), List),
        fld(3, "roleRef", Msg(&ROLE_REF), One),
    ],
);

pub static FIELD_SELECTOR_ATTRIBUTES: Message = msg(
    "k8s.io.api.authorization.v1.FieldSelectorAttributes",
    &[fld(1, "rawSelector", Str, One), fld(2, "requirements", Msg(&FIELD_SELECTOR_REQUIREMENT), List)],
);

pub static LABEL_SELECTOR_ATTRIBUTES: Message = msg(
    "k8s.io.api.authorization.v1.LabelSelectorAttributes",
    &[fld(1, "rawSelector", Str, One), fld(2, "requirements", Msg(&LABEL_SELECTOR_REQUIREMENT), List)],
);

pub static RESOURCE_ATTRIBUTES: Message = msg(
    "k8s.io.api.authorization.v1.ResourceAttributes",
    &[
        fld(1, "namespace", Str, One),
        fld(2, "verb", Str, One),
        fld(3, "group", Str, One),
        fld(4, "version", Str, One),
        fld(5, "resource", Str, One),
        fld(6, "subresource", Str, One),
        fld(7, "name", Str, One),
        fld(8, "fieldSelector", Msg(&FIELD_SELECTOR_ATTRIBUTES), One),
        fld(9, "labelSelector", Msg(&LABEL_SELECTOR_ATTRIBUTES), One),
    ],
);

pub static NON_RESOURCE_ATTRIBUTES: Message =
    msg("k8s.io.api.authorization.v1.NonResourceAttributes", &[fld(1, "path", Str, One), fld(2, "verb", Str, One)]);

pub static SELF_SUBJECT_ACCESS_REVIEW_SPEC: Message = msg(
    "k8s.io.api.authorization.v1.SelfSubjectAccessReviewSpec",
    &[
        fld(1, "resourceAttributes", Msg(&RESOURCE_ATTRIBUTES), One),
        fld(2, "nonResourceAttributes", Msg(&NON_RESOURCE_ATTRIBUTES), One),
    ],
);

pub static SUBJECT_ACCESS_REVIEW_STATUS: Message = msg(
    "k8s.io.api.authorization.v1.SubjectAccessReviewStatus",
    &[
        fld(1, "allowed", Bool, One),
        fld(2, "reason", Str, One),
        fld(3, "evaluationError", Str, One),
        fld(4, "denied", Bool, One),
    ],
);

pub static SELF_SUBJECT_ACCESS_REVIEW: Message = msg(
    "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&SELF_SUBJECT_ACCESS_REVIEW_SPEC), One),
        fld(3, "status", Msg(&SUBJECT_ACCESS_REVIEW_STATUS), One),
    ],
);

pub static SUBJECT_ACCESS_REVIEW_SPEC: Message = msg(
    "k8s.io.api.authorization.v1.SubjectAccessReviewSpec",
    &[
        fld(1, "resourceAttributes", Msg(&RESOURCE_ATTRIBUTES), One),
        fld(2, "nonResourceAttributes", Msg(&NON_RESOURCE_ATTRIBUTES), One),
        fld(3, "user", Str, One),
        fld(4, "groups", Str, List),
        fld(5, "extra", StringList, Map),
        fld(6, "uid", Str, One),
    ],
);

pub static SUBJECT_ACCESS_REVIEW: Message = msg(
    "k8s.io.api.authorization.v1.SubjectAccessReview",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&SUBJECT_ACCESS_REVIEW_SPEC), One),
        fld(3, "status", Msg(&SUBJECT_ACCESS_REVIEW_STATUS), One),
    ],
);

pub static LOCAL_SUBJECT_ACCESS_REVIEW: Message = msg(
    "k8s.io.api.authorization.v1.LocalSubjectAccessReview",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&SUBJECT_ACCESS_REVIEW_SPEC), One),
        fld(3, "status", Msg(&SUBJECT_ACCESS_REVIEW_STATUS), One),
    ],
);

pub static SELF_SUBJECT_RULES_REVIEW_SPEC: Message =
    msg("k8s.io.api.authorization.v1.SelfSubjectRulesReviewSpec", &[fld(1, "namespace", Str, One)]);

pub static RESOURCE_RULE: Message = msg(
    "k8s.io.api.authorization.v1.ResourceRule",
    &[
        fld(1, "verbs", Str, List),
        fld(2, "apiGroups", Str, List),
        fld(3, "resources", Str, List),
        fld(4, "resourceNames", Str, List),
    ],
);

pub static NON_RESOURCE_RULE: Message = msg(
    "k8s.io.api.authorization.v1.NonResourceRule",
    &[fld(1, "verbs", Str, List), fld(2, "nonResourceURLs", Str, List)],
);

pub static SUBJECT_RULES_REVIEW_STATUS: Message = msg(
    "k8s.io.api.authorization.v1.SubjectRulesReviewStatus",
    &[
        fld(1, "resourceRules", Msg(&RESOURCE_RULE), List),
        fld(2, "nonResourceRules", Msg(&NON_RESOURCE_RULE), List),
        fld(3, "incomplete", Bool, One),
        fld(4, "evaluationError", Str, One),
    ],
);

pub static SELF_SUBJECT_RULES_REVIEW: Message = msg(
    "k8s.io.api.authorization.v1.SelfSubjectRulesReview",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&SELF_SUBJECT_RULES_REVIEW_SPEC), One),
        fld(3, "status", Msg(&SUBJECT_RULES_REVIEW_STATUS), One),
    ],
);

pub static TOKEN_REVIEW_SPEC: Message =
    msg("k8s.io.api.authentication.v1.TokenReviewSpec", &[fld(1, "token", Str, One), fld(2, "audiences", Str, List)]);

pub static USER_INFO: Message = msg(
    "k8s.io.api.authentication.v1.UserInfo",
    &[
        fld(1, "username", Str, One),
        fld(2, "uid", Str, One),
        fld(3, "groups", Str, List),
        fld(4, "extra", StringList, Map),
    ],
);

pub static TOKEN_REVIEW_STATUS: Message = msg(
    "k8s.io.api.authentication.v1.TokenReviewStatus",
    &[
        fld(1, "authenticated", Bool, One),
        fld(2, "user", Msg(&USER_INFO), One),
        fld(3, "error", Str, One),
        fld(4, "audiences", Str, List),
    ],
);

pub static TOKEN_REVIEW: Message = msg(
    "k8s.io.api.authentication.v1.TokenReview",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&TOKEN_REVIEW_SPEC), One),
        fld(3, "status", Msg(&TOKEN_REVIEW_STATUS), One),
    ],
);

pub static BOUND_OBJECT_REFERENCE: Message = msg(
    "k8s.io.api.authentication.v1.BoundObjectReference",
    &[fld(1, "kind", Str, One), fld(2, "apiVersion", Str, One), fld(3, "name", Str, One), fld(4, "uid", Str, One)],
);

pub static TOKEN_REQUEST_SPEC: Message = msg(
    "k8s.io.api.authentication.v1.TokenRequestSpec",
    &[
        fld(1, "audiences", Str, List),
        fld(3, "boundObjectRef", Msg(&BOUND_OBJECT_REFERENCE), One),
        fld(4, "expirationSeconds", I64, One),
    ],
);

pub static TOKEN_REQUEST_STATUS: Message = msg(
    "k8s.io.api.authentication.v1.TokenRequestStatus",
    &[fld(1, "token", Str, One), fld(2, "expirationTimestamp", Time, One)],
);

pub static TOKEN_REQUEST: Message = msg(
    "k8s.io.api.authentication.v1.TokenRequest",
    &[
        fld(1, "metadata", Msg(&OBJECT_META), One),
        fld(2, "spec", Msg(&TOKEN_REQUEST_SPEC), One),
        fld(3, "status", Msg(&TOKEN_REQUEST_STATUS), One),
    ],
);

pub static SELF_SUBJECT_REVIEW_STATUS: Message =
    msg("k8s.io.api.authentication.v1.SelfSubjectReviewStatus", &[fld(1, "userInfo", Msg(&USER_INFO), One)]);

pub static SELF_SUBJECT_REVIEW: Message = msg(
    "k8s.io.api.authentication.v1.SelfSubjectReview",
    &[fld(1, "metadata", Msg(&OBJECT_META), One), fld(2, "status", Msg(&SELF_SUBJECT_REVIEW_STATUS), One)],
);
