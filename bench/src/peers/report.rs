//! What the peer benchmark writes: `peers.json` (every figure), a Markdown
//! table of sectorwire beside each peer with the ratios, and an SVG plot
//! (latency percentiles against rate; ingest rate by concurrency).

use std::fmt::Write as _;

use plotters::prelude::*;
use serde::Serialize;

/// The systems, in the order tables and plots show them.
pub const SYSTEMS: [&str; 3] = ["sectorwire", "postgresql", "sqlite"];

fn display(system: &str) -> &str {
    match system {
        "postgresql" => "PostgreSQL",
        "sqlite" => "SQLite FTS5",
        other => other,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_bytes: u64,
    pub kernel: String,
}

impl Machine {
    pub fn this() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024;
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string();
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            memory_bytes,
            kernel,
        }
    }
}

/// One load of one system.
#[derive(Debug, Clone, Serialize)]
pub struct IngestRow {
    pub system: String,
    /// "short" or "long".
    pub size: String,
    pub articles: usize,
    pub mean_bytes: usize,
    pub clients: usize,
    /// Articles per second until the last durable acknowledgement.
    pub durable_per_s: f64,
    /// Articles per second until the last article is searchable.
    pub searchable_per_s: f64,
    pub searchable_s: f64,
}

/// Latency of one operation at one open-loop rate.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyRow {
    pub system: String,
    /// "search" (ranked top 10 with excerpts) or "get" (one article by key).
    pub op: String,
    pub rate: u64,
    pub requests: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
}

/// Disk and memory after a load.
#[derive(Debug, Clone, Serialize)]
pub struct FootprintRow {
    pub system: String,
    pub size: String,
    pub articles: usize,
    pub disk_bytes: u64,
    pub disk_bytes_per_article: f64,
    /// PSS summed over the system's processes after the load (none for SQLite,
    /// which lives in the bench process).
    pub memory_bytes: Option<u64>,
    pub disk_what: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub quick: bool,
    pub machine: Machine,
    pub corpus: String,
    pub versions: Vec<(String, String)>,
    pub queries: usize,
    pub ingest: Vec<IngestRow>,
    pub latency: Vec<LatencyRow>,
    pub footprint: Vec<FootprintRow>,
    /// Peers that could not run, and why.
    pub skipped: Vec<String>,
}

/// One table line: a measure, each system's value, and sectorwire / peer.
struct Line {
    what: String,
    values: [Option<f64>; 3],
    unit: &'static str,
}

fn fmt_value(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "—".into(),
        Some(v) if unit == "ms" => format!("{v:.2} ms"),
        Some(v) if unit == "B" => format!("{:.0} B", v),
        Some(v) if unit == "MB" => format!("{:.0} MB", v / 1e6),
        Some(v) => format!("{v:.0}{unit}"),
    }
}

