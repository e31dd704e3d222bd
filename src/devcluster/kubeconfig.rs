//! The kubeconfig devcluster hands out: its CA and a bearer token.

use base64::Engine;

pub fn render(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: devcluster
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: devcluster-admin
  user:
    token: {token}
contexts:
- name: devcluster
  context:
    cluster: devcluster
    user: devcluster-admin
    namespace: default
current-context: devcluster
"
    )
}

pub fn parse(yaml: &str) -> anyhow::Result<kube::config::Kubeconfig> {
    Ok(kube::config::Kubeconfig::from_yaml(yaml)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rendered_kubeconfig_parses() {
        let kc = super::parse(&super::render("https://127.0.0.1:1", "PEM", "tok")).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("devcluster"));
        assert_eq!(kc.clusters[0].cluster.as_ref().unwrap().server.as_deref(), Some("https://127.0.0.1:1"));
    }
}
