//! The bench's smoke mode: every scenario with tiny counts against the
//! switchboard chat, so `cargo test --workspace` keeps the bench working.
//! Benchmarks are not pass/fail: this checks that each scenario ran and
//! measured something, never how fast.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[test]
fn every_scenario_runs_against_switchboard() {
    let out: PathBuf =
        std::env::temp_dir().join(format!("switchboard-bench-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_switchboard-bench"))
        .args(["smoke", "--no-pin", "--out"])
        .arg(&out)
        .status()
        .expect("the bench starts");
    assert!(status.success(), "the smoke run failed: {status}");

    let latest = std::fs::read_to_string(out.join("latest.json")).expect("latest.json written");
    let results: Value = serde_json::from_str(&latest).expect("valid JSON");
    let rows = results["rows"].as_array().expect("rows");
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
    let fixed = rows
        .iter()
        .find(|r| {
            r["scenario"] == "fanout"
                && r["point"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("fixed load"))
        })
        .expect("a fixed-load row");
    let delivered = fixed["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "delivered %"))
        .and_then(|m| m["value"].as_f64())
        .expect("delivered %");
    assert_eq!(delivered, 100.0, "{fixed}");
    let _ = std::fs::remove_dir_all(&out);
}
