//! The bench's smoke mode: every scenario with tiny counts against the
//! switchboard chat, so `cargo test --workspace` keeps the bench working.
//! Benchmarks are not pass/fail: this checks that each scenario ran and
//! measured something, never how fast.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// Runs `smoke` (with `--servers servers` when given) into a fresh
/// directory; its result rows and the directory.
fn smoke(name: &str, servers: Option<&str>) -> (Vec<Value>, PathBuf) {
    let out: PathBuf =
        std::env::temp_dir().join(format!("switchboard-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard-bench"));
    command.args(["smoke", "--no-pin", "--out"]).arg(&out);
    if let Some(servers) = servers {
        command.args(["--servers", servers]);
    }
    let status = command.status().expect("the bench starts");
    assert!(status.success(), "the smoke run failed: {status}");
    let latest = std::fs::read_to_string(out.join("latest.json")).expect("latest.json written");
    let results: Value = serde_json::from_str(&latest).expect("valid JSON");
    let rows = results["rows"].as_array().expect("rows").clone();
    (rows, out)
}

/// The share of the fixed fanout load `server` delivered, in %.
fn delivered_at_fixed_load(rows: &[Value], server: &str) -> f64 {
    let fixed = rows
        .iter()
        .find(|r| {
            r["scenario"] == "fanout"
                && r["server"] == server
                && r["point"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("fixed load"))
        })
        .expect("a fixed-load row");
    fixed["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "delivered %"))
        .and_then(|m| m["value"].as_f64())
        .unwrap_or_else(|| panic!("no delivered % in {fixed}"))
}

#[test]
fn every_scenario_runs_against_switchboard() {
    let (rows, out) = smoke("smoke", None);
    for scenario in ["idle", "fanout", "ack", "polling", "history"] {
        let of: Vec<&Value> = rows.iter().filter(|r| r["scenario"] == scenario).collect();
        assert!(!of.is_empty(), "no rows for {scenario}");
        for row in of {
            let notes = row["notes"].as_array().expect("notes");
            assert!(
                !notes
                    .iter()
                    .any(|n| n.as_str().is_some_and(|n| n.starts_with("failed"))),
                "{scenario} failed: {row}"
            );
            assert!(
                !row["metrics"].as_array().expect("metrics").is_empty(),
                "{scenario} measured nothing: {row}"
            );
        }
        assert!(
            out.join(format!("{scenario}.svg")).exists(),
            "no chart for {scenario}"
        );
    }
    // Every message of the fixed fanout load reached every client.
    assert_eq!(delivered_at_fixed_load(&rows, "switchboard"), 100.0);
    let _ = std::fs::remove_dir_all(&out);
}

/// The floor (a raw broadcaster) takes the real client's connections and
/// delivers the fixed fanout load whole; it runs in no other scenario.
#[test]
fn the_floor_delivers_the_fixed_fanout_load() {
    let (rows, out) = smoke("floor", Some("floor"));
    assert_eq!(delivered_at_fixed_load(&rows, "floor"), 100.0);
    assert!(
        rows.iter().all(|r| r["scenario"] == "fanout"),
        "the floor ran outside fanout: {rows:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
