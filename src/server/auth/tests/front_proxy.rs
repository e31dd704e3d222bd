//! Certificate authenticators: kube-aggregator's front-proxy identity and client-CA certificates.

use std::collections::BTreeMap;

use super::super::{
    AuthConfigWatch, AuthError, Authenticated, Authenticator, AuthnOptions, FrontProxyMemo, PeerIdentity, UserInfo,
};
use super::support::{admin, authenticator, bearer, cluster, front_proxy_config, front_proxy_peer, headers};

fn user(name: &str, groups: &[&str]) -> UserInfo {
    UserInfo { name: name.into(), groups: groups.iter().map(|g| g.to_string()).collect(), ..Default::default() }
}

#[tokio::test]
async fn front_proxy_headers_name_the_user() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let request = headers(&[
        ("x-remote-user", "system:kube-aggregator"),
        ("x-remote-uid", "uid-1"),
        ("x-remote-group", "system:masters"),
        ("x-remote-group", "team-a"),
        ("x-remote-extra-acme.com%2Fproject", "alpha"),
        ("x-remote-extra-acme.com%2Fproject", "beta"),
        ("x-remote-extra-Scopes", "view"),
        ("x-remote-extra-bad%zzkey", "kept"),
    ]);
    let got = authn.authenticate(&front_proxy_peer("front-proxy-client"), &request).await.unwrap();
    let extra = BTreeMap::from([
        ("acme.com/project".to_string(), vec!["alpha".to_string(), "beta".to_string()]),
        ("bad%zzkey".to_string(), vec!["kept".to_string()]),
        ("scopes".to_string(), vec!["view".to_string()]),
    ]);
    let expected = UserInfo {
        name: "system:kube-aggregator".into(),
        uid: "uid-1".into(),
        groups: vec!["system:masters".into(), "team-a".into(), "system:authenticated".into()],
        extra,
    };
    assert_eq!(got, Authenticated::User(expected));
    dc.shutdown().await;
}

#[tokio::test]
async fn a_user_without_groups_still_gets_system_authenticated() {
    // What kube-apiserver sends when fetching /openapi/v2: user system:aggregator, no groups.
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let request = headers(&[("x-remote-user", "system:aggregator")]);
    let got = authn.authenticate(&front_proxy_peer("front-proxy-client"), &request).await.unwrap();
    assert_eq!(got, Authenticated::User(user("system:aggregator", &["system:authenticated"])));
    dc.shutdown().await;
}

#[tokio::test]
async fn spoofed_front_proxy_headers_are_ignored_without_the_front_proxy_certificate() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let spoofed = headers(&[("x-remote-user", "system:admin"), ("x-remote-group", "system:masters")]);
    let no_cert = authn.authenticate(&PeerIdentity::default(), &spoofed).await.unwrap();
    assert_eq!(no_cert, Authenticated::Anonymous);

    let client_cert = PeerIdentity {
        client_ca: true,
        common_name: Some("alice".into()),
        organizations: vec!["dev".into()],
        ..Default::default()
    };
    let got = authn.authenticate(&client_cert, &spoofed).await.unwrap();
    assert_eq!(got, Authenticated::User(user("alice", &["dev", "system:authenticated"])));
    dc.shutdown().await;
}

#[tokio::test]
async fn a_front_proxy_common_name_outside_allowed_names_is_a_401() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let request = headers(&[("x-remote-user", "system:admin"), ("x-remote-group", "system:masters")]);
    let err = authn.authenticate(&front_proxy_peer("someone-else"), &request).await.unwrap_err();
    assert_eq!(err.status_code(), 401);
    // The front-proxy certificate is not a client-CA one either: both authenticators fail, as in Go.
    assert_eq!(
        err.to_string(),
        "x509: subject with cn=someone-else is not in the allowed list, verifying certificate failed: x509: certificate signed by unknown authority (client CA)"
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn empty_allowed_names_accept_any_front_proxy_common_name() {
    let dc = cluster().await;
    let mut config = front_proxy_config();
    config.allowed_names.clear();
    let authn = Authenticator::new(admin(&dc).await, AuthConfigWatch::fixed(config), AuthnOptions::default());
    let request = headers(&[("x-remote-user", "bob")]);
    let got = authn.authenticate(&front_proxy_peer("any-proxy"), &request).await.unwrap();
    assert_eq!(got, Authenticated::User(user("bob", &["system:authenticated"])));
    dc.shutdown().await;
}

#[tokio::test]
async fn a_front_proxy_certificate_without_a_user_header_fails() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let err = authn.authenticate(&front_proxy_peer("front-proxy-client"), &headers(&[])).await.unwrap_err();
    assert_eq!(err, AuthError::UnknownAuthority { ca: "client" });
    dc.shutdown().await;
}

#[tokio::test]
async fn client_ca_certificates_name_user_and_groups() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let peer = PeerIdentity {
        client_ca: true,
        common_name: Some("system:kube-controller-manager".into()),
        organizations: vec!["ops".into(), "system:authenticated".into()],
        ..Default::default()
    };
    let got = authn.authenticate(&peer, &headers(&[])).await.unwrap();
    assert_eq!(got, Authenticated::User(user("system:kube-controller-manager", &["ops", "system:authenticated"])));

    let nameless = PeerIdentity { client_ca: true, common_name: Some(String::new()), ..Default::default() };
    let err = authn.authenticate(&nameless, &headers(&[])).await.unwrap_err();
    assert_eq!(err, AuthError::UnknownAuthority { ca: "requestheader" }, "no CN authenticates nobody");
    dc.shutdown().await;
}

