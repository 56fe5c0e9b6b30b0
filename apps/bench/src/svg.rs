//! One SVG chart per scenario: a panel per headline metric, a horizontal
//! bar per server and point. Written by hand: a plotting crate would cost
//! more to compile than these hundred lines.

use std::fmt::Write as _;

use crate::report::{Results, number};

const WIDTH: f64 = 760.0;
const LABEL: f64 = 300.0;
const BAR: f64 = 18.0;
const GAP: f64 = 6.0;
const TITLE: f64 = 28.0;

fn color(server: &str) -> &'static str {
    if server.starts_with("switchboard") {
        "#2b7bb9"
    } else if server.starts_with("node") {
        "#5fa04e"
    } else {
        "#d9822b"
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The metrics charted for a scenario, the first ones that exist in its rows.
fn headline(scenario: &str) -> &'static [&'static str] {
    match scenario {
        "idle" => &["bytes/conn", "conns/s"],
        "fanout" => &["p99 ms", "deliveries/s", "server CPU ns/delivery"],
        "ack" => &["round trips/s", "p99 ms"],
        "polling" => &["p99 ms", "server CPU ns/delivery"],
        "history" => &["stored/s", "delivered/s"],
        _ => &["p99 ms"],
    }
}

/// The chart of `scenario`, or `None` when it has no charted metric.
pub(crate) fn chart(results: &Results, scenario: &str) -> Option<String> {
    let mut panels = String::new();
    let mut y = 0.0;
    for metric in headline(scenario) {
        let bars: Vec<(String, &str, f64, bool)> = results
            .rows_of(scenario)
            .filter_map(|r| {
                let value = r.get(metric)?;
                let label = format!("{} · {}", r.point, r.server);
                Some((label, r.server.as_str(), value, r.trustworthy))
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        let max = bars.iter().map(|b| b.2).fold(0.0_f64, f64::max).max(1e-9);
        let _ = writeln!(
            panels,
            r#"<text x="8" y="{:.0}" font-weight="bold">{}</text>"#,
            y + 20.0,
            escape(metric)
        );
        y += TITLE;
        for (label, server, value, trusted) in bars {
            let length = (WIDTH - LABEL - 90.0) * value / max;
            let mark = if trusted { "" } else { " *" };
            let _ = writeln!(
                panels,
                r#"<text x="{:.0}" y="{:.0}" text-anchor="end">{}</text><rect x="{LABEL:.0}" y="{:.0}" width="{length:.1}" height="{BAR:.0}" fill="{}"/><text x="{:.0}" y="{:.0}">{}{mark}</text>"#,
                LABEL - 8.0,
                y + 13.0,
                escape(&label),
                y,
                color(server),
                LABEL + length + 6.0,
                y + 13.0,
                number(value),
            );
            y += BAR + GAP;
        }
        y += GAP;
    }
    if panels.is_empty() {
        return None;
    }
    let height = y + 24.0;
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0}" height="{height:.0}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
{panels}<text x="8" y="{:.0}" fill="#666">{} · * load generator over 70 % of its core (not trustworthy)</text>
</svg>
"##,
        height - 8.0,
        escape(scenario),
    ))
}
