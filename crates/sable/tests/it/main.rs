//! The `sable` command line as a user runs it: the real binary on a fresh data folder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Cli {
    dir: PathBuf,
}

impl Cli {
    fn new() -> Cli {
        let dir = std::env::temp_dir().join(format!(
            "sable-cli-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Cli { dir }
    }

    /// Runs `sable --data-dir DIR ARGS…` with `stdin` as standard input.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sable"))
            .arg("--data-dir")
            .arg(&self.dir)
            .args(args)
            .env_remove("SABLE_DATABASE_URL")
            .env("SABLE_ADMIN_PASSWORD", "admin-pass-1")
            .env("SABLE_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running sable");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and expects success; returns standard output.
    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "sable {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn help_documents_every_option() {
    let cli = Cli::new();
    let help = cli.ok(&["--help"], "");
    for word in [
        "--data-dir",
        "--database-url",
        "--bind",
        "SABLE_DATA_DIR",
        "SABLE_DATABASE_URL",
        "SABLE_BIND",
        "serve",
        "migrate",
        "user",
        "token",
        "module",
        "field",
        "demo",
        "import",
        "export",
    ] {
        assert!(help.contains(word), "`{word}` missing from --help:\n{help}");
    }
    let bad = cli.run(&["no-such-command"], "");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no-such-command"));
}

#[test]
fn users_tokens_modules_and_fields() {
    let cli = Cli::new();
    cli.ok(&["migrate"], "");
    let added = cli.ok(
        &["user", "add", "bob", "--last-name", "Bob", "--email", "bob@example.com"],
        "pw-secret-123\n",
    );
    assert!(added.contains("added user bob"), "{added}");
    let list = cli.ok(&["user", "list"], "");
    assert!(
        list.lines().any(|l| l.contains("bob") && l.contains("Active")),
        "{list}"
    );
    // a second user with the same name is refused
    assert!(
        !cli.run(&["user", "add", "bob", "--last-name", "B"], "pw-secret-123\n")
            .status
            .success()
    );

    let token = cli.ok(&["token", "create", "bob", "--name", "ci"], "");
    let token = token
        .lines()
        .find(|l| l.starts_with("sable_"))
        .expect("the token is printed");
    assert!(token.len() > 30);
    let tokens = cli.ok(&["token", "list"], "");
    let line = tokens.lines().find(|l| l.contains(" ci ")).expect("listed");
    assert!(line.trim_end().ends_with("no"), "not revoked yet: {line}");
    let id = line.split_whitespace().next().unwrap();
    cli.ok(&["token", "revoke", id], "");
    let tokens = cli.ok(&["token", "list"], "");
    assert!(
        tokens
            .lines()
            .any(|l| l.contains(" ci ") && l.trim_end().ends_with("yes")),
        "{tokens}"
    );
    assert!(!cli.run(&["token", "revoke", "999"], "").status.success());

    let modules = cli.ok(&["module", "list"], "");
    for m in ["Accounts", "Contacts", "Leads", "Opportunities"] {
        assert!(modules.contains(m), "{modules}");
    }
    cli.ok(
        &[
            "field",
            "add",
            "--module",
            "Leads",
            "--name",
            "cf_region",
            "--type",
            "picklist",
            "--label-en",
            "Region",
            "--label-zh",
            "区域",
            "--values",
            "华北,华东",
        ],
        "",
    );
    let again = cli.run(
        &[
            "field",
            "add",
            "--module",
            "Leads",
            "--name",
            "cf_region",
            "--type",
            "text",
            "--label-en",
            "R",
            "--label-zh",
            "R",
        ],
        "",
    );
    assert!(!again.status.success(), "a field cannot be added twice");
    let modules = cli.ok(&["module", "list"], "");
    let leads = modules.lines().find(|l| l.starts_with("Leads")).unwrap();
    assert!(leads.contains("34"), "one more field: {leads}");

    cli.ok(&["user", "deactivate", "bob"], "");
    let list = cli.ok(&["user", "list"], "");
    assert!(
        list.lines().any(|l| l.contains("bob") && l.contains("Inactive")),
        "{list}"
    );
}

#[test]
fn import_prints_a_summary_and_fails_on_bad_rows_and_export_round_trips() {
    let cli = Cli::new();
    let good = cli.path("leads.csv");
    write(
        &good,
        "\u{feff}姓,公司,邮箱,线索来源\n张,北京星辰,zhang@example.cn,展会\n李,\"上海,浦东\",li@example.cn,Web Site\n"
            .as_bytes(),
    );
    let out = cli.ok(
        &[
            "import",
            "--module",
            "Leads",
            good.to_str().unwrap(),
            "--match",
            "email",
        ],
        "",
    );
    assert_eq!(
        out.lines().last(),
        Some("created 2, updated 0, skipped 0, failed 0"),
        "{out}"
    );
    // the same file again: both rows are duplicates by e-mail
    let out = cli.ok(
        &[
            "import",
            "--module",
            "Leads",
            good.to_str().unwrap(),
            "--match",
            "email",
        ],
        "",
    );
    assert_eq!(
        out.lines().last(),
        Some("created 0, updated 0, skipped 2, failed 0"),
        "{out}"
    );

    let bad = cli.path("bad.csv");
    write(&bad, "姓,邮箱\n王,not-an-email\n赵,zhao@example.cn\n".as_bytes());
    let failed_rows = cli.path("failed.csv");
    let out = cli.run(
        &[
            "import",
            "--module",
            "Leads",
            bad.to_str().unwrap(),
            "--failed-rows",
            failed_rows.to_str().unwrap(),
        ],
        "",
    );
    assert!(!out.status.success(), "a failed row makes the exit status non-zero");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l == "created 1, updated 0, skipped 0, failed 1"),
        "{stdout}"
    );
    let failed = std::fs::read_to_string(&failed_rows).unwrap();
    assert!(failed.contains("not-an-email") && !failed.contains("zhao"), "{failed}");
    // --all-or-nothing: the bad row stops the good one too
    let out = cli.run(
        &[
            "import",
            "--module",
            "Leads",
            bad.to_str().unwrap(),
            "--match",
            "email",
            "--all-or-nothing",
        ],
        "",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing was written"), "{stderr}");
    let out = cli.run(
        &[
            "import",
            "--module",
            "Leads",
            bad.to_str().unwrap(),
            "--match",
            "email",
            "--dry-run",
        ],
        "",
    );
    let out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.lines().last(),
        Some("created 0, updated 0, skipped 1, failed 1"),
        "zhao was not written twice: {out}"
    );

