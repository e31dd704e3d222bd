//! The list-then-watch loop of one target's pods, with the semantics of kube-runtime's `watcher`
//! (paged list of 500, then a watch from the list's resourceVersion with bookmarks, resumed from
//! the last resourceVersion when it ends, a relist on 410 Gone, backoff from 0.8 s doubling to
//! 30 s on errors) but a lighter watch stream: there is one per DPA target, and kube-client's
//! keeps an 8 KiB line buffer for each (a `FramedRead`) plus a boxed decoding stream, the
//! largest per-target items after the DPA objects in the heap profile (BENCHMARKS.md, issue #6,
//! session 5). Here watch lines are decoded straight from the HTTP body's chunks; only a line cut
//! across chunks is copied, into a buffer freed once that line is complete.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use kube::api::{Api, ListParams, WatchParams};
use kube::core::WatchEvent;
use kube::runtime::watcher::Event;

use super::fields::PodFields;

/// kube-runtime's default backoff: 800 ms doubling to 30 s, reset by progress.
const FIRST_DELAY: Duration = Duration::from_millis(800);
const MAX_DELAY: Duration = Duration::from_secs(30);
/// A watch that ends sooner than this without an event is retried after the backoff delay.
const QUICK_END: Duration = Duration::from_secs(10);
/// Longest watch line accepted (kube-apiserver caps objects at 1.5 MiB; a pod is a few KiB).
const MAX_LINE: usize = 16 << 20;
const PAGE_SIZE: u32 = 500;

/// Lists, then watches, the pods `selector` selects in `namespace`, handing every event to `on`
/// (`Init`, `InitApply`…, `InitDone` for each list, then `Apply`/`Delete`); errors are logged
/// with `what` and retried. Runs until its task is aborted.
pub async fn run(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    what: &str,
    mut on: impl FnMut(Event<PodFields>),
) {
    let api: Api<PodFields> = Api::namespaced(client.clone(), namespace);
    let mut delay = FIRST_DELAY;
    let mut version: Option<String> = None;
    loop {
        let from = match version.take() {
            Some(v) => v,
            // Boxed, as the watch request below: the task's future (allocated for as long as
            // the target is watched) is sized by its largest await, and these two are rare.
            None => match Box::pin(list(&api, selector, &mut on)).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(target = what, error = %e, retry_in = ?delay, "listing the target's pods failed");
                    backoff(&mut delay).await;
                    continue;
                }
            },
        };
        let started = Instant::now();
        let (last, end) = watch(client, namespace, selector, from, &mut on).await;
        match end {
            End::Closed { events } if events > 0 || started.elapsed() >= QUICK_END => delay = FIRST_DELAY,
            End::Closed { .. } => backoff(&mut delay).await,
            End::Gone => tracing::info!(target = what, "pod watch expired (410 Gone): listing again"),
            End::Failed(ref e) => {
                tracing::warn!(target = what, error = %e, retry_in = ?delay, "pod watch failed; retrying");
                backoff(&mut delay).await;
            }
        }
        version = (!matches!(end, End::Gone)).then_some(last);
    }
}

async fn backoff(delay: &mut Duration) {
    tokio::time::sleep(*delay).await;
    *delay = (*delay * 2).min(MAX_DELAY);
}

/// One paged list as `Init`, `InitApply` per pod, `InitDone`; returns its resourceVersion.
async fn list(
    api: &Api<PodFields>,
    selector: &str,
    on: &mut impl FnMut(Event<PodFields>),
) -> Result<String, kube::Error> {
    let mut params = ListParams::default().labels(selector).limit(PAGE_SIZE);
    let mut started = false;
    loop {
        let page = api.list(&params).await?;
        if !started {
            on(Event::Init);
            started = true;
        }
        let version = page.metadata.resource_version.filter(|v| !v.is_empty());
        let next = page.metadata.continue_.filter(|c| !c.is_empty());
        page.items.into_iter().for_each(|pod| on(Event::InitApply(pod)));
        match (next, version) {
            (Some(token), _) => params.continue_token = Some(token),
            (None, Some(version)) => {
                on(Event::InitDone);
                return Ok(version);
            }
            (None, None) => {
                return Err(kube::Error::Service("the pod list carries no resourceVersion".into()));
            }
        }
    }
}

/// How a watch ended.
#[derive(Debug, PartialEq)]
enum End {
    /// The server closed it (its timeout): resume from the last resourceVersion.
    Closed {
        events: usize,
    },
    /// 410 Gone: the resourceVersion is too old, list again.
    Gone,
    Failed(String),
}

