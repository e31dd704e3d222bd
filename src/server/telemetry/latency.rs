//! A request-latency histogram whose observation is two relaxed atomic adds. prometheus-client's
//! `Histogram` takes a mutex on every observation, and the secure port observes every request on
//! every serving thread, so all of them would queue on one lock. Exposed through
//! prometheus-client's encoder exactly as its `Histogram` is (same bounds with `+Inf`, same
//! series; tested below), so the scrape does not change. (On the 2-core bench machine the
//! throughput did not measurably change, issue #5 session 8; the lock matters with more threads.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Cloning shares the series (as prometheus-client's metrics do).
#[derive(Clone, Debug)]
pub struct LatencyHistogram(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// Finite upper bounds, ascending; the `+Inf` bucket follows them.
    bounds: Box<[f64]>,
    /// One count per bound, then the `+Inf` bucket's (their sum is the count of observations).
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl LatencyHistogram {
    /// Buckets with these upper bounds in seconds (non-finite ones dropped, as prometheus-client
    /// does; `+Inf` is always there).
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Self {
        let mut bounds: Vec<f64> = bounds.into_iter().filter(|b| b.is_finite()).collect();
        bounds.sort_by(f64::total_cmp);
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        LatencyHistogram(Arc::new(Inner { bounds: bounds.into(), counts, sum_nanos: AtomicU64::new(0) }))
    }

    pub fn observe(&self, elapsed: Duration) {
        let inner = &*self.0;
        let seconds = elapsed.as_secs_f64();
        // The first bucket whose bound is >= the value (`le`), else `+Inf`.
        let bucket = inner.bounds.partition_point(|b| *b < seconds);
        inner.counts[bucket].fetch_add(1, Ordering::Relaxed);
        inner.sum_nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let inner = &*self.0;
        // Read without a lock: a scrape racing an observation may see its bucket and not yet its
        // share of the sum (or the reverse); the next scrape agrees again.
        let buckets: Vec<(f64, u64)> = inner
            .bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(inner.counts.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = inner.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
    use prometheus_client::registry::Registry;

    use super::*;

    fn exposition(register: impl FnOnce(&mut Registry)) -> String {
        let mut registry = Registry::default();
        register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).expect("encodes");
        text
    }

    /// The same observations give prometheus-client's exposition, line for line (the sum to
    /// within float rounding: ours adds nanoseconds, theirs seconds).
    #[test]
    fn it_exposes_what_prometheus_clients_histogram_does() {
        let bounds = || exponential_buckets(0.0001, 2.0, 15);
        let (ours, theirs) = (LatencyHistogram::new(bounds()), Histogram::new(bounds()));
        let values = [0, 1, 99_999, 100_000, 100_001, 250_000, 1_638_400_000, 1_638_400_001, 5_000_000_000_u64];
        for nanos in values.iter().chain(&[12_345, 800_000, 800_000]) {
            ours.observe(Duration::from_nanos(*nanos));
            theirs.observe(Duration::from_nanos(*nanos).as_secs_f64());
        }
        let a = exposition(|r| r.register("latency", "help", ours.clone()));
        let b = exposition(|r| r.register("latency", "help", theirs.clone()));
        let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
        assert_eq!(a.len(), b.len(), "{a:#?}\n{b:#?}");
        for (x, y) in a.iter().zip(&b) {
            match (x.strip_prefix("latency_sum "), y.strip_prefix("latency_sum ")) {
                (Some(x), Some(y)) => {
                    let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                    assert!((x - y).abs() < 1e-9, "{x} vs {y}");
                }
                _ => assert_eq!(x, y),
            }
        }
        assert!(a.contains(&"latency_bucket{le=\"0.0001\"} 5"), "{a:#?}");
        assert!(a.contains(&"latency_bucket{le=\"+Inf\"} 12"), "{a:#?}");
    }

    #[test]
    fn observations_from_many_threads_are_all_counted() {
        let h = LatencyHistogram::new([0.001]);
        std::thread::scope(|s| {
            for t in 0..4 {
                let h = h.clone();
                s.spawn(move || {
                    for i in 0..10_000 {
                        h.observe(Duration::from_micros(if (i + t) % 2 == 0 { 500 } else { 1_500 }));
                    }
                });
            }
        });
        let text = exposition(|r| r.register("l", "help", h.clone()));
        assert!(text.contains("l_bucket{le=\"0.001\"} 20000"), "{text}");
        assert!(text.contains("l_bucket{le=\"+Inf\"} 40000"), "{text}");
        assert!(text.contains("l_count 40000"), "{text}");
        assert!(text.contains("l_sum 40.0"), "{text}");
    }
}
