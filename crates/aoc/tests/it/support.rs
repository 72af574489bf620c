//! Running `aoc` against a fresh database of either engine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use aoc_store::Store;

pub const AOC: &str = env!("CARGO_BIN_EXE_aoc");

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

#[derive(Debug, Clone, Copy)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub const ENGINES: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

/// A database of its own for one test: a file in a temp dir, or a fresh PostgreSQL schema.
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new(engine: Engine, name: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match engine {
            Engine::Sqlite => format!("sqlite://{}", dir.path().join("aoc.db").display()),
            Engine::Postgres => {
                aoc_store_postgres::testing::fresh_schema(&format!("aoc_it_{name}")).await
            }
        };
        Self { url, _dir: dir }
    }

    /// A database the test made itself (such as the primary of a replicated pair) at `url`.
    pub fn at(url: String) -> Self {
        Self {
            url,
            _dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    /// The store the binary writes to, opened by the test to check what it did.
    pub async fn store(&self) -> Arc<dyn Store> {
        let store: Arc<dyn Store> = if self.url.starts_with("sqlite:") {
            Arc::new(
                aoc_store_sqlite::SqliteStore::connect(&self.url)
                    .await
                    .expect("open"),
            )
        } else {
            Arc::new(aoc_store_postgres::PostgresStore::connect(&self.url).expect("open"))
        };
        store.migrate().await.expect("migrate");
        store
    }

    pub fn aoc(&self) -> Command {
        let mut command = Command::new(AOC);
        command
            .env("DATABASE_URL", &self.url)
            .env("LOG_FORMAT", "json")
            .env_remove("RUST_LOG");
        command.current_dir(self.dir());
        command
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `n` distinct unified-audit and Graph records, one JSON object per line.
pub fn write_ndjson(path: &Path, n: usize) {
    use std::io::Write;
    let records = aoc_store::testsuite::data::fixture_records();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for i in 0..n {
        let mut record = records[i % records.len()].clone();
        let id = serde_json::Value::String(format!("00000000-0000-4000-8000-{i:012}"));
        if let Some(obj) = record.as_object_mut() {
            // Each record its own activity: no two are one activity seen via two paths.
            for key in [
                "id",
                "Id",
                "correlationId",
                "InterSystemsId",
                "appId",
                "ApplicationId",
            ] {
                if obj.contains_key(key) {
                    obj.insert(key.to_owned(), id.clone());
                }
            }
        }
        serde_json::to_writer(&mut file, &record).expect("write");
        file.write_all(b"\n").expect("write");
    }
    file.flush().expect("flush");
}
