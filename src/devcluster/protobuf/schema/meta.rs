//! Generated schema rows: field numbers from the k8s-pb 0.9 prost tags, JSON names from the
//! k8s-openapi 0.29 serde field names. Keep hand edits consistent with those two sources.

use super::Kind::*;
use super::Shape::*;
use super::*;

pub static OWNER_REFERENCE: Message = msg(
    "k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference",
    &[
        fld(1, "kind", Str, One),
        fld(3, "name", Str, One),
        fld(4, "uid", Str, One),
        fld(5, "apiVersion", Str, One),
        fld(6, "controller", Bool, One),
        fld(7, "blockOwnerDeletion", Bool, One),
    ],
);

pub static MANAGED_FIELDS_ENTRY: Message = msg(
    "k8s.io.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
    &[
        fld(1, "manager", Str, One),
        fld(2, "operation", Str, One),
        fld(3, "apiVersion", Str, One),
        fld(4, "time", Time, One),
        fld(6, "fieldsType", Str, One),
        fld(7, "fieldsV1", RawJson, One),
        fld(8, "subresource", Str, One),
    ],
);

pub static OBJECT_META: Message = msg(
    "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    &[
        fld(1, "name", Str, One),
        fld(2, "generateName", Str, One),
        fld(3, "namespace", Str, One),
        fld(4, "selfLink", Str, One),
        fld(5, "uid", Str, One),
        fld(6, "resourceVersion", Str, One),
        fld(7, "generation", I64, One),
        fld(8, "creationTimestamp", Time, One),
        fld(9, "deletionTimestamp", Time, One),
        fld(10, "deletionGracePeriodSeconds", I64, One),
        fld(11, "labels", Str, Map),
        fld(12, "annotations", Str, Map),
        fld(13, "ownerReferences", Msg(&OWNER_REFERENCE), List),
        fld(14, "finalizers", Str, List),
        fld(17, "managedFields", Msg(&MANAGED_FIELDS_ENTRY), List),
    ],
);

pub static CONDITION: Message = msg(
    "k8s.io.apimachinery.pkg.apis.meta.v1.Condition",
    &[
        fld(1, "type", Str, One),
        fld(2, "status", Str, One),
        fld(3, "observedGeneration", I64, One),
        fld(4, "lastTransitionTime", Time, One),
        fld(5, "reason", Str, One),
        fld(6, "message", Str, One),
    ],
);

pub static LABEL_SELECTOR_REQUIREMENT: Message = msg(
    "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
    &[fld(1, "key", Str, One), fld(2, "operator", Str, One), fld(3, "values", Str, List)],
);

pub static LABEL_SELECTOR: Message = msg(
    "k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector",
    &[fld(1, "matchLabels", Str, Map), fld(2, "matchExpressions", Msg(&LABEL_SELECTOR_REQUIREMENT), List)],
);

pub static FIELD_SELECTOR_REQUIREMENT: Message = msg(
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement",
    &[fld(1, "key", Str, One), fld(2, "operator", Str, One), fld(3, "values", Str, List)],
);

pub static PRECONDITIONS: Message = msg(
    "k8s.io.apimachinery.pkg.apis.meta.v1.Preconditions",
    &[fld(1, "uid", Str, One), fld(2, "resourceVersion", Str, One)],
);

pub static DELETE_OPTIONS: Message = msg(
    "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    &[
        fld(1, "gracePeriodSeconds", I64, One),
        fld(2, "preconditions", Msg(&PRECONDITIONS), One),
        fld(3, "orphanDependents", Bool, One),
        fld(4, "propagationPolicy", Str, One),
        fld(5, "dryRun", Str, List),
        fld(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Bool, One),
    ],
);
