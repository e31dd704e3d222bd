//! Chunking a batch of queries into API calls as the DCA does (spec §8.3): each query costs
//! `len(url.QueryEscape(q)) + 16` URL characters; a chunk is closed when adding the next query
//! would reach 7000 characters or when it already holds `chunk_size` queries. A query that alone
//! reaches 7000 characters is never sent (the DCA drops it with "Query is too long").

/// URL characters above which a call risks `414 Request-URI Too Large`.
pub const MAX_URL_CHARS: usize = 7000;
/// Characters added per query for the comma and the aggregation/rollup text of legacy queries.
pub const EXTRA_QUERY_CHARS: usize = 16;
/// Queries per call by default (`external_metrics_provider.chunk_size`).
pub const DEFAULT_CHUNK_SIZE: usize = 35;

/// Query positions grouped into calls, plus the positions of queries too long to send.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Chunks {
    pub chunks: Vec<Vec<usize>>,
    pub too_long: Vec<usize>,
}

/// Length of Go's `url.QueryEscape(q)`: unreserved bytes and space (as `+`) stay one character,
/// every other byte becomes `%XX`.
pub fn query_escape_len(q: &str) -> usize {
    q.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~ ".contains(&b) { 1 } else { 3 }).sum()
}

/// What one query costs in a chunk's URL budget.
pub fn query_cost(q: &str) -> usize {
    query_escape_len(q) + EXTRA_QUERY_CHARS
}

/// Splits `queries` (in order) into chunks; `chunk_size` 0 is read as the default.
pub fn chunk<S: AsRef<str>>(queries: &[S], chunk_size: usize) -> Chunks {
    let chunk_size = if chunk_size == 0 { DEFAULT_CHUNK_SIZE } else { chunk_size };
    let mut out = Chunks::default();
    let mut current: Vec<usize> = Vec::new();
    let mut length = 0;
    for (i, q) in queries.iter().enumerate() {
        let cost = query_cost(q.as_ref());
        if cost >= MAX_URL_CHARS {
            out.too_long.push(i);
            continue;
        }
        if !current.is_empty() && (length + cost >= MAX_URL_CHARS || current.len() >= chunk_size) {
            out.chunks.push(std::mem::take(&mut current));
            length = 0;
        }
        current.push(i);
        length += cost;
    }
    if !current.is_empty() {
        out.chunks.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escape_length_matches_go() {
        // url.QueryEscape("avg:system.cpu.idle{*} by {host}") = "avg%3Asystem.cpu.idle%7B%2A%7D+by+%7Bhost%7D"
        assert_eq!(query_escape_len("avg:system.cpu.idle{*} by {host}"), 44);
        assert_eq!(query_escape_len("é"), 6);
    }

    #[test]
    fn thirty_five_per_chunk() {
        let queries: Vec<String> = (0..71).map(|i| format!("avg:m{i}{{*}}")).collect();
        let c = chunk(&queries, 35);
        assert_eq!(c.chunks.iter().map(Vec::len).collect::<Vec<_>>(), vec![35, 35, 1]);
    }

    #[test]
    fn long_queries_split_by_url_length_and_overlong_is_dropped() {
        let long = "a".repeat(3000);
        let huge = "b".repeat(7000);
        let queries = vec![long.clone(), long.clone(), huge, long];
        let c = chunk(&queries, 35);
        assert_eq!(c.chunks, vec![vec![0, 1], vec![3]]);
        assert_eq!(c.too_long, vec![2]);
    }

    proptest! {
        #[test]
        fn every_query_in_exactly_one_chunk_in_order_within_limits(
            queries in proptest::collection::vec("[a-z{}:*,. ]{0,400}|[a-z]{6990,7010}", 0..120),
            size in 0usize..50,
        ) {
            let c = chunk(&queries, size);
            let limit = if size == 0 { DEFAULT_CHUNK_SIZE } else { size };
            let flat: Vec<usize> = c.chunks.iter().flatten().copied().collect();
            let mut expected: Vec<usize> = (0..queries.len()).filter(|i| !c.too_long.contains(i)).collect();
            prop_assert_eq!(&flat, &expected);
            expected.extend(&c.too_long);
            expected.sort_unstable();
            prop_assert_eq!(expected, (0..queries.len()).collect::<Vec<_>>());
            for ch in &c.chunks {
                prop_assert!(!ch.is_empty() && ch.len() <= limit);
                prop_assert!(ch.iter().map(|&i| query_cost(&queries[i])).sum::<usize>() < MAX_URL_CHARS);
            }
            for &i in &c.too_long {
                prop_assert!(query_cost(&queries[i]) >= MAX_URL_CHARS);
            }
        }
    }
}
