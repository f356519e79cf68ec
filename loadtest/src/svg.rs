//! Line charts as inline SVG for the HTML report: no script, no external file, so the page
//! opens anywhere, offline, and can be attached to an issue as it is.
//!
//! Two x scales: linear (time), and "nines" for latency percentiles — x = −log10(1 − p), which
//! puts 90%, 99%, 99.9% ... at equal distances so the tail, where a TLS server's trouble shows,
//! gets as much room as the median.

use std::fmt::Write as _;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 46.0;

/// How x values are placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XScale {
    Linear,
    /// x values are percentiles (0–100), placed by their number of nines; 100 is "max".
    Nines,
}

pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
    pub points: Vec<(f64, f64)>,
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub x_scale: XScale,
    pub y_format: fn(f64) -> String,
    pub series: Vec<Series<'a>>,
}

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A step of 1, 2 or 5 × 10^k giving about `ticks` intervals over `range`.
pub fn nice_step(range: f64, ticks: f64) -> f64 {
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let raw = range / ticks;
    let magnitude = 10f64.powf(raw.log10().floor());
    let norm = raw / magnitude;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Number of nines of a percentile: 90 → 1, 99 → 2.
fn nines(p: f64) -> f64 {
    -(1.0 - p / 100.0).log10()
}

/// The percentile label for a number of nines: 0 → "0%", 2 → "99%".
fn nines_label(n: u32) -> String {
    match n {
        0 => "0%".to_owned(),
        1 => "90%".to_owned(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)).replace("99.%", "99%"),
    }
}

/// Where the data goes: the placed x range, the y range and its grid step.
struct Frame {
    x_scale: XScale,
    /// Nines scale: the largest finite percentile's number of nines, which places "max".
    finite_max_nines: f64,
    x_min: f64,
    x_max: f64,
    y_max: f64,
    y_step: f64,
}

const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

impl Frame {
    /// `None` when no series has a point.
    fn of(chart: &Chart<'_>) -> Option<Frame> {
        let finite_max_nines = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, _)| *x < 100.0)
            .map(|(x, _)| nines(*x))
            .fold(0.0f64, f64::max);
        let mut frame = Frame {
            x_scale: chart.x_scale,
            finite_max_nines,
            x_min: 0.0,
            x_max: 0.0,
            y_max: 0.0,
            y_step: 0.0,
        };
        let all: Vec<(f64, f64)> = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|&(x, y)| (frame.place_x(x), y)))
            .collect();
        if all.is_empty() {
            return None;
        }
        let (mut x_min, mut x_max) = all
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (x, _)| {
                (lo.min(*x), hi.max(*x))
            });
        // Both scales start at zero: time since the window began, and 0 nines (the minimum).
        x_min = x_min.min(0.0);
        if x_max - x_min < 1e-9 {
            x_min -= 0.5;
            x_max += 0.5;
        }
        let y_top = all.iter().map(|(_, y)| *y).fold(0.0f64, f64::max);
        let y_step = nice_step(y_top.max(1.0), 5.0);
        frame.x_min = x_min;
        frame.x_max = x_max;
        frame.y_step = y_step;
        frame.y_max = ((y_top / y_step).ceil().max(1.0)) * y_step;
        Some(frame)
    }

    /// A data x on the chart's scale.
    fn place_x(&self, x: f64) -> f64 {
        match self.x_scale {
            XScale::Linear => x,
            XScale::Nines if x >= 100.0 => self.finite_max_nines.ceil().max(1.0) + 0.5,
            XScale::Nines => nines(x),
        }
    }

    /// A placed x in pixels.
    fn sx(&self, x: f64) -> f64 {
        LEFT + (x - self.x_min) / (self.x_max - self.x_min) * PLOT_W
    }

    fn sy(&self, y: f64) -> f64 {
        TOP + PLOT_H - (y / self.y_max) * PLOT_H
    }
}

pub fn render(chart: &Chart<'_>) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}" font-family="system-ui, sans-serif" font-size="12">"#,
        title = escape(chart.title)
    );
    let _ = write!(
        svg,
        r##"<text x="{LEFT}" y="18" font-size="14" font-weight="600">{}</text>"##,
        escape(chart.title)
    );
    let Some(frame) = Frame::of(chart) else {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#666">no data</text></svg>"##,
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        return svg;
    };
    y_grid(&mut svg, chart, &frame);
    match chart.x_scale {
        XScale::Linear => linear_x_ticks(&mut svg, &frame),
        XScale::Nines => nines_x_ticks(&mut svg, &frame),
    }
    // axes and labels
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="none" stroke="#999"/><text x="{cx}" y="{by}" text-anchor="middle" fill="#222">{xl}</text><text transform="translate(14 {cy}) rotate(-90)" text-anchor="middle" fill="#222">{yl}</text>"##,
        cx = LEFT + PLOT_W / 2.0,
        by = HEIGHT - 8.0,
        cy = TOP + PLOT_H / 2.0,
        xl = escape(chart.x_label),
        yl = escape(chart.y_label),
    );
    for s in chart.series.iter().filter(|s| !s.points.is_empty()) {
        series(&mut svg, chart, &frame, s);
    }
    legend(&mut svg, chart);
    svg.push_str("</svg>");
    svg
}

