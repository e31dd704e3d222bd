//! The line splitter and the watch-event handling without a server (the loop against devcluster,
//! with closed watches and expired history, is in tests/workload/pod_watch.rs).

use super::*;

/// The lines seen, and the unfinished tail's length and buffer capacity afterwards.
fn split(chunks: &[&str]) -> (Vec<String>, usize, usize) {
    let mut lines = Lines::default();
    let mut seen = Vec::new();
    for chunk in chunks {
        lines
            .push(chunk.as_bytes(), |l| {
                seen.push(String::from_utf8(l.to_vec()).unwrap());
                true
            })
            .unwrap();
    }
    (seen, lines.partial.len(), lines.partial.capacity())
}

#[test]
fn lines_are_split_across_chunks_and_the_tail_buffer_is_freed() {
    assert_eq!(split(&["a\nb\n"]).0, ["a", "b"]);
    let (seen, held, _) = split(&["{\"x\":", "1}\n{\"y\"", ":2}\nz"]);
    assert_eq!(seen, ["{\"x\":1}", "{\"y\":2}"]);
    assert_eq!(held, 1, "only the unfinished \"z\" is held");
    let (seen, held, capacity) = split(&["ab", "cd\n"]);
    assert_eq!(seen, ["abcd"]);
    assert_eq!((held, capacity), (0, 0), "a completed line's buffer is freed");
    assert_eq!(split(&["\n\n"]).0, ["", ""]);
}

#[test]
fn a_line_can_stop_the_split_and_an_endless_line_fails() {
    let mut lines = Lines::default();
    let mut seen = 0;
    lines
        .push(b"1\n2\n3\n", |_| {
            seen += 1;
            seen < 2
        })
        .unwrap();
    assert_eq!(seen, 2);
    let mut lines = Lines::default();
    let big = vec![b'x'; MAX_LINE / 2 + 1];
    lines.push(&big, |_| true).unwrap();
    let err = lines.push(&big, |_| true).unwrap_err();
    assert_eq!(err, format!("a watch line longer than {MAX_LINE} bytes"));
    assert_eq!(lines.partial.capacity(), 0);
}

fn pod_event(kind: &str, name: &str, version: &str) -> String {
    serde_json::json!({"type": kind, "object": {"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "prod", "resourceVersion": version}}})
    .to_string()
}

#[test]
fn watch_events_move_the_resource_version_and_errors_end_the_watch() {
    let mut state = WatchState { version: "1".into(), events: 0 };
    let mut seen = Vec::new();
    let mut on = |e: Event<PodFields>| {
        seen.push(match e {
            Event::Apply(p) => format!("apply {}", p.metadata.name.unwrap()),
            Event::Delete(p) => format!("delete {}", p.metadata.name.unwrap()),
            _ => "other".into(),
        })
    };
    assert_eq!(state.line(pod_event("ADDED", "web-1", "5").as_bytes(), &mut on), None);
    assert_eq!(state.line(pod_event("MODIFIED", "web-1", "6").as_bytes(), &mut on), None);
    assert_eq!(state.line(pod_event("DELETED", "web-1", "7").as_bytes(), &mut on), None);
    let bookmark =
        r#"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"9"}}}"#;
    assert_eq!(state.line(bookmark.as_bytes(), &mut on), None);
    assert_eq!(state.version, "9");
    assert_eq!(state.events, 3);
    // Garbage is skipped (as kube's watcher does); blank lines are nothing.
    assert_eq!(state.line(b"{not json", &mut on), None);
    assert_eq!(state.line(b"  ", &mut on), None);
    let gone = r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}}"#;
    assert_eq!(state.line(gone.as_bytes(), &mut on), Some(End::Gone));
    let denied = r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"nope","reason":"Forbidden","code":403}}"#;
    assert_eq!(state.line(denied.as_bytes(), &mut on), Some(End::Failed("watch error 403: nope".into())));
    let no_version = r#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}}"#;
    assert_eq!(
        state.line(no_version.as_bytes(), &mut on),
        Some(End::Failed("a pod watch event without resourceVersion".into()))
    );
    assert_eq!(state.version, "9");
    assert_eq!(seen, ["apply web-1", "apply web-1", "delete web-1"]);
}
