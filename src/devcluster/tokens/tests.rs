use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::*;

const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
const NOW: i64 = 1_700_000_000;

fn issuer() -> TokenIssuer {
    TokenIssuer::new(ISSUER).expect("issuer")
}

fn auds(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn pod() -> BoundObject {
    BoundObject { kind: "Pod".to_string(), name: "web-0".to_string(), uid: "pod-uid".to_string() }
}

fn issue_default(issuer: &TokenIssuer, bound: Option<&BoundObject>) -> String {
    let (token, exp) = issuer.issue("team", "builder", "sa-uid", &auds(&[ISSUER]), 3600, bound, NOW).expect("issue");
    assert_eq!(exp, NOW + 3600);
    token
}

fn segment_json(token: &str, index: usize) -> serde_json::Value {
    let segment = token.split('.').nth(index).expect("segment");
    let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

#[test]
fn issue_then_verify_round_trips_the_identity() {
    let issuer = issuer();
    let token = issue_default(&issuer, Some(&pod()));
    let identity = issuer.verify(&token, &[], NOW + 10).expect("verify");
    assert_eq!(identity.namespace, "team");
    assert_eq!(identity.name, "builder");
    assert_eq!(identity.uid, "sa-uid");
    assert_eq!(identity.pod, Some(pod()));
    assert_eq!(identity.audiences, auds(&[ISSUER]));
    assert_eq!(identity.expires_at, NOW + 3600);
    assert_eq!(identity.user_name(), "system:serviceaccount:team:builder");
    assert_eq!(
        identity.groups(),
        auds(&["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"])
    );
    let extra = identity.extra();
    assert_eq!(extra[POD_NAME_KEY], auds(&["web-0"]));
    assert_eq!(extra[POD_UID_KEY], auds(&["pod-uid"]));
    assert_eq!(extra[CREDENTIAL_ID_KEY], vec![format!("JTI={}", identity.jti)]);
    assert!(uuid::Uuid::parse_str(&identity.jti).is_ok());
}

#[test]
fn token_layout_matches_kube_apiserver() {
    let issuer = issuer();
    let token = issue_default(&issuer, Some(&pod()));
    let header = segment_json(&token, 0);
    assert_eq!(header, json!({"alg": "ES256", "kid": issuer.key_id()}));
    let claims = segment_json(&token, 1);
    let keys: Vec<&str> = claims.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"]);
    assert_eq!(claims["aud"], json!([ISSUER]));
    assert_eq!(claims["sub"], "system:serviceaccount:team:builder");
    assert_eq!(
        claims["kubernetes.io"],
        json!({
            "namespace": "team",
            "pod": {"name": "web-0", "uid": "pod-uid"},
            "serviceaccount": {"name": "builder", "uid": "sa-uid"},
        })
    );
}

#[test]
fn unbound_and_node_bound_tokens_have_matching_extras() {
    let issuer = issuer();
    let plain = issuer.verify(&issue_default(&issuer, None), &[], NOW).expect("verify");
    assert_eq!(plain.pod, None);
    assert_eq!(plain.extra().keys().collect::<Vec<_>>(), [CREDENTIAL_ID_KEY]);

    let node = BoundObject { kind: "Node".to_string(), name: "node-1".to_string(), uid: "node-uid".to_string() };
    let bound = issuer.verify(&issue_default(&issuer, Some(&node)), &[], NOW).expect("verify");
    assert_eq!(bound.extra()[NODE_NAME_KEY], auds(&["node-1"]));
    assert_eq!(bound.extra()[NODE_UID_KEY], auds(&["node-uid"]));

    let bad = BoundObject { kind: "ConfigMap".to_string(), ..node };
    assert_eq!(
        issuer.issue("team", "builder", "u", &[], 600, Some(&bad), NOW),
        Err(TokenError::UnsupportedBoundObject("ConfigMap".to_string()))
    );
}

#[test]
fn wrong_audience_is_rejected() {
    let issuer = issuer();
    let (token, _) = issuer.issue("team", "builder", "u", &auds(&["vault"]), 600, None, NOW).expect("issue");
    assert_eq!(
        issuer.verify(&token, &[], NOW),
        Err(TokenError::InvalidAudience { token: "[\"vault\"]".to_string(), requested: format!("[{ISSUER:?}]") })
    );
    let identity = issuer.verify(&token, &auds(&["other", "vault"]), NOW).expect("verify");
    assert_eq!(identity.audiences, auds(&["vault"]));
}

#[test]
fn token_without_audience_is_for_the_api_server() {
    let issuer = issuer();
    let (token, _) = issuer.issue("team", "builder", "u", &[], 600, None, NOW).expect("issue");
    assert!(segment_json(&token, 1).get("aud").is_none());
    assert_eq!(issuer.verify(&token, &[], NOW).expect("verify").audiences, auds(&[ISSUER]));
}

#[test]
fn expiry_and_not_before_allow_sixty_seconds_of_leeway() {
    let issuer = issuer();
    let token = issue_default(&issuer, None);
    let exp = NOW + 3600;
    assert!(issuer.verify(&token, &[], exp + LEEWAY_SECONDS).is_ok());
    assert_eq!(issuer.verify(&token, &[], exp + LEEWAY_SECONDS + 1), Err(TokenError::Expired));
    assert!(issuer.verify(&token, &[], NOW - LEEWAY_SECONDS).is_ok());
    assert_eq!(issuer.verify(&token, &[], NOW - LEEWAY_SECONDS - 1), Err(TokenError::NotYetValid));
}

#[test]
fn tampered_tokens_are_rejected() {
    let issuer = issuer();
    let token = issue_default(&issuer, None);
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();

    // Flip a bit of the signature.
    let mut signature = URL_SAFE_NO_PAD.decode(&parts[2]).expect("base64");
    signature[10] ^= 0x01;
    let mut forged = parts.clone();
    forged[2] = URL_SAFE_NO_PAD.encode(&signature);
    assert_eq!(issuer.verify(&forged.join("."), &[], NOW), Err(TokenError::InvalidSignature));

    // Swap in other claims under the original signature.
    let mut claims = segment_json(&token, 1);
    claims["sub"] = json!("system:serviceaccount:kube-system:admin");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_eq!(issuer.verify(&parts.join("."), &[], NOW), Err(TokenError::InvalidSignature));
}

#[test]
fn garbage_and_other_algorithms_are_rejected_without_panicking() {
    let issuer = issuer();
    for junk in ["", "a.b", "a.b.c", "....", "eyJhbGciOiJub25lIn0.e30."] {
        assert!(matches!(issuer.verify(junk, &[], NOW), Err(TokenError::Malformed(_))), "{junk:?}");
    }
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &json!({"iss": ISSUER, "sub": "system:serviceaccount:a:b"}),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .expect("encode");
    assert!(issuer.verify(&hs256, &[], NOW).is_err());
}

#[test]
fn tokens_from_another_issuer_instance_are_rejected() {
    let ours = issuer();
    let theirs = issuer();
    assert_ne!(ours.key_id(), theirs.key_id());
    let token = issue_default(&theirs, None);
    assert_eq!(ours.verify(&token, &[], NOW), Err(TokenError::InvalidSignature));

    let elsewhere = TokenIssuer::new("https://elsewhere.example").expect("issuer");
    let (foreign, _) = elsewhere.issue("team", "builder", "u", &auds(&[ISSUER]), 600, None, NOW).expect("issue");
    assert!(elsewhere.verify(&foreign, &auds(&[ISSUER]), NOW).is_ok());
    assert_eq!(ours.verify(&foreign, &[], NOW), Err(TokenError::InvalidSignature));
}

#[test]
fn tokens_decode_with_jsonwebtoken_using_only_the_jwks() {
    let issuer = issuer();
    let token = issue_default(&issuer, Some(&pod()));
    let jwks_text = issuer.jwks().to_string();

    let set: JwkSet = serde_json::from_str(&jwks_text).expect("jwks parses");
    let header = jsonwebtoken::decode_header(&token).expect("header");
    let kid = header.kid.expect("kid");
    let jwk = set.find(&kid).expect("kid in jwks");
    let key = DecodingKey::from_jwk(jwk).expect("decoding key from jwk");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[ISSUER]);
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).expect("decode");
    assert_eq!(data.claims["kubernetes.io"]["serviceaccount"]["name"], "builder");
}

#[test]
fn jwks_and_discovery_documents_have_kube_shape() {
    let issuer = issuer();
    let jwks = issuer.jwks();
    let key = &jwks["keys"][0];
    let fields: Vec<&str> = key.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(fields, ["use", "kty", "kid", "crv", "alg", "x", "y"]);
    assert_eq!(URL_SAFE_NO_PAD.decode(key["x"].as_str().expect("x")).expect("b64").len(), 32);
    assert_eq!(URL_SAFE_NO_PAD.decode(issuer.key_id()).expect("b64").len(), 32);
    assert_eq!(
        issuer.openid_configuration(),
        json!({
            "issuer": ISSUER,
            "jwks_uri": format!("{ISSUER}/openid/v1/jwks"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    );
}

#[test]
fn non_positive_expiration_is_rejected() {
    let issuer = issuer();
    assert_eq!(issuer.issue("team", "builder", "u", &[], 0, None, NOW), Err(TokenError::InvalidExpiration(0)));
}
