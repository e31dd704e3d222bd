//! The string formats kube-apiserver checks in CRD schemas (kube-openapi's `strfmt` default
//! registry). Any other format (`int32`, `int64`, `float`, `double`, …) is an annotation and
//! never fails validation, as in kube-apiserver.
//!
//! Each checker is registered with `jsonschema` through `with_format`, which overrides the
//! crate's own draft checkers so that leniency matches Go's parsers, not the JSON Schema spec.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

type Check = fn(&str) -> bool;

/// `(format name, checker)` for every format kube-openapi validates.
pub const KUBE_FORMATS: &[(&str, Check)] = &[
    ("bsonobjectid", is_bson_object_id),
    ("uri", is_uri),
    ("email", is_email),
    ("hostname", is_hostname),
    ("ipv4", is_ipv4),
    ("ipv6", is_ipv6),
    ("cidr", is_cidr),
    ("mac", is_mac),
    ("uuid", is_uuid),
    ("uuid3", is_uuid3),
    ("uuid4", is_uuid4),
    ("uuid5", is_uuid5),
    ("isbn", is_isbn),
    ("isbn10", is_isbn10),
    ("isbn13", is_isbn13),
    ("creditcard", is_credit_card),
    ("ssn", is_ssn),
    ("hexcolor", is_hex_color),
    ("rgbcolor", is_rgb_color),
    ("byte", is_base64),
    ("password", always),
    ("date", is_date),
    ("duration", is_duration),
    ("datetime", is_date_time),
    ("date-time", is_date_time),
];

/// Formats the JSON Schema drafts define but kube-openapi does not check: registered as
/// always valid so that `jsonschema`'s own checkers never reject what kube-apiserver accepts.
pub const UNCHECKED_FORMATS: &[&str] = &[
    "regex",
    "time",
    "uri-reference",
    "uri-template",
    "iri",
    "iri-reference",
    "idn-email",
    "idn-hostname",
    "json-pointer",
    "relative-json-pointer",
];

/// Compiles a pattern known to be valid (all patterns here are literals under test).
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("format patterns are valid literals (covered by tests)")
}

macro_rules! lazy_re {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| re($pattern));
    };
}

lazy_re!(
    HOSTNAME,
    r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$"
);
lazy_re!(UUID, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$");
lazy_re!(UUID3, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$");
lazy_re!(UUID4, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$");
lazy_re!(UUID5, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$");
lazy_re!(
    MAC,
    r"^([0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){7}|[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){19}|[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4}){2}|[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4}){3}|[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4}){9})$"
);
lazy_re!(URI, r"^([a-zA-Z][a-zA-Z0-9+.\-]*:[^\s]*|/[^\s]*)$");
lazy_re!(EMAIL, r"^([^<>@\s]+@[^<>@\s]+|[^<>]*<[^<>@\s]+@[^<>@\s]+>)$");
lazy_re!(SSN, r"^\d{3}[- ]?\d{2}[- ]?\d{4}$");
lazy_re!(HEX_COLOR, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$");
lazy_re!(
    RGB_COLOR,
    r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$"
);
lazy_re!(DATE, r"^(\d{4})-(\d{2})-(\d{2})$");
lazy_re!(DATE_TIME, r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$");
lazy_re!(GO_DURATION, r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$");
lazy_re!(
    HUMAN_DURATION,
    r"^(\d+)\s*(ns|us|µs|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|sec|minutes?|mins?|hours?|hr|days?|weeks?|wk)$"
);

pub fn always(_: &str) -> bool {
    true
}

fn is_bson_object_id(s: &str) -> bool {
    s.len() == 24 && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn is_uri(s: &str) -> bool {
    URI.is_match(s)
}

fn is_email(s: &str) -> bool {
    EMAIL.is_match(s.trim())
}

fn is_hostname(s: &str) -> bool {
    s.len() <= 255 && HOSTNAME.is_match(s)
}

fn is_ipv4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

fn is_ipv6(s: &str) -> bool {
    s.parse::<Ipv6Addr>().is_ok()
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => bits <= 32,
        Ok(IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

fn is_mac(s: &str) -> bool {
    MAC.is_match(s)
}

fn is_uuid(s: &str) -> bool {
    UUID.is_match(s)
}

fn is_uuid3(s: &str) -> bool {
    UUID3.is_match(s)
}

fn is_uuid4(s: &str) -> bool {
    UUID4.is_match(s)
}

fn is_uuid5(s: &str) -> bool {
    UUID5.is_match(s)
}

fn isbn_digits(s: &str) -> String {
    s.chars().filter(|c| *c != '-' && *c != ' ').collect()
}

fn is_isbn10(s: &str) -> bool {
    let d = isbn_digits(s);
    let bytes = d.as_bytes();
    if bytes.len() != 10 || !bytes[..9].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let last = match bytes[9] {
        b'X' => 10,
        b @ b'0'..=b'9' => u32::from(b - b'0'),
        _ => return false,
    };
    let sum: u32 = bytes[..9].iter().zip((2..=10).rev()).map(|(b, w)| u32::from(b - b'0') * w).sum::<u32>() + last;
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let d = isbn_digits(s);
    if d.len() != 13 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = d.bytes().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
    sum.is_multiple_of(10)
}

fn is_isbn(s: &str) -> bool {
    is_isbn10(s) || is_isbn13(s)
}

fn is_credit_card(s: &str) -> bool {
    let digits: Vec<u32> = s
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .map(|c| c.to_digit(10))
        .collect::<Option<Vec<u32>>>()
        .unwrap_or_default();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 =
        digits.iter().rev().enumerate().map(|(i, d)| if i % 2 == 1 { (d * 2) / 10 + (d * 2) % 10 } else { *d }).sum();
    sum.is_multiple_of(10)
}

fn is_ssn(s: &str) -> bool {
    SSN.is_match(s)
}

fn is_hex_color(s: &str) -> bool {
    HEX_COLOR.is_match(s)
}

fn is_rgb_color(s: &str) -> bool {
    RGB_COLOR.is_match(s)
}

/// Go's `base64.StdEncoding.DecodeString` acceptance (padded, standard alphabet).
fn is_base64(s: &str) -> bool {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let body = s.trim_end_matches('=');
    let padding = bytes.len() - body.len();
    padding <= 2 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        _ => 31,
    }
}

fn valid_ymd(year: &str, month: &str, day: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (year.parse::<u32>(), month.parse::<u32>(), day.parse::<u32>()) else {
        return false;
    };
    (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

fn is_date(s: &str) -> bool {
    DATE.captures(s).is_some_and(|c| valid_ymd(&c[1], &c[2], &c[3]))
}

/// The layouts kube-openapi's `strfmt.ParseDateTime` accepts (RFC 3339 with optional
/// fraction, and the ISO 8601 local/reduced-precision variants).
fn is_date_time(s: &str) -> bool {
    let Some(c) = DATE_TIME.captures(s) else {
        return false;
    };
    let in_range = |i: usize, max: u32| c.get(i).is_none_or(|m| m.as_str().parse::<u32>().is_ok_and(|v| v <= max));
    valid_ymd(&c[1], &c[2], &c[3]) && in_range(4, 23) && in_range(5, 59) && in_range(7, 59)
}

fn is_duration(s: &str) -> bool {
    s == "0" || GO_DURATION.is_match(s) || HUMAN_DURATION.is_match(s)
}
