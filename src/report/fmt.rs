//! Number formatting for charts and the summary. Everything goes through
//! these functions so the same value reads the same everywhere, and so the
//! output does not depend on anything but the value.

/// `1234567` → `1,234,567`.
pub fn int(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A non-negative value with about three significant digits: `0.0123`,
/// `4.56`, `78.9`, `1,234`.
pub fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if a >= 999.5 {
        return sign(v) + &int(a.round() as u64);
    }
    let decimals = (2 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{a:.decimals$}");
    // Trailing zeros after the point carry no information here.
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    sign(v) + &s
}

fn sign(v: f64) -> String {
    if v < 0.0 {
        "-".into()
    } else {
        String::new()
    }
}

/// Compact form for tight spaces: `950`, `12.3k`, `1.2M`.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", sig3(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", sig3(v / 1e3))
    } else {
        sig3(v)
    }
}

/// Records per second, rounded to a whole record: `123,456`.
pub fn rate(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        return "n/a".into();
    }
    int(v.round() as u64)
}

/// Microseconds as milliseconds: `850` → `0.85`, `12345` → `12.3`.
pub fn ms(us: u64) -> String {
    sig3(us as f64 / 1000.0)
}

/// A fraction as a signed percentage with one decimal: `-0.234` → `-23.4%`.
pub fn signed_pct(fraction: f64) -> String {
    format!("{:+.1}%", fraction * 100.0)
}

/// Records per second in a tight space: `950/s`, `12.3k/s`, `1.2M/s`.
pub fn rate_compact(v: f64) -> String {
    format!("{}/s", compact(v))
}

/// A percentage with one decimal: `12.3%`.
pub fn pct(v: f64) -> String {
    format!("{v:.1}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(1234567), "1,234,567");
        assert_eq!(sig3(0.012345), "0.0123");
        assert_eq!(sig3(4.5), "4.5");
        assert_eq!(sig3(78.94), "78.9");
        assert_eq!(sig3(999.4), "999");
        assert_eq!(sig3(1234.5), "1,235");
        assert_eq!(compact(12345.0), "12.3k");
        assert_eq!(compact(2_500_000.0), "2.5M");
        assert_eq!(rate(123456.4), "123,456");
        assert_eq!(ms(850), "0.85");
        assert_eq!(ms(12345), "12.3");
        assert_eq!(pct(12.345), "12.3%");
    }
}
