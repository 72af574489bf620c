use std::net::TcpListener;

use crate::support::{AOC, Engine, TestDb, stderr, stdout};

#[test]
fn help_lists_every_subcommand_with_a_description() {
    let output = std::process::Command::new(AOC)
        .arg("--help")
        .output()
        .expect("run");
    let text = stdout(&output);
    for command in ["serve", "worker", "migrate", "import", "dedupe"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(command))
            .unwrap_or_default();
        assert!(
            line.split_whitespace().count() > 2,
            "{command} has a description: {text}"
        );
    }
}

/// Each bad setting stops start-up with exit code 2 and one line naming it.
#[tokio::test]
async fn bad_settings_exit_2_naming_the_variable() {
    let db = TestDb::new(Engine::Sqlite, "bad_settings").await;
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = taken.local_addr().expect("addr").to_string();
    let cases: [(&[(&str, &str)], &str); 14] = [
        (&[("RETENTION_DAYS", "abc")], "RETENTION_DAYS"),
        (&[("AUTH_ENABLED", "true")], "AUTH_TENANT_ID"),
        (
            &[("AUTH_TENANT_ID", "common"), ("AUTH_AUDIENCE", "api://aoc")],
            "AUTH_TENANT_ID",
        ),
        (&[("DATABASE_URL", "not a url")], "DATABASE_URL"),
        (&[("DATABASE_URL", "mysql://localhost/aoc")], "DATABASE_URL"),
        (
            &[("DATABASE_URL", "sqlite:///no/such/dir/aoc.db")],
            "DATABASE_URL",
        ),
        // A read replica is PostgreSQL's, of a PostgreSQL primary.
        (
            &[("DATABASE_READ_URL", "postgres://replica.internal/aoc")],
            "DATABASE_READ_URL",
        ),
        (
            &[("DATABASE_READ_URL", "sqlite://other.db")],
            "DATABASE_READ_URL",
        ),
        // Off loopback, sign-in is required.
        (&[("AOC_BIND", "0.0.0.0:8080")], "AUTH_ENABLED"),
        (&[("AOC_BIND", taken.as_str())], "AOC_BIND"),
        (&[("LOG_FORMAT", "xml")], "LOG_FORMAT"),
        (&[("REDIS_URL", "http://cache:6379")], "REDIS_URL"),
        (&[("WORKER_CONCURRENCY", "lots")], "WORKER_CONCURRENCY"),
        (&[("JOB_LEASE_SECONDS", "1")], "JOB_LEASE_SECONDS"),
    ];
    for (env, var) in cases {
        let mut command = db.aoc();
        command.arg("serve").env("AOC_BIND", "127.0.0.1:0");
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command.output().expect("run");
        let err = stderr(&output);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(output.status.code(), Some(2), "{var}: {err}");
        assert_eq!(lines.len(), 1, "{var}: {err}");
        assert!(lines[0].contains(var), "{var}: {err}");
    }
}

#[tokio::test]
async fn secrets_in_the_database_url_never_reach_the_output() {
    let db = TestDb::new(Engine::Sqlite, "secret_url").await;
    let output = db
        .aoc()
        .arg("migrate")
        .env(
            "DATABASE_URL",
            "postgres://aoc:Sup3rS3cret@127.0.0.1:1/aoc?password=An0ther",
        )
        .output()
        .expect("run");
    assert!(!output.status.success());
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        !all.contains("Sup3rS3cret") && !all.contains("An0ther"),
        "{all}"
    );
    assert!(
        all.contains("127.0.0.1:1"),
        "the message still says where: {all}"
    );
}

/// A Valkey that cannot be reached stops `aoc serve` and `aoc worker` at start, naming
/// REDIS_URL, never its password.
#[tokio::test]
async fn an_unreachable_valkey_is_named_without_its_password() {
    let db = TestDb::new(Engine::Sqlite, "valkey_down").await;
    for command in ["serve", "worker"] {
        let output = db
            .aoc()
            .arg(command)
            .env("AOC_BIND", "127.0.0.1:0")
            .env("REDIS_URL", "redis://:Sup3rS3cret@127.0.0.1:1/0")
            .output()
            .expect("run");
        assert!(!output.status.success(), "{command}");
        let all = format!("{}{}", stdout(&output), stderr(&output));
        assert!(!all.contains("Sup3rS3cret"), "{command}: {all}");
        assert!(all.contains("REDIS_URL"), "{command}: {all}");
    }
}

#[tokio::test]
async fn migrate_prepares_both_engines() {
    for engine in crate::support::ENGINES {
        let db = TestDb::new(engine, "migrate_cmd").await;
        let output = db.aoc().arg("migrate").output().expect("run");
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("is up to date"));
    }
}

/// Settings come from a `.env` file in the working directory too, and are checked the same way.
#[tokio::test]
async fn a_dot_env_file_is_read() {
    let db = TestDb::new(Engine::Sqlite, "dot_env").await;
    std::fs::write(db.dir().join(".env"), "RETENTION_DAYS=abc\n").expect("write .env");
    let output = db
        .aoc()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("RETENTION_DAYS"),
        "{}",
        stderr(&output)
    );
    // A flag wins over the file.
    std::fs::write(db.dir().join(".env"), "DATABASE_URL=mysql://nowhere/aoc\n")
        .expect("write .env");
    let output = db
        .aoc()
        .env_remove("DATABASE_URL")
        .args(["--database-url", &db.url, "migrate"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
}
