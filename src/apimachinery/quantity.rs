//! Kubernetes `resource.Quantity` strings as numbers, read as `MilliValue()` reads them: the value
//! in thousandths rounded up (`"1500m"` → 1500, `"42"` → 42000, `"1Ki"` → 1024000, `"0.0001"` → 1),
//! saturating at the i64 range. Used by devcluster's HPA controller and to compare requests, limits
//! and bounds numerically in workload autoscaling.

/// Why a string is not a Quantity (apimachinery's `ErrFormatWrong` / `ErrSuffix` texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Format,
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// `resource.MustParse(s).MilliValue()` without the panic.
pub fn milli_value(s: &str) -> Result<i64, QuantityError> {
    let s = s.trim();
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(QuantityError::Format);
    }
    let (exp10, pow1024) = suffix_scale(suffix)?;
    // value = digits × 10^(exp10 - frac.len()) × 1024^pow1024; milli = value × 1000.
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let exp = exp10 + 3 - frac.len() as i64;
    let magnitude = scaled_ceil(digits, exp, pow1024, negative);
    Ok(if negative { magnitude.saturating_neg() } else { magnitude })
}

/// The decimal exponent and the power of 1024 a suffix stands for.
fn suffix_scale(suffix: &str) -> Result<(i64, u32), QuantityError> {
    let binary = [("Ki", 1), ("Mi", 2), ("Gi", 3), ("Ti", 4), ("Pi", 5), ("Ei", 6)];
    if let Some((_, p)) = binary.iter().find(|(s, _)| *s == suffix) {
        return Ok((0, *p));
    }
    let decimal =
        [("", 0), ("n", -9), ("u", -6), ("m", -3), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18)];
    if let Some((_, e)) = decimal.iter().find(|(s, _)| *s == suffix) {
        return Ok((*e, 0));
    }
    let exponent = suffix.strip_prefix(['e', 'E']).ok_or(QuantityError::Suffix)?;
    let unsigned = exponent.trim_start_matches(['+', '-']);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) || exponent.len() - unsigned.len() > 1 {
        return Err(QuantityError::Suffix);
    }
    let e: i64 = exponent.parse().map_err(|_| QuantityError::Suffix)?;
    Ok((e, 0))
}

/// |digits × 10^exp × 1024^pow1024|, rounded away from zero for positive values (toward +∞ overall,
/// as `ScaledValue` rounds up), saturating at i64::MAX.
fn scaled_ceil(digits: &str, exp: i64, pow1024: u32, negative: bool) -> i64 {
    if digits.is_empty() {
        return 0;
    }
    // More than 19 significant digits before scaling down cannot matter after rounding to milli
    // units except through the round-up, which `truncated` keeps.
    let mut value: i128 = 0;
    let mut truncated = false;
    for (i, b) in digits.bytes().enumerate() {
        if i >= 30 {
            truncated |= b != b'0';
            continue;
        }
        value = value * 10 + i128::from(b - b'0');
    }
    let mut exp = exp + (digits.len().saturating_sub(30)) as i64;
    for _ in 0..pow1024 {
        value = value.saturating_mul(1024);
    }
    while exp > 0 {
        value = value.saturating_mul(10);
        exp -= 1;
    }
    while exp < 0 && value != 0 {
        truncated |= value % 10 != 0;
        value /= 10;
        exp += 1;
    }
    if exp < 0 {
        truncated = true;
    }
    // Round toward +∞: up for positive values, toward zero (truncation) for negative ones.
    if truncated && !negative {
        value = value.saturating_add(1);
    }
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimal_and_binary_suffixes() {
        assert_eq!(milli_value("42"), Ok(42_000));
        assert_eq!(milli_value("1500m"), Ok(1500));
        assert_eq!(milli_value("1.5"), Ok(1500));
        assert_eq!(milli_value("2k"), Ok(2_000_000));
        assert_eq!(milli_value("1Ki"), Ok(1_024_000));
        assert_eq!(milli_value("1e3"), Ok(1_000_000));
        assert_eq!(milli_value("1E-3"), Ok(1));
        assert_eq!(milli_value("250u"), Ok(1));
        assert_eq!(milli_value("0"), Ok(0));
        assert_eq!(milli_value(".5"), Ok(500));
    }

    #[test]
    fn milli_value_rounds_up() {
        assert_eq!(milli_value("0.0001"), Ok(1));
        assert_eq!(milli_value("1n"), Ok(1));
        assert_eq!(milli_value("-1n"), Ok(0));
        assert_eq!(milli_value("-1.5"), Ok(-1500));
    }

    #[test]
    fn huge_values_saturate() {
        assert_eq!(milli_value("1E"), Ok(i64::MAX));
        assert_eq!(milli_value("99999999999999999999999999999999999"), Ok(i64::MAX));
    }

    #[test]
    fn garbage_is_an_error() {
        assert_eq!(milli_value("abc"), Err(QuantityError::Format));
        assert_eq!(milli_value("1.2.3"), Err(QuantityError::Format));
        assert_eq!(milli_value("1Xi"), Err(QuantityError::Suffix));
        assert_eq!(milli_value("1e"), Err(QuantityError::Suffix));
        assert_eq!(milli_value(""), Err(QuantityError::Format));
    }
}
