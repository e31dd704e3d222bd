//! From a reply's series to one result per submitted query (spec §8.3 steps 4–7): series are
//! matched to queries by `query_index` (required when more than one query was sent), a query with
//! several series is an error, and the value is the penultimate non-null point (the last bucket
//! may still be filling), or the only one.

use std::time::Duration;

use super::wire::Series;
use super::{Point, QueryError};

/// A series that cannot be placed: the whole reply does not match the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

/// What the reply says about one query; `None` when no series came back for it.
pub type Assigned = Option<Result<(Point, String), QueryError>>;

/// Places every series of a reply; the `String` beside a point is the `metric{scope}` telemetry tag.
pub fn assign(series: &[Series], queries: &[String], window: Duration) -> Result<Vec<Assigned>, Mismatch> {
    let mut indexes = Vec::with_capacity(series.len());
    for s in series {
        indexes.push(match_index(s, queries.len())?);
    }
    let mut out: Vec<Assigned> = vec![None; queries.len()];
    for (s, i) in series.iter().zip(indexes) {
        out[i] = Some(match out[i] {
            Some(_) => Err(QueryError::MultipleSeries),
            None => select_point(s, window).map(|p| (p, telemetry_tag(s))),
        });
    }
    Ok(out)
}

fn match_index(s: &Series, batch: usize) -> Result<usize, Mismatch> {
    match s.query_index {
        None if batch == 1 => Ok(0),
        None => Err(Mismatch(format!("missing QueryIndex for a batch of {batch} queries"))),
        Some(i) => usize::try_from(i)
            .ok()
            .filter(|&i| i < batch)
            .ok_or_else(|| Mismatch(format!("QueryIndex {i} is outside the batch of {batch} queries"))),
    }
}

/// The penultimate non-null point, or the only one; timestamps in seconds.
fn select_point(s: &Series, window: Duration) -> Result<Point, QueryError> {
    let mut chosen = None;
    for p in s.pointlist.iter().rev() {
        let (Some(ts), Some(v)) = (p.0, p.1) else { continue };
        let last = chosen.is_some();
        chosen = Some((ts, v.0));
        if last {
            break;
        }
    }
    let Some((ts_ms, value)) = chosen else {
        return Err(QueryError::OnlyNulls {
            points: s.pointlist.len(),
            window_s: format!("{:.0}", window.as_secs_f64()),
            interval: s.interval,
        });
    };
    let timestamp_s = ts_ms / 1000.0;
    if !value.is_finite() {
        return Err(QueryError::NonFinite { value: value.to_string(), timestamp_ms: ts_ms.to_string() });
    }
    if !timestamp_s.is_finite() || timestamp_s.abs() >= i64::MAX as f64 {
        return Err(QueryError::NonFinite { value: value.to_string(), timestamp_ms: ts_ms.to_string() });
    }
    // As the DCA: int64(ts_ms / 1000), truncating.
    Ok(Point { value, timestamp_s: timestamp_s as i64 })
}

fn telemetry_tag(s: &Series) -> String {
    format!("{}{{{}}}", s.metric.as_deref().unwrap_or_default(), s.scope.as_deref().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadog::wire::{Number, RawPoint};

    fn series(index: Option<i64>, points: &[(f64, Option<f64>)]) -> Series {
        Series {
            metric: Some("m".into()),
            scope: Some("*".into()),
            query_index: index,
            interval: Some(30),
            pointlist: points.iter().map(|&(t, v)| RawPoint(Some(t), v.map(Number))).collect(),
            ..Series::default()
        }
    }

    fn qs(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("q{i}")).collect()
    }

    const W: Duration = Duration::from_secs(300);

    fn point(a: &Assigned) -> Point {
        a.clone().unwrap().unwrap().0
    }

    #[test]
    fn penultimate_non_null_point() {
        let s = series(None, &[(1000.0, Some(1.0)), (2000.0, Some(2.0)), (3000.0, None), (4000.0, Some(4.0))]);
        let got = assign(&[s], &qs(1), W).unwrap();
        assert_eq!(point(&got[0]), Point { value: 2.0, timestamp_s: 2 });
    }

    #[test]
    fn only_one_non_null_point_is_used() {
        let s = series(Some(0), &[(1000.0, None), (2999.0, Some(7.5)), (3000.0, None)]);
        assert_eq!(point(&assign(&[s], &qs(1), W).unwrap()[0]), Point { value: 7.5, timestamp_s: 2 });
    }

    #[test]
    fn only_nulls_has_the_dca_text() {
        let s = series(Some(0), &[(1000.0, None), (2000.0, None)]);
        let err = assign(&[s], &qs(1), W).unwrap()[0].clone().unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            "only null values found in API response (2 points), check data is available in the last 300 seconds (interval was 30)"
        );
    }

    #[test]
    fn query_index_matching_and_multiple_series() {
        let a = series(Some(1), &[(1000.0, Some(1.0))]);
        let b = series(Some(0), &[(1000.0, Some(2.0))]);
        let c = series(Some(1), &[(1000.0, Some(3.0))]);
        let got = assign(&[a, b, c], &qs(3), W).unwrap();
        assert_eq!(point(&got[0]).value, 2.0);
        assert_eq!(got[1], Some(Err(QueryError::MultipleSeries)));
        assert_eq!(got[2], None);
    }

    #[test]
    fn missing_or_out_of_range_index_is_a_mismatch() {
        assert!(assign(&[series(None, &[])], &qs(2), W).is_err());
        assert!(assign(&[series(Some(2), &[])], &qs(2), W).is_err());
        assert!(assign(&[series(Some(-1), &[])], &qs(2), W).is_err());
    }

    #[test]
    fn non_finite_values_are_per_query_errors() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let s = series(Some(0), &[(1000.0, Some(v)), (2000.0, Some(1.0))]);
            let err = assign(&[s], &qs(1), W).unwrap()[0].clone().unwrap().unwrap_err();
            assert!(matches!(err, QueryError::NonFinite { .. }), "{err}");
        }
        let s = series(Some(0), &[(f64::MAX, Some(1.0))]);
        assert!(assign(&[s], &qs(1), W).unwrap()[0].clone().unwrap().is_err());
    }
}