/// One watch from `version`; returns the last resourceVersion seen and how it ended.
async fn watch(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    version: String,
    on: &mut impl FnMut(Event<PodFields>),
) -> (String, End) {
    let mut state = WatchState { version, events: 0 };
    let end = match Box::pin(start(client, namespace, selector, &state.version)).await {
        Ok(body) => state.read(body, on).await,
        Err(end) => end,
    };
    (state.version, end)
}

/// Sends the watch request; the response body on success.
async fn start(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    version: &str,
) -> Result<kube::client::Body, End> {
    let params = WatchParams::default().labels(selector).timeout(290);
    let request = kube::core::Request::new(format!("/api/v1/namespaces/{namespace}/pods"));
    let mut request = request.watch(&params, version).map_err(|e| End::Failed(e.to_string()))?;
    request.extensions_mut().insert("watch");
    // As kube-client does: no compression on watch streams.
    request.headers_mut().insert(http::header::ACCEPT_ENCODING, http::HeaderValue::from_static("identity"));
    let response = client.send(request.map(kube::client::Body::from)).await.map_err(|e| End::Failed(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response.into_body());
    }
    if status == http::StatusCode::GONE {
        return Err(End::Gone);
    }
    let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    Err(End::Failed(format!("watch refused with {status}: {}", String::from_utf8_lossy(&body))))
}

struct WatchState {
    version: String,
    events: usize,
}

impl WatchState {
    /// Decodes the watch body line by line until it ends.
    async fn read(&mut self, mut body: kube::client::Body, on: &mut impl FnMut(Event<PodFields>)) -> End {
        let mut lines = Lines::default();
        loop {
            let chunk: Bytes = match body.frame().await {
                None => return End::Closed { events: self.events },
                Some(Err(e)) => return End::Failed(e.to_string()),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue,
                },
            };
            let mut end = None;
            let pushed = lines.push(&chunk, |line| match self.line(line, on) {
                Some(e) => {
                    end = Some(e);
                    false
                }
                None => true,
            });
            if let Err(e) = pushed {
                return End::Failed(e);
            }
            if let Some(end) = end {
                return end;
            }
        }
    }

    /// One watch event; `Some` ends the watch.
    fn line(&mut self, line: &[u8], on: &mut impl FnMut(Event<PodFields>)) -> Option<End> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let event = match serde_json::from_slice::<WatchEvent<PodFields>>(line) {
            Ok(event) => event,
            Err(e) => {
                // As kube's watcher: reported, and the watch goes on.
                tracing::warn!(error = %e, "unreadable pod watch event skipped");
                return None;
            }
        };
        let (pod, deleted) = match event {
            WatchEvent::Added(pod) | WatchEvent::Modified(pod) => (pod, false),
            WatchEvent::Deleted(pod) => (pod, true),
            WatchEvent::Bookmark(mark) => {
                self.version = mark.metadata.resource_version;
                return None;
            }
            WatchEvent::Error(status) if status.code == 410 => return Some(End::Gone),
            WatchEvent::Error(status) => {
                return Some(End::Failed(format!("watch error {}: {}", status.code, status.message)));
            }
        };
        match pod.metadata.resource_version.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => v.clone_into(&mut self.version),
            None => return Some(End::Failed("a pod watch event without resourceVersion".into())),
        }
        self.events += 1;
        on(if deleted { Event::Delete(pod) } else { Event::Apply(pod) });
        None
    }
}

/// Splits a byte stream into lines; holds only the unfinished tail of the last chunk.
#[derive(Default)]
struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    /// Calls `line` for each complete line of `chunk` (after what earlier chunks left) until it
    /// returns false; keeps the unfinished rest. Fails on a line over [`MAX_LINE`].
    fn push(&mut self, chunk: &[u8], mut line: impl FnMut(&[u8]) -> bool) -> Result<(), String> {
        let mut rest = chunk;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = (&rest[..at], &rest[at + 1..]);
            rest = tail;
            let go_on = if self.partial.is_empty() {
                line(head)
            } else {
                self.partial.extend_from_slice(head);
                let go_on = line(&self.partial);
                // Freed, not kept: most lines arrive whole, and an idle watch should hold nothing.
                self.partial = Vec::new();
                go_on
            };
            if !go_on {
                return Ok(());
            }
        }
        if self.partial.len() + rest.len() > MAX_LINE {
            self.partial = Vec::new();
            return Err(format!("a watch line longer than {MAX_LINE} bytes"));
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
