//! SVG charts of per-sector counts over time (`--svg FILE`): one line per
//! sector on a shared time axis, drawn with plotters' SVG backend so the
//! file opens in any browser and embeds in reports.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;
use sectorwire_proto::query::{SectorSeries, TimeBucket};

use crate::render::{axis, counts_on};

/// Colours that stay apart on white, cycled past eight sectors.
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Axes up to this many buckets get a marker on every point.
const MARKED_BUCKETS: usize = 48;

/// Draws `series` into an SVG at `path`: x = buckets, y = articles.
pub fn write_svg(
    path: &Path,
    title: &str,
    series: &[SectorSeries],
    bucket: TimeBucket,
) -> anyhow::Result<()> {
    let svg = render_svg(title, series, bucket)?;
    std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))
}

/// The chart as SVG text.
pub fn render_svg(title: &str, series: &[SectorSeries], bucket: TimeBucket) -> anyhow::Result<String> {
    let axis = axis(series, bucket);
    let rows: Vec<(&str, Vec<u64>)> = series
        .iter()
        .map(|s| (s.sector.as_str(), counts_on(s, &axis)))
        .collect();
    let max = rows
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let labels: Vec<String> = axis
        .iter()
        .map(|&t| {
            let (y, m, d) = sectorwire_query::timeline::civil_from_days(t.div_euclid(86_400));
            match bucket {
                TimeBucket::Month | TimeBucket::Unspecified => format!("{y:04}-{m:02}"),
                _ => format!("{y:04}-{m:02}-{d:02}"),
            }
        })
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let x_max = axis.len().max(2) - 1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0..x_max, 0..max + max.div_ceil(10))
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_labels(labels.len().clamp(2, 12))
            .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .y_desc("articles")
            .draw()
            .map_err(plot_error)?;
        for (i, (sector, counts)) in rows.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            // Markers on short axes: a one-bucket line has no length, and
            // a few buckets read better as points joined by lines.
            let marker = if counts.len() <= MARKED_BUCKETS { 3 } else { 0 };
            chart
                .draw_series(
                    LineSeries::new(
                        counts.iter().enumerate().map(|(x, &c)| (x, c)),
                        colour.stroke_width(2),
                    )
                    .point_size(marker),
                )
                .map_err(plot_error)?
                .label(*sector)
                .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], colour.filled()));
        }
        if !rows.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e}")
}