    let contacts = cli.path("contacts.csv");
    write(&contacts, "lastname,account_id\n张,新公司\n".as_bytes());
    let out = cli.ok(
        &[
            "import",
            "--module",
            "Contacts",
            contacts.to_str().unwrap(),
            "--create-missing-parents",
        ],
        "",
    );
    assert_eq!(
        out.lines().last(),
        Some("created 1, updated 0, skipped 0, failed 0"),
        "{out}"
    );
    let exported = cli.path("out.csv");
    cli.ok(&["export", "--module", "Leads", "-o", exported.to_str().unwrap()], "");
    let bytes = std::fs::read(&exported).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM by default");
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("上海,浦东") && text.contains("北京星辰"), "{text}");
    let gb = cli.path("out-gb.csv");
    cli.ok(
        &[
            "export",
            "--module",
            "Leads",
            "--encoding",
            "gb18030",
            "-o",
            gb.to_str().unwrap(),
        ],
        "",
    );
    let raw = std::fs::read(&gb).unwrap();
    assert!(std::str::from_utf8(&raw).is_err(), "GB18030, not UTF-8");
    let missing = cli.run(
        &["import", "--module", "Leads", cli.path("nope.csv").to_str().unwrap()],
        "",
    );
    assert!(!missing.status.success());
}
