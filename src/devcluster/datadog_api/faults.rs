//! Faults one simulated endpoint can be told to inject, and its rate-limit budget.

use std::time::{Duration, Instant};

/// What to break in the replies of one simulated endpoint (all off by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Delay before every reply.
    pub latency: Option<Duration>,
    /// Answer every authenticated call with this HTTP status (500, 503, 429 ...) and an error body.
    pub status: Option<u16>,
    /// Break the body of successful replies.
    pub body: Option<BodyFault>,
    /// Report every series with a `query_index` outside the batch.
    pub wrong_query_index: bool,
    /// Queries containing one of these texts get no series.
    pub missing_series: Vec<String>,
    /// A batch holding a query that contains one of these texts is refused with 422.
    pub reject_queries: Vec<String>,
}

/// Ways to break a 200 reply's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// The JSON cut in the middle.
    Truncated,
    /// An HTML error page with status 200.
    Garbage,
    /// JSON whose strings hold bytes that are not UTF-8.
    NonUtf8,
    /// Every series padded to this many points.
    Huge { points: usize },
}

/// A calendar-like budget: `limit` calls per `period`, periods counted from the simulator's start.
#[derive(Debug)]
pub struct Budget {
    pub limit: u64,
    pub period: Duration,
    started: Instant,
    window: u64,
    used: u64,
}

/// The rate-limit headers of one reply.
#[derive(Debug, Clone, Copy)]
pub struct BudgetView {
    pub limit: u64,
    pub period_s: u64,
    pub remaining: u64,
    pub reset_s: u64,
}

impl Budget {
    pub fn new(limit: u64, period: Duration) -> Self {
        let period = period.max(Duration::from_secs(1));
        Budget { limit, period, started: Instant::now(), window: 0, used: 0 }
    }

    fn roll(&mut self) -> Duration {
        let elapsed = self.started.elapsed();
        let window = (elapsed.as_nanos() / self.period.as_nanos()) as u64;
        if window != self.window {
            self.window = window;
            self.used = 0;
        }
        let into = elapsed.as_nanos() % self.period.as_nanos();
        Duration::from_nanos((self.period.as_nanos() - into) as u64)
    }

    /// Takes one call from the budget; `Err` (with the headers to send) when none is left.
    pub fn take(&mut self) -> Result<BudgetView, BudgetView> {
        let left = self.roll();
        let ok = self.used < self.limit;
        if ok {
            self.used += 1;
        }
        let view = self.view(left);
        if ok { Ok(view) } else { Err(view) }
    }

    fn view(&self, left: Duration) -> BudgetView {
        BudgetView {
            limit: self.limit,
            period_s: self.period.as_secs(),
            remaining: self.limit.saturating_sub(self.used),
            reset_s: left.as_secs_f64().ceil() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_down_then_refuses_then_resets() {
        let mut b = Budget::new(2, Duration::from_secs(1));
        assert_eq!(b.take().unwrap().remaining, 1);
        assert_eq!(b.take().unwrap().remaining, 0);
        let refused = b.take().unwrap_err();
        assert_eq!((refused.remaining, refused.limit, refused.period_s), (0, 2, 1));
        assert!(refused.reset_s <= 1);
        std::thread::sleep(Duration::from_millis(1050));
        assert_eq!(b.take().unwrap().remaining, 1);
    }
}
