//! `kube::Resource` for the partial types this crate decodes instead of full objects (a Pod's few
//! indexed fields, metrics-server's PodMetrics, a CRD's older version): every such type is a
//! namespaced resource with a `metadata: ObjectMeta` field and a fixed group, version, kind and
//! plural, so one macro writes the impl.

/// `impl kube::Resource` for `$ty` (a struct with `metadata: ObjectMeta`), namespaced, with the
/// given group (`""` for core), version, kind and plural.
macro_rules! namespaced_resource {
    ($ty:ty, group: $group:expr, version: $version:expr, kind: $kind:expr, plural: $plural:expr) => {
        impl kube::core::Resource for $ty {
            type DynamicType = ();
            type Scope = kube::core::NamespaceResourceScope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

pub(crate) use namespaced_resource;

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use kube::core::Resource;

    #[derive(Default)]
    struct Widget {
        metadata: ObjectMeta,
    }

    namespaced_resource!(Widget, group: "example.com", version: "v1", kind: "Widget", plural: "widgets");

    #[test]
    fn the_impl_names_the_resource_and_reaches_its_metadata() {
        assert_eq!(Widget::api_version(&()), "example.com/v1");
        assert_eq!((Widget::kind(&()), Widget::plural(&())), ("Widget".into(), "widgets".into()));
        let mut w = Widget::default();
        w.meta_mut().name = Some("w".into());
        assert_eq!(w.meta().name.as_deref(), Some("w"));
    }
}
