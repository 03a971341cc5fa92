//! Parsing of the quantities the planning flags take: bandwidth (`3Mbps`), time (`20ms`) and
//! memory size (`4MiB`).
//!
//! Decimal prefixes (k, M, G) are powers of 1000 and binary ones (Ki, Mi, Gi) powers of 1024,
//! as in SI/IEC; `Mbps` is 10^6 bit/s. A bare number takes the base unit (bit/s, seconds,
//! bytes). These parsers only read text; they know nothing of the planner.

use thiserror::Error;

/// A quantity that could not be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("cannot read `{text}` as {what}: {why} (examples: {examples})")]
pub struct UnitError {
    /// The text given.
    pub text: String,
    /// What was expected ("a bandwidth").
    pub what: &'static str,
    /// What is wrong with it.
    pub why: String,
    /// Valid spellings.
    pub examples: &'static str,
}

const BANDWIDTH: &[(&str, f64)] = &[
    ("bps", 1.0),
    ("kbps", 1e3),
    ("Kbps", 1e3),
    ("Mbps", 1e6),
    ("Gbps", 1e9),
    ("Kibps", 1024.0),
    ("Mibps", 1048576.0),
    ("Gibps", 1073741824.0),
    ("B/s", 8.0),
    ("kB/s", 8e3),
    ("MB/s", 8e6),
    ("GB/s", 8e9),
];

const TIME: &[(&str, f64)] = &[("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9)];

const MEMORY: &[(&str, f64)] = &[
    ("B", 1.0),
    ("kB", 1e3),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("KiB", 1024.0),
    ("MiB", 1048576.0),
    ("GiB", 1073741824.0),
];

/// A bandwidth in bit/s: `3Mbps`, `500kbps`, `1.5Gbps`, `2MB/s`, or a bare number of bit/s.
pub fn parse_bandwidth(text: &str) -> Result<f64, UnitError> {
    let v = parse_quantity(text, BANDWIDTH, "a bandwidth", "3Mbps, 500kbps, 1.5Gbps, 2MB/s")?;
    if v <= 0.0 {
        return Err(err(text, "a bandwidth", "it must be positive", "3Mbps"));
    }
    Ok(v)
}

/// A duration in seconds: `20ms`, `0.1s`, `500us`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<f64, UnitError> {
    parse_quantity(text, TIME, "a duration", "20ms, 0.1s, 500us")
}

/// A memory size in bytes: `4MiB`, `512KiB`, `1GB`, or a bare number of bytes.
pub fn parse_memory(text: &str) -> Result<u64, UnitError> {
    let v = parse_quantity(text, MEMORY, "a memory size", "4MiB, 512KiB, 1GB")?;
    if v < 1.0 || v > u64::MAX as f64 / 2.0 {
        return Err(err(text, "a memory size", "it must be at least one byte", "4MiB"));
    }
    Ok(v.round() as u64)
}

fn parse_quantity(
    text: &str,
    units: &[(&str, f64)],
    what: &'static str,
    examples: &'static str,
) -> Result<f64, UnitError> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')));
    let (num, unit) = match split {
        // A unit may itself start with `e`/`E` in no table here, so the first other char ends
        // the number.
        Some(i) => (&t[..i], t[i..].trim()),
        None => (t, ""),
    };
    let value: f64 =
        num.parse().map_err(|_| err(text, what, "it does not start with a number", examples))?;
    if !value.is_finite() || value < 0.0 {
        return Err(err(text, what, "the number must be finite and not negative", examples));
    }
    let factor = if unit.is_empty() {
        1.0
    } else {
        units.iter().find(|(u, _)| *u == unit).map(|&(_, f)| f).ok_or_else(|| {
            let known: Vec<&str> = units.iter().map(|(u, _)| *u).collect();
            err(
                text,
                what,
                &format!("unknown unit `{unit}` (known: {})", known.join(", ")),
                examples,
            )
        })?
    };
    Ok(value * factor)
}

fn err(text: &str, what: &'static str, why: &str, examples: &'static str) -> UnitError {
    UnitError { text: text.to_string(), what, why: why.to_string(), examples }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidths() {
        assert_eq!(parse_bandwidth("3Mbps").unwrap(), 3e6);
        assert_eq!(parse_bandwidth("1.5 Gbps").unwrap(), 1.5e9);
        assert_eq!(parse_bandwidth("500kbps").unwrap(), 5e5);
        assert_eq!(parse_bandwidth("2MB/s").unwrap(), 16e6);
        assert_eq!(parse_bandwidth("1000").unwrap(), 1000.0);
        assert!(parse_bandwidth("0Mbps").is_err());
        let e = parse_bandwidth("3Mbit").unwrap_err();
        assert!(e.to_string().contains("unknown unit `Mbit`"), "{e}");
        assert!(parse_bandwidth("fast").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20ms").unwrap(), 0.02);
        assert_eq!(parse_duration("0").unwrap(), 0.0);
        assert_eq!(parse_duration("1.5s").unwrap(), 1.5);
        assert!(parse_duration("-1ms").is_err());
        assert!(parse_duration("inf").is_err());
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("4MiB").unwrap(), 4 << 20);
        assert_eq!(parse_memory("512KiB").unwrap(), 512 << 10);
        assert_eq!(parse_memory("1GB").unwrap(), 1_000_000_000);
        assert_eq!(parse_memory("4096").unwrap(), 4096);
        assert!(parse_memory("0MiB").is_err());
        assert!(parse_memory("4 MiBs").is_err());
    }
}