fn ratio(sw: Option<f64>, peer: Option<f64>) -> String {
    match (sw, peer) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

impl Report {
    fn ingest_value(&self, system: &str, size: &str, clients: usize, searchable: bool) -> Option<f64> {
        self.ingest
            .iter()
            .find(|r| r.system == system && r.size == size && r.clients == clients)
            .map(|r| {
                if searchable {
                    r.searchable_per_s
                } else {
                    r.durable_per_s
                }
            })
    }

    fn latency_value(&self, system: &str, op: &str, rate: u64, p99: bool) -> Option<f64> {
        self.latency
            .iter()
            .find(|r| r.system == system && r.op == op && r.rate == rate)
            .map(|r| if p99 { r.p99_ms } else { r.p50_ms })
    }

    fn lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut sizes: Vec<(String, usize, usize)> = Vec::new();
        for r in self.ingest.iter().filter(|r| r.system == "sectorwire") {
            if !sizes.iter().any(|(s, _, _)| *s == r.size) {
                sizes.push((r.size.clone(), r.mean_bytes, r.articles));
            }
        }
        let mut clients: Vec<usize> = self.ingest.iter().map(|r| r.clients).collect();
        clients.sort();
        clients.dedup();
        for (size, bytes, n) in &sizes {
            for &c in &clients {
                for (searchable, label) in [(true, "until searchable"), (false, "durable acks")] {
                    lines.push(Line {
                        what: format!(
                            "ingest {label}, {n} × {:.1} KB, {c} client{}",
                            *bytes as f64 / 1000.0,
                            if c == 1 { "" } else { "s" }
                        ),
                        values: SYSTEMS.map(|s| self.ingest_value(s, size, c, searchable)),
                        unit: "/s",
                    });
                }
            }
        }
        for op in ["search", "get"] {
            let mut rates: Vec<u64> = self
                .latency
                .iter()
                .filter(|r| r.op == op)
                .map(|r| r.rate)
                .collect();
            rates.sort();
            rates.dedup();
            for rate in rates {
                for p99 in [false, true] {
                    let name = match op {
                        "search" => "search top 10 + excerpt",
                        _ => "get by id (GetArticle / primary key)",
                    };
                    lines.push(Line {
                        what: format!("{name}, {} at {rate}/s", if p99 { "p99" } else { "p50" }),
                        values: SYSTEMS.map(|s| self.latency_value(s, op, rate, p99)),
                        unit: "ms",
                    });
                }
            }
        }
        for (size, bytes, _) in &sizes {
            let find = |s: &str| self.footprint.iter().find(|r| r.system == s && r.size == *size);
            lines.push(Line {
                what: format!("disk per article ({:.1} KB articles)", *bytes as f64 / 1000.0),
                values: SYSTEMS.map(|s| find(s).map(|r| r.disk_bytes_per_article)),
                unit: "B",
            });
            lines.push(Line {
                what: format!(
                    "memory (PSS) after loading the {:.1} KB articles",
                    *bytes as f64 / 1000.0
                ),
                values: SYSTEMS.map(|s| find(s).and_then(|r| r.memory_bytes.map(|m| m as f64))),
                unit: "MB",
            });
        }
        lines
    }

    /// The Markdown table (sectorwire / peer ratios: above 1 is better for
    /// rates, below 1 is better for latency and bytes).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| measure | sectorwire | PostgreSQL | SQLite FTS5 | sectorwire / PostgreSQL | sectorwire / SQLite |"
        );
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
        for line in self.lines() {
            let [sw, pg, lite] = line.values;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                line.what,
                fmt_value(sw, line.unit),
                fmt_value(pg, line.unit),
                fmt_value(lite, line.unit),
                ratio(sw, pg),
                ratio(sw, lite)
            );
        }
        let _ = writeln!(
            out,
            "\nRatios are sectorwire / peer: above 1× is better for ingest rates, below 1× is better for latency and bytes."
        );
        let _ = writeln!(
            out,
            "{} cores ({}), {:.0} GiB, Linux {}; corpus: {}; {} distinct queries; {}.",
            self.machine.cores,
            self.machine.cpu,
            self.machine.memory_bytes as f64 / (1u64 << 30) as f64,
            self.machine.kernel,
            self.corpus,
            self.queries,
            self.versions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(out, "Command: `{}`", self.command);
        for s in &self.skipped {
            let _ = writeln!(out, "\nSkipped: {s}");
        }
        out
    }

    /// Latency percentiles against rate (left) and ingest rate until
    /// searchable by concurrency (right).
    pub fn svg(&self) -> anyhow::Result<String> {
        const COLOURS: [RGBColor; 3] = [
            RGBColor(31, 119, 180),
            RGBColor(214, 39, 40),
            RGBColor(44, 160, 44),
        ];
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (1100, 440)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_error)?;
            let (left, right) = root.split_horizontally(560);

            let search: Vec<&LatencyRow> = self.latency.iter().filter(|r| r.op == "search").collect();
            let max_rate = search.iter().map(|r| r.rate).max().unwrap_or(1) as f64;
            let min_rate = search.iter().map(|r| r.rate).min().unwrap_or(1) as f64;
            let max_ms = search.iter().map(|r| r.p99_ms).fold(1.0, f64::max) * 1.5;
            let min_ms = search
                .iter()
                .map(|r| r.p50_ms)
                .fold(f64::MAX, f64::min)
                .clamp(0.01, 1.0)
                / 1.5;
            let mut chart = ChartBuilder::on(&left)
                .caption("search latency vs offered rate", ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(52)
                .build_cartesian_2d(
                    (min_rate * 0.8..max_rate * 1.25).log_scale(),
                    (min_ms..max_ms).log_scale(),
                )
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_desc("requests/s (open loop)")
                .y_desc("ms (p99 thick, p50 thin)")
                .draw()
                .map_err(plot_error)?;
            for (i, system) in SYSTEMS.iter().enumerate() {
                let colour = COLOURS[i];
                let rows: Vec<&&LatencyRow> = search.iter().filter(|r| r.system == *system).collect();
                if rows.is_empty() {
                    continue;
                }
                chart
                    .draw_series(LineSeries::new(
                        rows.iter().map(|r| (r.rate as f64, r.p99_ms.max(min_ms))),
                        colour.stroke_width(3),
                    ))
                    .map_err(plot_error)?
                    .label(display(system))
                    .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], colour.filled()));
                chart
                    .draw_series(LineSeries::new(
                        rows.iter().map(|r| (r.rate as f64, r.p50_ms.max(min_ms))),
                        colour.stroke_width(1),
                    ))
                    .map_err(plot_error)?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(plot_error)?;

            let max_clients = self.ingest.iter().map(|r| r.clients).max().unwrap_or(1) as f64;
            let max_per_s = self.ingest.iter().map(|r| r.searchable_per_s).fold(1.0, f64::max) * 1.15;
            let mut chart = ChartBuilder::on(&right)
                .caption("ingest until searchable (durable)", ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(60)
                .build_cartesian_2d(0.5..max_clients + 0.5, 0.0..max_per_s)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_desc("concurrent clients")
                .y_desc("articles/s (solid short, thin ~5 KB)")
                .draw()
                .map_err(plot_error)?;
            for (i, system) in SYSTEMS.iter().enumerate() {
                let colour = COLOURS[i];
                for (size, width) in [("short", 3), ("long", 1)] {
                    let rows: Vec<&IngestRow> = self
                        .ingest
                        .iter()
                        .filter(|r| r.system == *system && r.size == size)
                        .collect();
                    if rows.is_empty() {
                        continue;
                    }
                    let series = chart
                        .draw_series(LineSeries::new(
                            rows.iter().map(|r| (r.clients as f64, r.searchable_per_s)),
                            colour.stroke_width(width),
                        ))
                        .map_err(plot_error)?;
                    if size == "short" {
                        series.label(display(system)).legend(move |(x, y)| {
                            Rectangle::new([(x, y - 4), (x + 14, y + 4)], colour.filled())
                        });
                    }
                    chart
                        .draw_series(
                            rows.iter().map(|r| {
                                Circle::new((r.clients as f64, r.searchable_per_s), 4, colour.filled())
                            }),
                        )
                        .map_err(plot_error)?;
                }
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(plot_error)?;
            root.present().map_err(plot_error)?;
        }
        Ok(svg)
    }
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing the plot: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let ingest = SYSTEMS
            .iter()
            .flat_map(|s| {
                [1, 8].map(|c| IngestRow {
                    system: s.to_string(),
                    size: "short".into(),
                    articles: 100,
                    mean_bytes: 1100,
                    clients: c,
                    durable_per_s: 1000.0 * c as f64,
                    searchable_per_s: 900.0 * c as f64,
                    searchable_s: 0.1,
                })
            })
            .collect();
        let latency = SYSTEMS
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                [50, 200].map(|rate| LatencyRow {
                    system: s.to_string(),
                    op: "search".into(),
                    rate,
                    requests: 100,
                    p50_ms: 1.0 + i as f64,
                    p99_ms: 4.0 + i as f64,
                    max_ms: 9.0,
                    errors: 0,
                })
            })
            .collect();
        Report {
            command: "peers --quick".into(),
            quick: true,
            machine: Machine::this(),
            corpus: "synthetic".into(),
            versions: vec![],
            queries: 10,
            ingest,
            latency,
            footprint: vec![],
            skipped: vec![],
        }
    }

    #[test]
    fn table_has_ratios_against_each_peer() {
        let md = sample().markdown();
        assert!(
            md.contains(
                "| search top 10 + excerpt, p99 at 200/s | 4.00 ms | 5.00 ms | 6.00 ms | 0.80× | 0.67× |"
            ),
            "{md}"
        );
        assert!(
            md.contains("ingest until searchable, 100 × 1.1 KB, 8 clients | 7200/s | 7200/s"),
            "{md}"
        );
    }

    #[test]
    fn plot_draws_every_system() {
        let svg = sample().svg().expect("svg");
        for name in ["sectorwire", "PostgreSQL", "SQLite FTS5"] {
            assert!(svg.contains(name), "{name} missing");
        }
    }
}
