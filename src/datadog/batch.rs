//! Resolving one chunk of queries (same window) into one result per query. Better than the DCA
//! (its issue #2996): when Datadog refuses a batch (400/422, an error in a 200 reply, a reply too
//! large) or the reply does not match the batch (a series without or with a wrong `query_index`),
//! the batch is bisected until only the guilty query carries the error; a query missing from a
//! multi-query reply is asked once more with the other missing ones before it is declared
//! without series. Rate limits and endpoint failures are never split: they concern every query.

use std::future::Future;
use std::pin::Pin;
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
                    return self.bisect(queries).await;
                }
                Err(e) => return vec![Err(QueryError::from_call(&e, queries.len() == 1)); queries.len()],
            };
            match extract::assign(&reply.series, queries, self.window) {
                Err(Mismatch(why)) if queries.len() > 1 => {
                    tracing::warn!(query = %joined, reason = %why, "Received Serie that does not match the submitted query batch; bisecting");
                    self.bisect(queries).await
                }
                Err(Mismatch(why)) => {
                    tracing::warn!(query = %joined, reason = %why, "Received Serie that does not match the submitted query");
                    vec![Err(QueryError::MismatchedReply)]
                }
                Ok(assigned) => self.complete(queries, assigned, recheck_missing).await,
            }
        })
    }

    fn bisect(self, queries: &'a [String]) -> Boxed<'a> {
        Box::pin(async move {
            let (left, right) = queries.split_at(queries.len() / 2);
            let (mut a, b) = futures::join!(self.resolve(left, true), self.resolve(right, true));
            a.extend(b);
            a
        })
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
            let second = self.resolve(&again, false).await;
            for (i, r) in missing.into_iter().zip(second) {
                out[i] = Some(r);
            }
        }
        out.into_iter().map(|r| r.unwrap_or(Err(QueryError::NoSeries))).collect()
    }
}
