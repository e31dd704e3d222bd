//! Hand-written serde types for `GET /api/v1/query` replies (the recorded shape in
//! `reference/datadog-api/`) and for Datadog error bodies. Every field is optional so that a
//! reply missing one is still read; timestamps are milliseconds, integers or floats. Non-standard
//! JSON numbers (`NaN`, `Infinity`, as some JSON writers emit) are read as non-finite values so
//! that they become a per-query error instead of a whole-reply parse failure.

use serde::{Deserialize, Serialize};

/// The body of a `/api/v1/query` reply.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct QueryResponse {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub res_type: Option<String>,
    #[serde(default)]
    pub resp_version: Option<i64>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// Set (with `status: "error"`) when the API refused the query with HTTP 200.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub from_date: Option<f64>,
    #[serde(default)]
    pub to_date: Option<f64>,
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub series: Vec<Series>,
}

/// One timeseries of a reply.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Series {
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub aggr: Option<String>,
    /// 0-based position of the series' query in the comma-joined request.
    #[serde(default)]
    pub query_index: Option<i64>,
    /// Seconds between points.
    #[serde(default)]
    pub interval: Option<i64>,
    #[serde(default)]
    pub start: Option<f64>,
    #[serde(default)]
    pub end: Option<f64>,
    #[serde(default)]
    pub length: Option<i64>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tag_set: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub pointlist: Vec<RawPoint>,
    #[serde(default)]
    pub unit: Option<serde_json::Value>,
    #[serde(default)]
    pub attributes: Option<serde_json::Value>,
}

/// `[timestamp_ms, value]`; either may be null.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub struct RawPoint(pub Option<f64>, pub Option<Number>);

/// A point value: a JSON number, or one of the non-standard non-finite spellings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Number(pub f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Num(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Num(n) => Ok(Number(n)),
            Repr::Text(t) => match t.as_str() {
                NAN_TOKEN => Ok(Number(f64::NAN)),
                INF_TOKEN => Ok(Number(f64::INFINITY)),
                NEG_INF_TOKEN => Ok(Number(f64::NEG_INFINITY)),
                other => Err(serde::de::Error::custom(format!("point value {other:?} is not a number"))),
            },
        }
    }
}

const NAN_TOKEN: &str = "NaN";
const INF_TOKEN: &str = "Infinity";
const NEG_INF_TOKEN: &str = "-Infinity";

/// Datadog's error body: `{"errors": ["..."]}` (plus `status`/`code` on some endpoints).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub errors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Parses a reply body; non-UTF-8, truncated or otherwise malformed JSON is an error naming the
/// position, never a panic.
pub fn parse_response(body: &[u8]) -> Result<QueryResponse, serde_json::Error> {
    match serde_json::from_slice(body) {
        Ok(parsed) => Ok(parsed),
        Err(first) => match quote_non_finite(body) {
            Some(quoted) => serde_json::from_slice(&quoted).map_err(|_| first),
            None => Err(first),
        },
    }
}

/// Rewrites bare `NaN`, `Infinity` and `-Infinity` tokens (outside strings) as JSON strings;
/// `None` when there are none.
fn quote_non_finite(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() + 16);
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if let Some(token) =
            [NEG_INF_TOKEN, INF_TOKEN, NAN_TOKEN].iter().find(|t| body[i..].starts_with(t.as_bytes()))
        {
            out.push(b'"');
            out.extend_from_slice(token.as_bytes());
            out.push(b'"');
            i += token.len();
            changed = true;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_and_float_timestamps_and_nulls() {
        let body = br#"{"series":[{"pointlist":[[1618221135000.0,10.5],[1618221195000,null]],"query_index":0}]}"#;
        let r = parse_response(body).unwrap();
        assert_eq!(
            r.series[0].pointlist,
            vec![RawPoint(Some(1618221135000.0), Some(Number(10.5))), RawPoint(Some(1618221195000.0), None)]
        );
    }

    #[test]
    fn non_finite_tokens_are_read_outside_strings_only() {
        let body = br#"{"message":"NaN here","series":[{"pointlist":[[1,NaN],[2,Infinity],[3,-Infinity]]}]}"#;
        let r = parse_response(body).unwrap();
        let values: Vec<f64> = r.series[0].pointlist.iter().map(|p| p.1.unwrap().0).collect();
        assert!(values[0].is_nan());
        assert_eq!(values[1..], [f64::INFINITY, f64::NEG_INFINITY]);
        assert_eq!(r.message.as_deref(), Some("NaN here"));
    }

    #[test]
    fn garbage_truncated_and_non_utf8_are_errors() {
        assert!(parse_response(b"<html>502</html>").is_err());
        assert!(parse_response(br#"{"series":[{"pointlist":[[1,2"#).is_err());
        assert!(parse_response(b"{\"status\":\"ok\xff\xfe\"}").is_err());
        assert!(parse_response(br#"{"series":[{"pointlist":[[1,"abc"]]}]}"#).is_err());
        assert!(parse_response(b"").is_err());
    }

    #[test]
    fn null_series_is_empty() {
        assert!(parse_response(br#"{"status":"ok","series":null}"#).unwrap().series.is_empty());
    }
}
