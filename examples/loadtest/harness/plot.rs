//! `--plot FILE.svg`: frame latency over the measured window, one point per
//! second (p50, p95, p99, max of the frames sent in that second).
//!
//! Hand-written SVG (about a hundred lines) rather than the `plotters` crate:
//! four polylines, axes and a legend do not justify a dependency tree and its
//! build time on a shared machine.

use super::stats::Summary;
use std::fmt::Write as _;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 500.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// A "nice" axis maximum (1, 2 or 5 × 10^k) at or above `value`.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= value {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The SVG document for a summary.
pub fn render_svg(summary: &Summary) -> String {
    type Pick = fn(&super::stats::LatencyMs) -> Option<f64>;
    let series: [(&str, &str, Pick); 4] = [
        ("p50", "#1b9e77", |l| l.p50),
        ("p95", "#7570b3", |l| l.p95),
        ("p99", "#d95f02", |l| l.p99),
        ("max", "#e7298a", |l| l.max),
    ];
    let seconds = summary.per_second.len().max(1) as f64;
    let top_value = summary
        .per_second
        .iter()
        .filter_map(|s| s.latency_ms.max)
        .fold(0.0, f64::max);
    let y_max = nice_ceiling(top_value);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |second: f64| LEFT + plot_w * (second + 0.5) / seconds;
    let y_of = |ms: f64| TOP + plot_h * (1.0 - (ms / y_max).min(1.0));

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let title = format!(
        "Frame latency per second: {} clients, {} rooms, {} speakers, {}{}, delivery {:.4}",
        summary.clients,
        summary.rooms,
        summary.speakers,
        summary.protocol,
        if summary.encrypt { " encrypted" } else { "" },
        summary.delivery_ratio
    );
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="25" font-size="14">{}</text>"#,
        escape(&title)
    );
    // Grid and y labels.
    for i in 0..=5 {
        let value = y_max * f64::from(i) / 5.0;
        let y = y_of(value);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            format_ms(value)
        );
    }
    // X labels: about ten.
    let step = ((seconds / 10.0).ceil() as usize).max(1);
    for second in (0..summary.per_second.len().max(1)).step_by(step) {
        let x = x_of(second as f64);
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{second}</text>"#,
            TOP + plot_h + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">second of the measured window (by send time)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 15.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">latency (ms)</text>"#,
        TOP + plot_h / 2.0
    );
    // Series.
    for (index, (name, color, pick)) in series.iter().enumerate() {
        let points: Vec<String> = summary
            .per_second
            .iter()
            .filter_map(|s| pick(&s.latency_ms).map(|v| (s.second, v)))
            .map(|(second, v)| format!("{:.1},{:.1}", x_of(second as f64), y_of(v)))
            .collect();
        if !points.is_empty() {
            let _ = writeln!(
                svg,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                points.join(" ")
            );
            for p in &points {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(svg, r#"<circle cx="{x}" cy="{y}" r="2.5" fill="{color}"/>"#);
            }
        }
        let ly = TOP + 10.0 + 22.0 * index as f64;
        let lx = LEFT + plot_w + 15.0;
        let whole = match *name {
            "p50" => summary.latency_ms.p50,
            "p95" => summary.latency_ms.p95,
            "p99" => summary.latency_ms.p99,
            _ => summary.latency_ms.max,
        };
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{name} {}</text>"#,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0,
            whole.map_or("-".to_owned(), format_ms)
        );
    }
    let _ = writeln!(svg, "</svg>");
    svg
}

fn format_ms(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.0} ms")
    } else {
        format!("{value:.1} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::nice_ceiling;

    #[test]
    fn axis_maximum_is_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(17.0), 20.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
    }
}
