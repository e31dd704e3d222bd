//! Kubernetes wire conventions shared by the control plane (`devcluster`) and the API server:
//! `metav1.Status` errors, label/field selectors, `resource.Quantity` values, Go-style formatting of error texts.

pub mod authorization;
pub mod gofmt;
pub mod quantity;
pub mod selector;
pub mod status;