#[tokio::test]
async fn a_certificate_from_neither_ca_fails_unless_a_token_succeeds() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let stranger = PeerIdentity { common_name: Some("mallory".into()), ..Default::default() };
    let err = authn.authenticate(&stranger, &headers(&[("x-remote-user", "system:admin")])).await.unwrap_err();
    assert!(matches!(err, AuthError::Unauthenticated(ref all) if all.len() == 2), "{err:?}");

    let with_token = bearer(dc.admin_token());
    let got = authn.authenticate(&stranger, &with_token).await.unwrap();
    assert_eq!(got, Authenticated::User(user("kubernetes-admin", &["system:masters", "system:authenticated"])));
    dc.shutdown().await;
}

#[tokio::test]
async fn a_connection_memo_shares_the_user_only_while_its_headers_are_the_same() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let peer = front_proxy_peer("front-proxy-client");
    let base = [
        ("x-remote-user", "alice"),
        ("x-remote-group", "dev"),
        ("x-remote-group", "ops"),
        ("x-remote-extra-scopes", "view"),
        ("user-agent", "kube-aggregator"),
    ];
    let memo = FrontProxyMemo::default();
    let shared = |pairs: Vec<(&'static str, &'static str)>| {
        let (authn, peer, memo) = (&authn, &peer, &memo);
        async move {
            let request = headers(&pairs);
            let got = authn.authenticate_shared(peer, &request, Some(memo)).await;
            let fresh = authn.authenticate(peer, &request).await;
            (got, fresh)
        }
    };
    let (first, fresh) = shared(base.to_vec()).await;
    let first = first.unwrap().expect("a user");
    assert_eq!(Authenticated::User((*first).clone()), fresh.unwrap());
    let (again, _) = shared(base.to_vec()).await;
    assert!(std::sync::Arc::ptr_eq(&first, &again.unwrap().unwrap()), "same headers: the remembered user");
    // A header the front proxy does not read changes nothing.
    let mut other_agent = base.to_vec();
    other_agent[4] = ("user-agent", "curl");
    assert!(std::sync::Arc::ptr_eq(&first, &shared(other_agent).await.0.unwrap().unwrap()));
    // Headers added, dropped or reordered around the same user's: read again, the same user.
    let mut more = base.to_vec();
    more.insert(1, ("audit-id", "42"));
    let mut fewer = base.to_vec();
    fewer.pop();
    let mut reordered = base.to_vec();
    reordered.rotate_left(1);
    for pairs in [more, fewer, reordered] {
        let (got, fresh) = shared(pairs.clone()).await;
        let got = got.unwrap().expect("a user");
        assert_eq!(*got, *first, "{pairs:?}");
        assert_eq!(Authenticated::User((*got).clone()), fresh.unwrap(), "{pairs:?}");
    }
    shared(base.to_vec()).await.0.unwrap();

    let changed: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("x-remote-user", "bob"),
            ("x-remote-group", "dev"),
            ("x-remote-group", "ops"),
            ("x-remote-extra-scopes", "view"),
        ],
        vec![("x-remote-user", "alice"), ("x-remote-group", "dev"), ("x-remote-extra-scopes", "view")],
        vec![
            ("x-remote-user", "alice"),
            ("x-remote-group", "dev"),
            ("x-remote-group", "admin"),
            ("x-remote-extra-scopes", "view"),
        ],
        vec![("x-remote-user", "alice"), ("x-remote-group", "dev"), ("x-remote-group", "ops")],
        vec![
            ("x-remote-user", "alice"),
            ("x-remote-group", "dev"),
            ("x-remote-group", "ops"),
            ("x-remote-extra-scopes", "edit"),
        ],
        vec![
            ("x-remote-user", "alice"),
            ("x-remote-uid", "7"),
            ("x-remote-group", "dev"),
            ("x-remote-group", "ops"),
            ("x-remote-extra-scopes", "view"),
        ],
        vec![("x-remote-user", "alice"), ("x-remote-group", "devops"), ("x-remote-extra-scopes", "view")],
        vec![
            ("x-remote-user", "alice"),
            ("x-remote-group", "ops"),
            ("x-remote-group", "dev"),
            ("x-remote-extra-scopes", "view"),
            ("user-agent", "kube-aggregator"),
        ],
        vec![
            ("x-remote-user", "alice"),
            ("x-remote-group", "dev"),
            ("x-remote-group", "ops"),
            ("x-remote-extra-scopes", "view"),
            ("x-remote-extra-scopes", "edit"),
        ],
    ];
    for pairs in changed {
        let (got, fresh) = shared(pairs.clone()).await;
        let got = got.unwrap().expect("a user");
        assert!(!std::sync::Arc::ptr_eq(&first, &got), "{pairs:?}");
        assert_eq!(Authenticated::User((*got).clone()), fresh.unwrap(), "{pairs:?}");
    }
    // No username header: not the front proxy's user, whatever the memo holds.
    let (none, fresh) = shared(vec![("x-remote-group", "dev")]).await;
    assert!(none.is_err() && fresh.is_err());
    // The certificate is checked on every request, remembered user or not.
    shared(base.to_vec()).await.0.unwrap();
    let err = authn.authenticate_shared(&front_proxy_peer("someone-else"), &headers(&base), Some(&memo)).await;
    let err = err.expect_err("a front proxy outside the allowed names");
    assert!(err.to_string().contains("cn=someone-else is not in the allowed list"), "{err}");
    dc.shutdown().await;
}
