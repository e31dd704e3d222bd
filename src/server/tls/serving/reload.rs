//! Hot reload: poll the certificate files' contents (following symlinks, so a Secret volume's
//! `..data` swap is seen) and swap in a new pair; renew a self-signed certificate before it expires.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{CertFiles, FileBytes, Origin, ServingCerts};
use crate::server::tls::TlsError;
use crate::server::tls::pem;
use crate::server::tls::self_signed::SelfSignedCa;

/// Polling faster than this only burns CPU (and `tokio::time::interval` rejects zero).
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// A self-signed serving certificate is renewed this long before it expires.
const RENEW_BEFORE_SECS: i64 = 30 * 24 * 3600;

/// What the poller remembers between ticks.
#[derive(Default)]
struct PollState {
    /// Contents last acted on (loaded, or rejected twice in a row).
    seen: FileBytes,
    /// Contents rejected once: they may be a half-written update, so try once more before warning.
    rejected_once: Option<FileBytes>,
    /// A read error was already logged; stay quiet until reads succeed again.
    read_error_logged: bool,
}

impl ServingCerts {
    /// Poll the files every `interval`; on a content change, load and swap. A bad new pair is
    /// logged and counted (`reload_failure_count`), and the old one kept. Self-signed mode: renew
    /// the serving certificate from the same CA 30 days before it expires. Ends when `stop`
    /// becomes true or its sender is dropped.
    pub fn spawn_reloader(self: &Arc<Self>, interval: Duration, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move { this.run_reloader(interval.max(MIN_INTERVAL), stop).await })
    }

    async fn run_reloader(&self, interval: Duration, mut stop: watch::Receiver<bool>) {
        let mut state = PollState { seen: self.loaded_bytes(), ..PollState::default() };
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker.tick().await;
        while !*stop.borrow_and_update() {
            tokio::select! {
                _ = ticker.tick() => self.poll(&mut state).await,
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
    }

    fn loaded_bytes(&self) -> FileBytes {
        match &self.origin {
            Origin::Files(files) => FileBytes { cert: files.loaded.cert.clone(), key: files.loaded.key.clone() },
            Origin::SelfSigned(_) => FileBytes::default(),
        }
    }

    async fn poll(&self, state: &mut PollState) {
        match &self.origin {
            Origin::Files(files) => self.poll_files(files, state).await,
            Origin::SelfSigned(ca) => self.renew_if_expiring(ca, unix_now()),
        }
    }

    async fn poll_files(&self, files: &CertFiles, state: &mut PollState) {
        let bytes = match read_files(files).await {
            Ok(bytes) => bytes,
            Err(error) => return log_read_error(state, &error),
        };
        state.read_error_logged = false;
        if bytes == state.seen {
            return;
        }
        match pem::serving_pair(&files.cert, &bytes.cert, &files.key, &bytes.key) {
            Ok(pair) => {
                self.install(pair);
                tracing::info!(cert = %files.cert.display(), reloads = self.reload_count(), "serving certificate reloaded");
            }
            Err(error) if state.rejected_once.as_ref() != Some(&bytes) => {
                tracing::debug!(%error, "changed serving certificate not loadable yet; retrying once");
                state.rejected_once = Some(bytes);
                return;
            }
            Err(error) => self.reject(&error),
        }
        state.rejected_once = None;
        state.seen = bytes;
    }

    /// Self-signed mode: issue a new serving certificate from the same CA when close to expiry.
    pub(in crate::server::tls) fn renew_if_expiring(&self, ca: &SelfSignedCa, now: i64) {
        if now < self.not_after_unix().saturating_sub(RENEW_BEFORE_SECS) {
            return;
        }
        match ca.issue_serving() {
            Ok(pair) => {
                self.install(pair);
                tracing::info!(not_after = self.not_after_unix(), "self-signed serving certificate renewed");
            }
            Err(error) => self.reject(&error),
        }
    }

    /// The self-signed CA, if this is self-signed mode.
    #[cfg(test)]
    pub(in crate::server::tls) fn self_signed_ca(&self) -> Option<&SelfSignedCa> {
        match &self.origin {
            Origin::SelfSigned(ca) => Some(ca),
            Origin::Files(_) => None,
        }
    }

    fn reject(&self, error: &TlsError) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%error, "new serving certificate rejected; still serving the previous one");
    }
}

async fn read_files(files: &CertFiles) -> Result<FileBytes, TlsError> {
    let read = async |path: &std::path::Path| {
        tokio::fs::read(path).await.map_err(|source| TlsError::Read { path: path.to_owned(), source })
    };
    Ok(FileBytes { cert: read(&files.cert).await?, key: read(&files.key).await? })
}

fn log_read_error(state: &mut PollState, error: &TlsError) {
    if !state.read_error_logged {
        tracing::warn!(%error, "cannot read the serving certificate files; still serving the previous one");
        state.read_error_logged = true;
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
