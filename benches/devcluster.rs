//! devcluster scale figures: populate N pods, then a paged list of all of them over HTTPS
//! (kube-rs, limit 500) and an unpaged list; prints times and the process RSS.
//! Run: `cargo bench --bench devcluster -- [pods]` (default 50,000; the issue also asks for 100,000).

use std::time::Instant;

use autoscaling_apiserver::devcluster::{Config, DevCluster, PopulateSpec};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pods: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(50_000);
    let dc = DevCluster::start(Config::default()).await?;
    let base = rss_mib();
    let t = Instant::now();
    let created = dc.populate(&PopulateSpec { pods, namespaces: 50, pods_per_owner: 10 })?;
    println!(
        "populate: {created} objects ({pods} pods) in {:.2?}; RSS {:.0} MiB (+{:.0} MiB over empty)",
        t.elapsed(),
        rss_mib(),
        rss_mib() - base
    );

    let api: Api<Pod> = Api::all(dc.client().await?);
    for round in 0..3 {
        let t = Instant::now();
        let mut seen = 0;
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().limit(500);
            if let Some(c) = &token {
                lp = lp.continue_token(c);
            }
            let page = api.list(&lp).await?;
            seen += page.items.len();
            token = page.metadata.continue_.filter(|c| !c.is_empty());
            if token.is_none() {
                break;
            }
        }
        println!(
            "paged list (kube-rs, limit=500, decoded into Pod structs) round {round}: {seen} pods in {:.2?}",
            t.elapsed()
        );
    }
    let http = reqwest_client(&dc)?;
    let t = Instant::now();
    let body =
        http.get(format!("{}/api/v1/pods", dc.url())).bearer_auth(dc.admin_token()).send().await?.bytes().await?;
    println!("unpaged list (raw bytes): {} MiB in {:.2?}", body.len() / (1024 * 1024), t.elapsed());
    println!("final RSS {:.0} MiB", rss_mib());
    dc.shutdown().await;
    Ok(())
}

fn reqwest_client(dc: &DevCluster) -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(dc.ca_pem().as_bytes())?;
    Ok(reqwest::Client::builder().add_root_certificate(ca).build()?)
}
