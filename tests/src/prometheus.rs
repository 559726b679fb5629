//! A strict reader of the Prometheus text exposition format (0.0.4), and a
//! plain HTTP/1.1 scrape, for tests that check `/metrics` the way Prometheus
//! reads it.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name as written (with `_bucket`, `_sum`, `_count` for histograms).
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// A parsed exposition.
#[derive(Debug, Default)]
pub struct Exposition {
    /// `# TYPE` of each family.
    pub types: HashMap<String, String>,
    /// Every sample, in order.
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// Parses `text`; any malformed line is an error naming it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out = Exposition::default();
        for (n, line) in text.lines().enumerate() {
            let fail = |why: &str| format!("line {}: {why}: {line:?}", n + 1);
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').ok_or_else(|| fail("TYPE without a type"))?;
                let kinds = ["counter", "gauge", "histogram", "summary", "untyped"];
                if !kinds.contains(&kind) {
                    return Err(fail("unknown type"));
                }
                if out.types.insert(name.to_string(), kind.to_string()).is_some() {
                    return Err(fail("second TYPE for one family"));
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let sample = parse_sample(line).map_err(|why| fail(&why))?;
            let family = family_of(&sample.name, &out.types);
            if !out.types.contains_key(family) {
                return Err(fail("sample before its family's TYPE"));
            }
            out.samples.push(sample);
        }
        Ok(out)
    }

    /// Sum of the samples named `name` whose labels include all of `labels`
    /// (`None` when there is none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// Checks every series of histogram `name`: buckets cumulative in `le`
    /// and the `+Inf` bucket equal to `_count`.
    pub fn check_histogram(&self, name: &str) -> Result<usize, String> {
        if self.types.get(name).map(String::as_str) != Some("histogram") {
            return Err(format!("{name} is not declared a histogram"));
        }
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in self.samples.iter().filter(|s| s.name == format!("{name}_bucket")) {
            let mut key = s.labels.clone();
            let le = key.remove("le").ok_or("bucket without le")?;
            let le = parse_value(&le)?;
            series.entry(key).or_default().push((le, s.value));
        }
        for (labels, mut buckets) in series.clone() {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            if buckets.windows(2).any(|w| w[1].1 < w[0].1) {
                return Err(format!("{name}{labels:?}: buckets not cumulative"));
            }
            let last = buckets.last().ok_or("no buckets")?;
            if last.0 != f64::INFINITY {
                return Err(format!("{name}{labels:?}: no +Inf bucket"));
            }
            let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let count = self.sum(&format!("{name}_count"), &pairs).ok_or("no _count")?;
            if count != last.1 {
                return Err(format!(
                    "{name}{labels:?}: _count {count} != +Inf bucket {}",
                    last.1
                ));
            }
        }
        Ok(series.len())
    }
}

/// The family a sample belongs to: histogram and summary samples carry a
/// suffix.
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if matches!(types.get(base).map(String::as_str), Some("histogram" | "summary")) {
                return base;
            }
        }
    }
    name
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("bad metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        let mut end = None;
        loop {
            while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
                chars.next();
            }
            match chars.peek() {
                Some((i, '}')) => {
                    end = Some(*i);
                    break;
                }
                None => break,
                _ => {}
            }
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!("bad label name character {c:?}"));
                }
                key.push(c);
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("label value not quoted".into());
            }
            let mut value = String::new();
            loop {
                match chars.next().map(|(_, c)| c) {
                    Some('"') => break,
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        other => return Err(format!("bad escape {other:?}")),
                    },
                    Some(c) => value.push(c),
                    None => return Err("unterminated label value".into()),
                }
            }
            if labels.insert(key, value).is_some() {
                return Err("repeated label".into());
            }
        }
        let end = end.ok_or("unterminated label set")?;
        rest = &body[end + 1..];
    }
    let mut fields = rest.split_whitespace();
    let value = parse_value(fields.next().ok_or("no value")?)?;
    if let Some(timestamp) = fields.next() {
        timestamp.parse::<i64>().map_err(|_| "bad timestamp")?;
    }
    if fields.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

fn parse_value(raw: &str) -> Result<f64, String> {
    match raw {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => raw.parse().map_err(|_| format!("bad value {raw:?}")),
    }
}

/// One HTTP/1.1 request to `addr`: the status code and the body.
pub async fn http_get(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the metrics port");
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read response");
    let raw = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("response head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(body) } else { body.to_string() };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// Scrapes `/metrics` at `addr` and parses it.
pub async fn scrape(addr: SocketAddr) -> Exposition {
    let (status, body) = http_get(addr, "GET", "/metrics").await;
    assert_eq!(status, 200, "{body}");
    Exposition::parse(&body).unwrap_or_else(|e| panic!("not the Prometheus text format: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_format() {
        let text = "# HELP a_total things\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"uote\"} 3\n\
                    # TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3.5\nh_count 2\n";
        let e = Exposition::parse(text).expect("parses");
        assert_eq!(e.sum("a_total", &[("y", "q\"uote")]), Some(3.0));
        assert_eq!(e.check_histogram("h"), Ok(1));
        assert!(Exposition::parse("b 1\n").is_err(), "a sample needs its TYPE");
        assert!(Exposition::parse("# TYPE c counter\nc{x=1} 1\n").is_err());
        let broken = "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n";
        assert!(Exposition::parse(broken)
            .expect("parses")
            .check_histogram("h")
            .is_err());
    }
}
