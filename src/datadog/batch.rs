//! Resolving one chunk of queries (same window) into one result per query. Better than the DCA
//! (its issue #2996): when Datadog refuses a batch (400/422, an error in a 200 reply, a reply too
//! large) or the reply does not match the batch (a series without or with a wrong `query_index`),
//! the batch is bisected until only the guilty query carries the error; a query missing from a
//! multi-query reply is asked once more with the other missing ones before it is declared
//! without series. Rate limits and endpoint failures are never split: they concern every query.
//! A chunk's calls are bounded (enough to isolate a few bad queries), so an endpoint that answers
//! every batch wrongly costs a handful of calls, not one per query.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::extract::{self, Mismatch};
use super::failover::FailoverClient;
use super::{Point, QueryError};

pub type Outcome = Result<Point, QueryError>;
type Boxed<'a> = Pin<Box<dyn Future<Output = Vec<Outcome>> + Send + 'a>>;

/// One time range (`from = now - window`, `to = now`) against one client.
#[derive(Clone, Copy)]
pub struct Run<'a> {
    pub client: &'a FailoverClient,
    pub window: Duration,
    pub now_s: i64,
    /// Calls this chunk may still make after its first (see [`call_budget`]).
    pub calls_left: &'a AtomicUsize,
}

/// Calls allowed for a chunk of `n` queries: the first, then two per bisection level for up to
/// two bad queries.
pub fn call_budget(n: usize) -> usize {
    let levels = usize::BITS - n.max(1).next_power_of_two().leading_zeros() - 1;
    1 + 4 * levels as usize
}

impl<'a> Run<'a> {
    /// One outcome per query, in order.
    pub fn resolve(self, queries: &'a [String], recheck_missing: bool) -> Boxed<'a> {
        Box::pin(async move {
            let from = self.now_s - i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX / 2);
            let joined = queries.join(",");
            let reply = match self.client.query(&joined, from, self.now_s).await {
                Ok(reply) => reply,
                Err(e) if e.is_batch_specific() && queries.len() > 1 => {
                    tracing::debug!(queries = queries.len(), error = %e, "batch refused; bisecting");
                    let err = QueryError::from_call(&e, false);
                    return self.bisect(queries, err).await;
                }
                Err(e) => return vec![Err(QueryError::from_call(&e, queries.len() == 1)); queries.len()],
            };
            match extract::assign(&reply.series, queries, self.window) {
                Err(Mismatch(why)) if queries.len() > 1 => {
                    tracing::warn!(query = %joined, reason = %why, "Received Serie that does not match the submitted query batch; bisecting");
                    self.bisect(queries, QueryError::MismatchedReply).await
                }
                Err(Mismatch(why)) => {
                    tracing::warn!(query = %joined, reason = %why, "Received Serie that does not match the submitted query");
                    vec![Err(QueryError::MismatchedReply)]
                }
                Ok(assigned) => self.complete(queries, assigned, recheck_missing).await,
            }
        })
    }

    /// Both halves, each only if the chunk has calls left (else `err` stands for the half).
    fn bisect(self, queries: &'a [String], err: QueryError) -> Boxed<'a> {
        Box::pin(async move {
            let (left, right) = queries.split_at(queries.len() / 2);
            let (mut a, b) = futures::join!(
                self.resolve_within_budget(left, true, &err),
                self.resolve_within_budget(right, true, &err)
            );
            a.extend(b);
            a
        })
    }

    async fn resolve_within_budget<'b>(self, queries: &'b [String], recheck: bool, err: &QueryError) -> Vec<Outcome>
    where
        'a: 'b,
    {
        let taken = self.calls_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if taken.is_err() {
            return vec![Err(err.clone()); queries.len()];
        }
        Run { client: self.client, window: self.window, now_s: self.now_s, calls_left: self.calls_left }
            .resolve(queries, recheck)
            .await
    }

    async fn complete(self, queries: &'a [String], assigned: Vec<extract::Assigned>, recheck: bool) -> Vec<Outcome> {
        let missing: Vec<usize> = (0..queries.len()).filter(|&i| assigned[i].is_none()).collect();
        let mut out: Vec<Option<Outcome>> = assigned
            .into_iter()
            .map(|a| {
                a.map(|r| {
                    r.map(|(point, tag)| {
                        self.client.telemetry.processed(&tag, point.value, self.now_s - point.timestamp_s);
                        point
                    })
                })
            })
            .collect();
        if recheck && queries.len() > 1 && !missing.is_empty() && missing.len() < queries.len() {
            let again: Vec<String> = missing.iter().map(|&i| queries[i].clone()).collect();
            let second = self.resolve_within_budget(&again, false, &QueryError::NoSeries).await;
            for (i, r) in missing.into_iter().zip(second) {
                out[i] = Some(r);
            }
        }
        out.into_iter().map(|r| r.unwrap_or(Err(QueryError::NoSeries))).collect()
    }
}
