//! `X-RateLimit-*` headers (Datadog docs "Rate Limits"): limit per period, period in seconds,
//! remaining calls and seconds until the period resets. Header names are matched
//! case-insensitively (they arrive as `X-Ratelimit-*`); unreadable values are left out.

use std::time::{Duration, Instant, SystemTime};

use http::HeaderMap;

/// The rate-limit state an endpoint last reported.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    pub limit: Option<i64>,
    pub period: Option<i64>,
    pub remaining: Option<i64>,
    /// Seconds until the period resets, as reported.
    pub reset: Option<i64>,
    /// `X-RateLimit-Name`, the bucket.
    pub name: Option<String>,
    /// When the reply carrying these headers arrived.
    pub observed_at: SystemTime,
    pub(crate) observed: Instant,
}

impl RateLimit {
    /// Reads the headers; `None` when none of them is present.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateLimit> {
        let int = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
        let name = headers.get("x-ratelimit-name").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let limit = RateLimit {
            limit: int("x-ratelimit-limit"),
            period: int("x-ratelimit-period"),
            remaining: int("x-ratelimit-remaining"),
            reset: int("x-ratelimit-reset"),
            name,
            observed_at: SystemTime::now(),
            observed: Instant::now(),
        };
        let any = limit.limit.is_some() || limit.period.is_some() || limit.remaining.is_some() || limit.reset.is_some();
        any.then_some(limit)
    }

    /// When the period resets (observation time + `reset` seconds), if reported.
    pub fn reset_at(&self) -> Option<SystemTime> {
        self.reset_after().map(|d| self.observed_at + d)
    }

    /// Seconds until reset as a duration (negative values read as zero).
    pub(crate) fn reset_after(&self) -> Option<Duration> {
        self.reset.map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)))
    }

    /// The instant before which the endpoint must not be called: a 429, or no call left.
    pub(crate) fn exhausted_until(&self, fallback: Duration) -> Instant {
        self.observed + self.reset_after().unwrap_or(fallback)
    }
}

/// The smallest `remaining` seen within an expiry window (DCA `rate_limit_queries_remaining_min`,
/// window 2 × refresh period).
#[derive(Debug)]
pub struct MinTracker {
    value: Option<i64>,
    since: Instant,
    expiry: Duration,
}

impl MinTracker {
    pub fn new(expiry: Duration) -> Self {
        MinTracker { value: None, since: Instant::now(), expiry }
    }

    pub fn update(&mut self, remaining: i64) -> i64 {
        let expired = self.since.elapsed() > self.expiry;
        if expired || self.value.is_none_or(|v| remaining <= v) {
            self.value = Some(remaining);
            self.since = Instant::now();
        }
        self.value.unwrap_or(remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_read_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert("X-Ratelimit-Limit", "1600".parse().unwrap());
        h.insert("x-ratelimit-period", "3600".parse().unwrap());
        h.insert("X-RATELIMIT-REMAINING", "1596".parse().unwrap());
        h.insert("X-RateLimit-Reset", "385".parse().unwrap());
        let r = RateLimit::from_headers(&h).unwrap();
        assert_eq!((r.limit, r.period, r.remaining, r.reset), (Some(1600), Some(3600), Some(1596), Some(385)));
        assert_eq!(r.reset_at().unwrap().duration_since(r.observed_at).unwrap(), Duration::from_secs(385));
    }

    #[test]
    fn no_headers_or_garbage() {
        assert!(RateLimit::from_headers(&HeaderMap::new()).is_none());
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", "lots".parse().unwrap());
        assert!(RateLimit::from_headers(&h).is_none());
    }

    #[test]
    fn min_tracker_keeps_the_minimum_until_expiry() {
        let mut t = MinTracker::new(Duration::from_secs(60));
        assert_eq!(t.update(10), 10);
        assert_eq!(t.update(12), 10);
        assert_eq!(t.update(3), 3);
        let mut t = MinTracker::new(Duration::ZERO);
        t.update(1);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(t.update(5), 5);
    }
}
