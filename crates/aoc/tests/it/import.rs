use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{ENGINES, TestDb, fixture, stderr, stdout, write_ndjson};

fn json_report(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "import failed: {}", stderr(output));
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", stdout(output)))
}

#[tokio::test]
async fn the_same_files_imported_twice_are_stored_once() {
    for engine in ENGINES {
        let db = TestDb::new(engine, "import_twice").await;
        let files = [
            fixture("purview/audit_export.csv"),
            fixture("graph/signIns.json"),
            fixture("o365mgmt/content.blob.Audit.Exchange.json"),
        ];
        let first = json_report(
            &db.aoc()
                .arg("import")
                .args(&files)
                .arg("--json")
                .output()
                .expect("run"),
        );
        // The Purview rows and the Exchange blob share records: they de-duplicate across paths.
        let new = first["new"].as_u64().expect("new");
        assert!(new >= 8, "{engine:?}: {first}");
        assert_eq!(first["unreadable"], 0, "{engine:?}: {first}");
        assert_eq!(
            first["new"].as_u64().unwrap_or(0)
                + first["joined"].as_u64().unwrap_or(0)
                + first["duplicate"].as_u64().unwrap_or(0),
            13,
            "{first}"
        );
        // Lee's failed sign-in is in the Purview export and in the Graph sign-ins: one event.
        assert_eq!(first["joined"], 1, "{engine:?}: {first}");
        let second = json_report(
            &db.aoc()
                .arg("import")
                .args(&files)
                .arg("--json")
                .output()
                .expect("run"),
        );
        assert_eq!(second["new"], 0, "{engine:?}: {second}");
        assert_eq!(second["duplicate"], 13, "{engine:?}: {second}");
        assert_eq!(db.store().await.count_events().await.expect("count"), new);
    }
}

#[tokio::test]
async fn unreadable_records_are_reported_by_line_and_never_stop_the_import() {
    let db = TestDb::new(crate::support::Engine::Sqlite, "unreadable").await;
    let path = db.dir().join("mixed.ndjson");
    let good = r#"{"Id":"a1","CreationTime":"2025-03-01T10:00:00","Operation":"FileDownloaded","Workload":"SharePoint","UserId":"lee.gomez@contoso.com"}"#;
    let good2 = r#"{"Id":"a2","CreationTime":"2025-03-01T10:01:00","Operation":"FileDeleted","Workload":"SharePoint"}"#;
    let lines = [
        good,
        "{not json",
        "42",
        r#"{"no":"time"}"#,
        r#"{"b":"\ud800"}"#,
        good2,
    ];
    std::fs::write(&path, lines.join("\n")).expect("write");
    let report = json_report(
        &db.aoc()
            .args(["import", "--json"])
            .arg(&path)
            .output()
            .expect("run"),
    );
    assert_eq!(report["new"], 2, "{report}");
    assert_eq!(report["unreadable"], 4, "{report}");
    let lines: Vec<u64> = report["unreadable_records"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["line"].as_u64())
        .collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    // The text report names them too.
    let output = db.aoc().arg("import").arg(&path).output().expect("run");
    let text = stdout(&output);
    assert!(
        text.contains("0 new, 0 seen via another path, 2 duplicate, 4 unreadable"),
        "{text}"
    );
    assert!(
        text.contains("Imported events are kept for 90 days from today"),
        "{text}"
    );
    assert!(text.contains("line 2: "), "{text}");
}

#[tokio::test]
async fn bad_options_name_the_option() {
    let db = TestDb::new(crate::support::Engine::Sqlite, "bad_options").await;
    let output = db
        .aoc()
        .args(["import", "--format", "xml"])
        .arg(fixture("graph/signIns.json"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--format"), "{}", stderr(&output));
    let output = db
        .aoc()
        .args(["import", "--json", "/no/such/file.json"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert!(
        report["files"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("/no/such/file.json")),
        "{report}"
    );
}

/// SIGKILL halfway through a large import, then the same import again: one copy of each event.
#[tokio::test]
async fn an_import_killed_midway_and_rerun_stores_every_event_once() {
    const RECORDS: usize = 50_000;
    for engine in ENGINES {
        let db = TestDb::new(engine, "killed_import").await;
        let path = db.dir().join("large.ndjson");
        write_ndjson(&path, RECORDS);
        let store = db.store().await;
        let mut child = db
            .aoc()
            .arg("import")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            if store.count_events().await.unwrap_or(0) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let after_kill = store.count_events().await.expect("count");
        assert!(
            after_kill > 0,
            "{engine:?}: the import stored nothing before the kill"
        );
        assert!(
            after_kill < RECORDS as u64,
            "{engine:?}: the import finished before the kill ({after_kill})"
        );
        let output = db
            .aoc()
            .args(["import", "--json"])
            .arg(&path)
            .output()
            .expect("rerun");
        let report = json_report(&output);
        assert_eq!(
            report["new"].as_u64().unwrap_or(0) + after_kill,
            RECORDS as u64,
            "{engine:?}: {report}"
        );
        assert_eq!(
            store.count_events().await.expect("count"),
            RECORDS as u64,
            "{engine:?}"
        );
    }
}
