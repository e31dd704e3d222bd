//! Authentication (admin token, ServiceAccount JWTs, anonymous), impersonation, and RBAC
//! authorization with kube-apiserver's forbidden messages.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::HeaderMap;

use super::Cluster;
use super::handlers::RequestInfo;
use super::ops::key;
use super::rbac::{Attributes, Decision, RbacAuthorizer, UserInfo, is_superuser};
use super::status::ApiError;
use super::tokens::ServiceAccountIdentity;
use crate::apimachinery::authorization::forbidden_message;

pub const ADMIN_USER: &str = "kubernetes-admin";

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Cluster {
    /// Who is calling: 401 for a bearer token nobody issued.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<UserInfo, ApiError> {
        let Some(token) = bearer(headers) else { return Ok(anonymous()) };
        self.authenticate_token(token, &[]).ok_or_else(ApiError::unauthorized)
    }

    /// TokenReview semantics: the admin token, or a ServiceAccount JWT whose account (and bound pod) still exist.
    pub fn authenticate_token(&self, token: &str, audiences: &[String]) -> Option<UserInfo> {
        if token == self.admin_token {
            return Some(UserInfo {
                name: ADMIN_USER.into(),
                groups: vec!["system:masters".into(), "system:authenticated".into()],
                ..Default::default()
            });
        }
        let id = self.tokens.verify(token, audiences, now_unix()).ok()?;
        self.service_account_exists(&id).then(|| UserInfo {
            name: id.user_name(),
            uid: id.uid.clone(),
            groups: id.groups(),
            extra: id.extra(),
        })
    }

    fn service_account_exists(&self, id: &ServiceAccountIdentity) -> bool {
        let Some(rt) = self.registry.lookup("", "v1", "serviceaccounts") else { return false };
        let sa_ok = self.store.get(&rt.table, &key(&rt, &id.namespace, &id.name)).is_some_and(|s| s.uid == id.uid);
        let pod_ok = id.pod.as_ref().is_none_or(|p| {
            self.registry
                .lookup("", "v1", "pods")
                .and_then(|pods| self.store.get(&pods.table, &key(&pods, &id.namespace, &p.name)))
                .is_some_and(|s| s.uid == p.uid)
        });
        sa_ok && pod_ok
    }

    /// Applies `Impersonate-*` headers after checking the caller may impersonate each of them.
    pub fn impersonate(&self, user: UserInfo, headers: &HeaderMap) -> Result<UserInfo, ApiError> {
        let Some(target) = header(headers, "impersonate-user") else {
            if header(headers, "impersonate-group").is_some() {
                return Err(ApiError::internal("requested group impersonation without user impersonation"));
            }
            return Ok(user);
        };
        self.check_impersonate(&user, "", "users", "", &target)?;
        let mut groups: Vec<String> = Vec::new();
        for g in headers.get_all("impersonate-group").iter().filter_map(|v| v.to_str().ok()) {
            self.check_impersonate(&user, "", "groups", "", g)?;
            groups.push(g.to_string());
        }
        let mut extra = std::collections::BTreeMap::new();
        for (name, value) in headers.iter() {
            if let Some(k) = name.as_str().strip_prefix("impersonate-extra-") {
                let v = value.to_str().unwrap_or_default().to_string();
                self.check_impersonate(&user, "authentication.k8s.io", "userextras", k, &v)?;
                extra.entry(k.to_string()).or_insert_with(Vec::new).push(v);
            }
        }
        let uid = header(headers, "impersonate-uid").unwrap_or_default();
        if !uid.is_empty() {
            self.check_impersonate(&user, "authentication.k8s.io", "uids", "", &uid)?;
        }
        if let Some(rest) = target.strip_prefix("system:serviceaccount:")
            && let Some((ns, _)) = rest.split_once(':')
            && groups.is_empty()
        {
            groups = vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{ns}")];
        }
        if target != "system:anonymous" && !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Ok(UserInfo { name: target, uid, groups, extra })
    }

    fn check_impersonate(
        &self,
        user: &UserInfo,
        group: &str,
        resource: &str,
        sub: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let attrs = Attributes {
            user: user.clone(),
            verb: "impersonate".into(),
            resource_request: true,
            api_group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            name: name.into(),
            ..Default::default()
        };
        match self.decide(&attrs) {
            Decision::Allow { .. } => Ok(()),
            _ => Err(ApiError::forbidden(format!(
                "{resource} \"{name}\" is forbidden: User \"{}\" cannot impersonate resource \"{resource}\" in API group \"{group}\" at the cluster scope",
                user.name
            ))),
        }
    }

    pub fn attributes(user: &UserInfo, info: &RequestInfo) -> Attributes {
        Attributes {
            user: user.clone(),
            verb: info.verb.clone(),
            resource_request: info.resource_request,
            api_group: info.group.clone(),
            api_version: info.version.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone(),
            namespace: info.namespace.clone(),
            name: info.name.clone(),
            path: info.path.clone(),
        }
    }

    /// system:masters, then RBAC.
    pub fn decide(&self, attrs: &Attributes) -> Decision {
        if is_superuser(&attrs.user) {
            return Decision::Allow { reason: "system:masters".into() };
        }
        self.authorizer().authorize(attrs)
    }

    pub fn authorize(&self, attrs: &Attributes) -> Result<(), ApiError> {
        match self.decide(attrs) {
            Decision::Allow { .. } => Ok(()),
            Decision::Deny { reason } | Decision::NoOpinion { reason } => Err(forbidden(attrs, &reason)),
        }
    }

    /// The RBAC snapshot, rebuilt when any RBAC object changed since the last build.
    pub fn authorizer(&self) -> Arc<RbacAuthorizer> {
        let generation = self.rbac_generation.load(Ordering::SeqCst);
        if let Some((g, a)) = self.rbac_cache.read().as_ref()
            && *g == generation
        {
            return a.clone();
        }
        let built = Arc::new(self.build_authorizer());
        *self.rbac_cache.write() = Some((generation, built.clone()));
        built
    }

    fn build_authorizer(&self) -> RbacAuthorizer {
        RbacAuthorizer::new(
            self.typed_all("roles"),
            self.typed_all("clusterroles"),
            self.typed_all("rolebindings"),
            self.typed_all("clusterrolebindings"),
        )
    }

    fn typed_all<T: serde::de::DeserializeOwned>(&self, plural: &str) -> Vec<T> {
        let Some(rt) = self.registry.lookup("rbac.authorization.k8s.io", "v1", plural) else { return Vec::new() };
        let (_, objects) = self.store.snapshot(&rt.table);
        objects.values().filter_map(|s| serde_json::from_slice(&s.json).ok()).collect()
    }
}

/// kube-apiserver's 403 for a refused request.
pub fn forbidden(attrs: &Attributes, reason: &str) -> ApiError {
    ApiError::forbidden(forbidden_message(attrs, reason))
        .with_details(serde_json::json!({"name": attrs.name, "group": attrs.api_group, "kind": attrs.resource}))
}

fn anonymous() -> UserInfo {
    UserInfo { name: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()], ..Default::default() }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}
