//! A float metric value as Kubernetes prints it: `resource.ParseQuantity(fmt.Sprintf("%v", v))`
//! then the Quantity's canonical string (what the DCA returns, e.g. 1.5 → "1500m", 2000 → "2k",
//! 1e6 → "1e6").

use crate::apimachinery::gofmt;

/// Decimal digits with a power-of-ten exponent: value = digits × 10^exp.
struct Decimal {
    negative: bool,
    digits: String,
    exp: i32,
}

pub fn format_quantity(value: f64) -> String {
    if !value.is_finite() {
        return "0".into();
    }
    let text = gofmt::float(value);
    let exponent_form = text.contains('e');
    let Some(d) = parse(&text) else { return "0".into() };
    canonical(d, exponent_form)
}

fn parse(text: &str) -> Option<Decimal> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Decimal { negative, digits, exp: exp - frac.len() as i32 })
}

fn canonical(mut d: Decimal, exponent_form: bool) -> String {
    d.digits = d.digits.trim_start_matches('0').to_string();
    if d.digits.is_empty() {
        return "0".into();
    }
    while d.digits.len() > 1 && d.digits.ends_with('0') {
        d.digits.pop();
        d.exp += 1;
    }
    round_up_to_nano(&mut d);
    // Largest exponent that is a multiple of 3 and keeps the mantissa an integer.
    let mut e3 = d.exp.div_euclid(3) * 3;
    if !exponent_form {
        e3 = e3.clamp(-9, 18);
    }
    let zeros = usize::try_from(d.exp - e3).unwrap_or(0);
    let mantissa = format!("{}{}{}", if d.negative { "-" } else { "" }, d.digits, "0".repeat(zeros));
    if exponent_form {
        return if e3 == 0 { mantissa } else { format!("{mantissa}e{e3}") };
    }
    format!("{mantissa}{}", si_suffix(e3))
}

/// Quantities keep at most nano precision; finer values round away from zero.
fn round_up_to_nano(d: &mut Decimal) {
    if d.exp >= -9 {
        return;
    }
    let drop = usize::try_from(-9 - d.exp).unwrap_or(0);
    let keep = d.digits.len().saturating_sub(drop);
    let dropped_nonzero = d.digits[keep..].bytes().any(|b| b != b'0');
    let mut kept = if keep == 0 { "0".to_string() } else { d.digits[..keep].to_string() };
    if dropped_nonzero {
        kept = increment(&kept);
    }
    d.digits = kept.trim_start_matches('0').to_string();
    if d.digits.is_empty() {
        d.digits = "0".into();
    }
    d.exp = -9;
    while d.digits.len() > 1 && d.digits.ends_with('0') {
        d.digits.pop();
        d.exp += 1;
    }
}

fn increment(digits: &str) -> String {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    format!("1{}", String::from_utf8_lossy(&bytes))
}

fn si_suffix(e3: i32) -> &'static str {
    match e3 {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::format_quantity;

    #[test]
    fn prints_like_resource_quantity() {
        for (v, want) in [
            (42.0, "42"),
            (1.5, "1500m"),
            (0.1, "100m"),
            (2000.0, "2k"),
            (1500.0, "1500"),
            (0.0, "0"),
            (-1.5, "-1500m"),
            (1e6, "1e6"),
            (1.5e6, "1500e3"),
            (123.456, "123456m"),
            (0.0001, "100u"),
            (0.000_001, "1e-6"),
            (1e-10, "1e-9"),
            (1_234_567.0, "1234567"),
        ] {
            assert_eq!(format_quantity(v), want, "{v}");
        }
    }
}
