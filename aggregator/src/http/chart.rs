//! An SVG line chart of one traffic figure for both colors over the last
//! minutes, with the rollback threshold drawn across it. Pure: samples,
//! threshold and `now` in, markup out.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use greenlight_proto::names::color_name;
use greenlight_proto::v1::Color;

use super::escape::escape;
use super::series::Sample;

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 120.0;
/// Room on the left for the axis labels.
const LEFT: f64 = 40.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 16.0;

/// Which figure of a sample the chart draws.
#[derive(Debug, Clone, Copy)]
pub enum Figure {
    ErrorRatio,
    MeanLatency,
}

impl Figure {
    fn pick(self, sample: &Sample) -> Option<f64> {
        match self {
            Figure::ErrorRatio => sample.error_ratio,
            Figure::MeanLatency => sample.mean_latency_seconds,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Figure::ErrorRatio => "error ratio",
            Figure::MeanLatency => "mean latency (s)",
        }
    }
}

pub struct Chart<'a> {
    pub figure: Figure,
    pub lines: Vec<(Color, &'a [Sample])>,
    pub threshold: f64,
    pub now: SystemTime,
    pub span: Duration,
}

fn stroke(color: Color) -> &'static str {
    match color {
        Color::Blue => "#1f6feb",
        Color::Green => "#1a7f37",
        Color::Unspecified => "#666",
    }
}

/// A number as an axis label writes it.
fn label(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

pub fn svg(chart: &Chart<'_>) -> String {
    let values = chart
        .lines
        .iter()
        .flat_map(|(_, samples)| samples.iter().filter_map(|s| chart.figure.pick(s)));
    let top_value = values
        .fold(chart.threshold * 1.25, f64::max)
        .max(f64::MIN_POSITIVE);
    let plot_width = WIDTH - LEFT - 4.0;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let span = chart.span.as_secs_f64().max(1.0);
    let x = |at: SystemTime| {
        let age = chart
            .now
            .duration_since(at)
            .unwrap_or_default()
            .as_secs_f64();
        LEFT + plot_width * (1.0 - (age / span).min(1.0))
    };
    let y = |value: f64| TOP + plot_height * (1.0 - (value / top_value).clamp(0.0, 1.0));
    let title = chart.figure.title();
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title} per color"><title>{title} per color, last {minutes} min; dashed: the threshold</title>"##,
        minutes = (span / 60.0).round(),
    );
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_width}" height="{plot_height}" fill="none" stroke="#ccc"/>"##
    );
    let _ = write!(
        out,
        r##"<text x="2" y="{}" font-size="9">{}</text><text x="2" y="{}" font-size="9">0</text>"##,
        TOP + 8.0,
        label(top_value),
        TOP + plot_height,
    );
    let threshold_y = y(chart.threshold);
    let _ = write!(
        out,
        r##"<line class="threshold" x1="{LEFT}" x2="{}" y1="{threshold_y:.1}" y2="{threshold_y:.1}" stroke="#cf222e" stroke-dasharray="4 3"/><text x="2" y="{:.1}" font-size="9" fill="#cf222e">{}</text>"##,
        LEFT + plot_width,
        threshold_y + 3.0,
        label(chart.threshold),
    );
    for (color, samples) in &chart.lines {
        let points: Vec<String> = samples
            .iter()
            .filter_map(|s| {
                chart
                    .figure
                    .pick(s)
                    .map(|v| format!("{:.1},{:.1}", x(s.at), y(v)))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            r##"<polyline class="{name}" fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"##,
            stroke(*color),
            points.join(" "),
            name = escape(color_name(*color)),
        );
    }
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="{}" font-size="9">{title}, last {minutes} min</text>"##,
        HEIGHT - 3.0,
        minutes = (span / 60.0).round(),
    );
    // The legend: which line is which color.
    for (index, color) in [Color::Blue, Color::Green].into_iter().enumerate() {
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" font-size="9" fill="{}">— {}</text>"##,
            WIDTH - 80.0 + 40.0 * index as f64,
            HEIGHT - 3.0,
            stroke(color),
            color_name(color),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
    }

    fn sample(t: u64, ratio: f64) -> Sample {
        Sample {
            at: at(t),
            error_ratio: Some(ratio),
            mean_latency_seconds: None,
        }
    }

    #[test]
    fn draws_each_color_and_the_threshold() {
        let green = [sample(0, 0.0), sample(150, 0.1), sample(300, 0.2)];
        let chart = Chart {
            figure: Figure::ErrorRatio,
            lines: vec![(Color::Green, &green), (Color::Blue, &[])],
            threshold: 0.05,
            now: at(300),
            span: Duration::from_secs(300),
        };
        let svg = svg(&chart);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        // The top is the largest value (0.2 > 1.25 x 0.05): the last point
        // is at the right edge and the top, the first at the left and bottom.
        assert!(
            svg.contains(r#"points="40.0,104.0 178.0,56.0 316.0,8.0""#),
            "{svg}"
        );
        assert!(svg.contains(r#"class="threshold""#), "{svg}");
        assert!(svg.contains(">0.05</text>"), "{svg}");
        assert!(
            !svg.contains(r#"class="blue""#),
            "no samples, no line: {svg}"
        );
    }

    #[test]
    fn an_empty_chart_still_shows_the_threshold() {
        let chart = Chart {
            figure: Figure::MeanLatency,
            lines: vec![],
            threshold: 5.0,
            now: at(0),
            span: Duration::from_secs(300),
        };
        let svg = svg(&chart);
        assert!(svg.contains(">5.0</text>"), "{svg}");
        assert!(svg.contains("mean latency (s)"), "{svg}");
    }
}
