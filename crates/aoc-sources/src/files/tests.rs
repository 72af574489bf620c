use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::*;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

fn write_temp(content: &[u8], suffix: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .expect("temp");
    file.write_all(content).expect("write");
    file
}

type Good = Vec<(Position, RawRecord)>;
type Bad = Vec<(Position, String)>;

/// Reads a whole file: (positions of good records, positions and reasons of bad ones).
fn read_all(path: &Path, format: FileFormat) -> (Good, Bad) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    read_file(path, format, Arc::new(AtomicU64::new(0)), &mut |item| {
        match item.record {
            Ok(r) => good.push((item.position, r)),
            Err(e) => bad.push((item.position, e)),
        }
        ControlFlow::Continue(())
    })
    .expect("read");
    (good, bad)
}

#[test]
fn ndjson_reports_bad_lines_and_reads_on() {
    let file = write_temp(
        b"\xef\xbb\xbf{\"a\":1}\n\n{broken\n[1,2]\n{\"b\":\"\\ud800\"}\n{\"c\":3}",
        ".ndjson",
    );
    assert_eq!(
        detect_format(file.path()).expect("detect"),
        FileFormat::Ndjson
    );
    let (good, bad) = read_all(file.path(), FileFormat::Ndjson);
    let good: Vec<Position> = good.into_iter().map(|(p, _)| p).collect();
    // `[1,2]` is JSON (normalization turns it away later); a lone surrogate is not.
    assert_eq!(
        good,
        [Position::Line(1), Position::Line(4), Position::Line(6)]
    );
    let bad: Vec<Position> = bad.into_iter().map(|(p, _)| p).collect();
    assert_eq!(bad, [Position::Line(3), Position::Line(5)]);
}

#[test]
fn graph_pages_and_arrays_stream_their_records() {
    let page = fixture("graph/directoryAudits.page1.json");
    assert_eq!(detect_format(&page).expect("detect"), FileFormat::GraphPage);
    let (good, bad) = read_all(&page, FileFormat::GraphPage);
    assert_eq!((good.len(), bad.len()), (3, 0));
    let blob = fixture("o365mgmt/content.blob.Audit.Exchange.json");
    assert_eq!(detect_format(&blob).expect("detect"), FileFormat::JsonArray);
    let (good, _) = read_all(&blob, FileFormat::JsonArray);
    assert_eq!(good.len(), 3);
    assert!(matches!(&good[0].1, RawRecord::Json(v) if v["Operation"] == "New-InboxRule"));
}

#[test]
fn a_single_pretty_object_is_one_record() {
    let file = write_temp(
        b"{\n  \"Id\": \"x\",\n  \"CreationTime\": \"2025-03-01T10:00:00\"\n}\n",
        ".json",
    );
    assert_eq!(
        detect_format(file.path()).expect("detect"),
        FileFormat::GraphPage
    );
    let (good, bad) = read_all(file.path(), FileFormat::GraphPage);
    assert_eq!((good.len(), bad.len()), (1, 0));
}

#[test]
fn truncated_json_keeps_what_came_before() {
    let file = write_temp(b"[{\"a\":1},{\"b\":2},{\"c\":", ".json");
    let (good, bad) = read_all(file.path(), FileFormat::JsonArray);
    assert_eq!(good.len(), 2);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, Position::Record(3));
}

#[test]
fn purview_exports_current_and_legacy() {
    for (name, rows) in [
        ("purview/audit_export.csv", 5),
        ("purview/audit_export.legacy-4col.csv", 2),
    ] {
        let path = fixture(name);
        assert_eq!(
            detect_format(&path).expect("detect"),
            FileFormat::PurviewCsv
        );
        let (good, bad) = read_all(&path, FileFormat::PurviewCsv);
        assert!(bad.is_empty(), "{name}: {bad:?}");
        assert!(good.len() >= rows.min(2), "{name}: {} rows", good.len());
        let RawRecord::Purview(row) = &good[0].1 else {
            panic!("a Purview row")
        };
        assert_eq!(row.operation.as_deref(), Some("New-InboxRule"));
        assert_eq!(row.audit_data["Operation"], "New-InboxRule");
    }
}

#[test]
fn csv_without_audit_data_is_refused_with_a_reason() {
    let file = write_temp(b"a,b\n1,2\n", ".csv");
    let err = read_file(
        file.path(),
        FileFormat::PurviewCsv,
        Arc::default(),
        &mut |_| ControlFlow::Continue(()),
    )
    .expect_err("no AuditData");
    assert!(err.to_string().contains("AuditData"), "{err}");
}

#[test]
fn a_bad_csv_row_is_reported_and_reading_goes_on() {
    let file = write_temp(
        b"CreationDate,UserIds,Operations,AuditData\n2025-03-01,u,op,not json\n2025-03-01,u,op,\"{\"\"Id\"\":\"\"1\"\"}\"\n",
        ".csv",
    );
    let (good, bad) = read_all(file.path(), FileFormat::PurviewCsv);
    assert_eq!(
        bad.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        [Position::Row(1)]
    );
    assert_eq!(
        good.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        [Position::Row(2)]
    );
}

#[test]
fn a_callback_can_stop_the_read() {
    let blob = fixture("o365mgmt/content.blob.Audit.SharePoint.json");
    let mut seen = 0;
    read_file(&blob, FileFormat::JsonArray, Arc::default(), &mut |_| {
        seen += 1;
        ControlFlow::Break(())
    })
    .expect("read");
    assert_eq!(seen, 1);
}