/// Horizontal grid lines with the y labels.
fn y_grid(svg: &mut String, chart: &Chart<'_>, frame: &Frame) {
    let mut y = 0.0;
    while y <= frame.y_max + frame.y_step / 2.0 {
        let py = frame.sy(y);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{py:.1}" y2="{py:.1}" stroke="#e3e3e3"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#444">{label}</text>"##,
            x2 = LEFT + PLOT_W,
            tx = LEFT - 6.0,
            ty = py + 4.0,
            label = escape(&(chart.y_format)(y)),
        );
        y += frame.y_step;
    }
}

fn linear_x_ticks(svg: &mut String, frame: &Frame) {
    let step = nice_step(frame.x_max - frame.x_min, 8.0);
    let mut x = (frame.x_min / step).ceil() * step;
    while x <= frame.x_max + step * 1e-9 {
        let px = frame.sx(x);
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{yb}" stroke="#f0f0f0"/><text x="{px:.1}" y="{ty}" text-anchor="middle" fill="#444">{x}</text>"##,
            yb = TOP + PLOT_H,
            ty = TOP + PLOT_H + 16.0,
        );
        x += step;
    }
}

/// One tick per nine (0%, 90%, 99%, ...), then "max".
fn nines_x_ticks(svg: &mut String, frame: &Frame) {
    let last = frame.finite_max_nines.ceil() as u32;
    for n in 0..=last {
        let px = frame.sx(n as f64);
        if px > LEFT + PLOT_W + 0.5 {
            break;
        }
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{yb}" stroke="#f0f0f0"/><text x="{px:.1}" y="{ty}" text-anchor="middle" fill="#444">{label}</text>"##,
            yb = TOP + PLOT_H,
            ty = TOP + PLOT_H + 16.0,
            label = nines_label(n),
        );
    }
    let px = frame.sx(frame.place_x(100.0));
    let _ = write!(
        svg,
        r##"<text x="{px:.1}" y="{ty}" text-anchor="middle" fill="#444">max</text>"##,
        ty = TOP + PLOT_H + 16.0,
    );
}

/// One line, with a dot and a tooltip per point when there are few enough to tell apart.
fn series(svg: &mut String, chart: &Chart<'_>, frame: &Frame, s: &Series<'_>) {
    let place = |x: f64, y: f64| (frame.sx(frame.place_x(x)), frame.sy(y));
    let pts: Vec<String> = s
        .points
        .iter()
        .map(|&(x, y)| {
            let (px, py) = place(x, y);
            format!("{px:.1},{py:.1}")
        })
        .collect();
    let color = escape(s.color);
    let _ = write!(
        svg,
        r#"<polyline fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round" points="{}"/>"#,
        pts.join(" ")
    );
    if s.points.len() <= 40 {
        for &(x, y) in &s.points {
            let (px, py) = place(x, y);
            let _ = write!(
                svg,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="2.5" fill="{color}"><title>{}: {}</title></circle>"#,
                escape(s.name),
                escape(&(chart.y_format)(y)),
            );
        }
    }
}

/// Legend: one row, right-aligned in the title band, clear of the data.
fn legend(svg: &mut String, chart: &Chart<'_>) {
    let item_width = |name: &str| 18.0 + 7.0 * name.chars().count() as f64 + 14.0;
    let shown = || chart.series.iter().filter(|s| !s.points.is_empty());
    let mut lx = WIDTH - RIGHT - shown().map(|s| item_width(s.name)).sum::<f64>();
    for s in shown() {
        let _ = write!(
            svg,
            r##"<rect x="{lx:.1}" y="12" width="12" height="4" fill="{color}"/><text x="{tx:.1}" y="18" fill="#222">{name}</text>"##,
            color = escape(s.color),
            tx = lx + 18.0,
            name = escape(s.name),
        );
        lx += item_width(s.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(v: f64) -> String {
        format!("{v}")
    }

    #[test]
    fn steps_are_one_two_five() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(nice_step(1000.0, 5.0), 200.0);
        assert_eq!(nice_step(7.0, 5.0), 2.0);
        assert_eq!(nice_step(0.3, 5.0), 0.1);
        assert_eq!(nice_step(0.0, 5.0), 1.0);
    }

    #[test]
    fn percentile_labels() {
        assert_eq!(nines_label(0), "0%");
        assert_eq!(nines_label(1), "90%");
        assert_eq!(nines_label(2), "99%");
        assert_eq!(nines_label(3), "99.9%");
        assert_eq!(nines_label(5), "99.999%");
    }

    #[test]
    fn renders_escaped_well_formed_svg() {
        let chart = Chart {
            title: "a <b> & c",
            x_label: "percentile",
            y_label: "latency",
            x_scale: XScale::Nines,
            y_format: plain,
            series: vec![Series {
                name: "total",
                color: "#1f77b4",
                points: vec![(0.0, 10.0), (90.0, 20.0), (99.0, 50.0), (100.0, 80.0)],
            }],
        };
        let svg = render(&chart);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("<polyline"));
        assert!(svg.contains(">99%<") && svg.contains(">max<"));
        assert_eq!(svg.matches("<circle").count(), 4);

        let empty = Chart {
            series: vec![],
            ..chart
        };
        assert!(render(&empty).contains("no data"));
    }
}
