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
    assert!(
        leads.contains("39"),
        "one more field (lead conversion added four): {leads}"
    );
    // Labels for picklist values, defaults, scale and help, as through the API.
    let tier = [
        "field",
        "add",
        "--module",
        "Leads",
        "--name",
        "cf_tier",
        "--type",
        "picklist",
        "--label-en",
        "Tier",
        "--label-zh",
        "等级",
        "--values",
        "A:Key account:重点客户,B",
        "--default",
        "B",
        "--help-en",
        "How much the customer buys",
        "--help-zh",
        "客户采购量",
    ];
    cli.ok(&tier, "");
    let bad_default = cli.run(
        &[
            "field",
            "add",
            "--module",
            "Leads",
            "--name",
            "cf_budget",
            "--type",
            "currency",
            "--label-en",
            "Budget",
            "--label-zh",
            "预算",
            "--scale",
            "2",
            "--default",
            "lots",
        ],
        "",
    );
    assert!(
        !bad_default.status.success(),
        "a default that is not a value of the field"
    );
    assert!(String::from_utf8_lossy(&bad_default.stderr).contains("lots"));
    let csv = cli.path("tier.csv");
    write(
        &csv,
        "lastname,company,cf_tier\n张,甲公司,重点客户\n李,乙公司,\n".as_bytes(),
    );
    let summary = cli.ok(&["import", "--module", "Leads", csv.to_str().unwrap()], "");
    assert!(
        summary.contains("created 2, updated 0, skipped 0, failed 0"),
        "{summary}"
    );
    let out = cli.path("tier-out.csv");
    cli.ok(
        &[
            "export",
            "--module",
            "Leads",
            "--encoding",
            "utf-8",
            "-o",
            out.to_str().unwrap(),
        ],
        "",
    );
    let exported = std::fs::read_to_string(&out).unwrap();
    // (outside a browser, a user with no language preference reads Chinese)
    assert!(
        exported.lines().any(|l| l.contains("张") && l.contains("重点客户")),
        "the zh label: {exported}"
    );
    assert!(
        exported.lines().any(|l| l.contains("李") && l.contains(",B")),
        "the default: {exported}"
    );

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

/// The job id an import prints (`import job N`).
fn job_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("import job "))
        .unwrap_or_else(|| panic!("no job id in {stdout}"))
        .to_string()
}

/// Data lines of an export (header and BOM left out).
fn exported_rows(cli: &Cli, module: &str) -> Vec<String> {
    let out = cli.path(&format!("{module}-count.csv"));
    cli.ok(
        &[
            "export",
            "--module",
            module,
            "--encoding",
            "utf-8",
            "-o",
            out.to_str().unwrap(),
        ],
        "",
    );
    let text = std::fs::read_to_string(&out).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_command_line_import_is_a_job_that_can_be_undone() {
    let cli = Cli::new();
    let leads = cli.path("leads.csv");
    write(
        &leads,
        "lastname,company,email\n张,甲,zhang@example.cn\n李,乙,li@example.cn\n".as_bytes(),
    );
    let out = cli.ok(&["import", "--module", "Leads", leads.to_str().unwrap()], "");
    assert_eq!(
        out.lines().last(),
        Some("created 2, updated 0, skipped 0, failed 0"),
        "{out}"
    );
    let first = job_id(&out);
    // An update by e-mail is journalled with the values before.
    write(&leads, "lastname,company,email\n张,新甲,zhang@example.cn\n".as_bytes());
    let out = cli.ok(
        &[
            "import",
            "--module",
            "Leads",
            leads.to_str().unwrap(),
            "--match",
            "email",
            "--on-duplicate",
            "update",
        ],
        "",
    );
    assert_eq!(
        out.lines().last(),
        Some("created 0, updated 1, skipped 0, failed 0"),
        "{out}"
    );
    let second = job_id(&out);
    assert_ne!(first, second);
    assert!(exported_rows(&cli, "Leads").iter().any(|l| l.contains("新甲")));
    let undone = cli.ok(&["import", "--undo", &second], "");
    assert!(undone.contains(&format!("undid import job {second}")), "{undone}");
    let rows = exported_rows(&cli, "Leads");
    assert!(
        rows.iter().any(|l| l.contains(",甲,")) && !rows.iter().any(|l| l.contains("新甲")),
        "{rows:?}"
    );
    // Twice is refused, and so is a job that does not exist.
    let again = cli.run(&["import", "--undo", &second], "");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("undone"), "{again:?}");
    assert!(!cli.run(&["import", "--undo", "9999"], "").status.success());
    cli.ok(&["import", "--undo", &first], "");
    assert_eq!(exported_rows(&cli, "Leads"), Vec::<String>::new());
    // Parents made for missing references go too.
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
    assert_eq!(exported_rows(&cli, "Accounts").len(), 1);
    cli.ok(&["import", "--undo", &job_id(&out)], "");
    assert_eq!(exported_rows(&cli, "Accounts"), Vec::<String>::new());
    assert_eq!(exported_rows(&cli, "Contacts"), Vec::<String>::new());
    // --undo takes no file.
    assert!(
        !cli.run(
            &["import", "--undo", &first, "--module", "Leads", leads.to_str().unwrap()],
            ""
        )
        .status
        .success()
    );
}

/// Runs `sable import --module Leads FILE [EXTRA…]`; returns (success, stdout, stderr).
fn import_leads(cli: &Cli, file: &Path, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec!["import", "--module", "Leads", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = cli.run(&args, "");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_files_get_a_clear_message_and_leave_nothing_half_written() {
    let cli = Cli::new();
    cli.ok(&["migrate"], "");
    // Refused files: a message, a non-zero exit, no job and no record.
    let refused: [(&str, Vec<u8>, &str); 3] = [
        ("empty.csv", Vec::new(), "empty"),
        ("binary.csv", (0..=255u8).cycle().take(10_000).collect(), "binary"),
        ("header.csv", b"lastname,company\r\n\r\n".to_vec(), "no data rows"),
    ];
    for (name, bytes, says) in refused {
        let path = cli.path(name);
        write(&path, &bytes);
        let (ok, stdout, stderr) = import_leads(&cli, &path, &[]);
        assert!(!ok, "{name} is refused");
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert!(
            !stdout.contains("import job"),
            "{name}: no job for a refused file: {stdout}"
        );
    }
    assert_eq!(exported_rows(&cli, "Leads"), Vec::<String>::new());
    // Bad rows: each reported with its line, the exit non-zero, the good rows written whole
    // (or, with --all-or-nothing, nothing at all).
    let good = |tag: &str| -> String { (0..10).map(|i| format!("{tag}{i},北京星辰科技{i}\n")).collect() };
    let mut invalid = format!("姓,公司\n{}", good("张")).into_bytes();
    invalid.extend_from_slice(b"\xe7\x8e\x8b\xff,bad\n");
    invalid.extend_from_slice(good("李").as_bytes());
    let wide = format!(
        "lastname,company\n{}{}\n{}",
        good("王"),
        vec!["x"; 10_000].join(","),
        good("赵")
    );
    let big = format!(
        "lastname,company\n{}big,{}\n{}",
        good("钱"),
        "y".repeat(1 << 20),
        good("孙")
    );
    let bad_rows: [(&str, Vec<u8>, &str); 3] = [
        ("invalid-utf8.csv", invalid, "Line 12: the text is not valid UTF-8"),
        ("wide.csv", wide.into_bytes(), "10000 columns"),
        ("big-cell.csv", big.into_bytes(), "longer than"),
    ];
    let mut expected = 0;
    for (name, bytes, says) in bad_rows {
        let path = cli.path(name);
        write(&path, &bytes);
        let (ok, stdout, stderr) = import_leads(&cli, &path, &["--all-or-nothing"]);
        assert!(!ok, "{name}");
        assert!(
            stderr.contains(says) && stderr.contains("nothing was written"),
            "{name}: {stderr}"
        );
        assert_eq!(exported_rows(&cli, "Leads").len(), expected, "{name}: all or nothing");
        let (ok, stdout2, stderr) = import_leads(&cli, &path, &[]);
        assert!(!ok, "{name}: a failed row makes the exit non-zero");
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert_eq!(
            stdout2.lines().last(),
            Some("created 20, updated 0, skipped 0, failed 1"),
            "{name}: {stdout} {stdout2}"
        );
        expected += 20;
        let rows = exported_rows(&cli, "Leads");
        assert_eq!(rows.len(), expected, "{name}: only the good rows");
        assert!(!rows.iter().any(|r| r.contains("bad") || r.contains("yyyy")), "{name}");
    }
}

#[test]
fn users_import_from_a_sheet() {
    let cli = Cli::new();
    let sheet = cli.path("team.csv");
    write(
        &sheet,
        "sales_agent,manager\nAnna Snelling,Dustin\n张三,Dustin\n".as_bytes(),
    );
    let mapping = cli.path("team.json");
    write(&mapping, br#"{"columns":{"sales_agent":"name","manager":""}}"#);
    let args = [
        "import",
        "--module",
        "Users",
        sheet.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
    ];
    let out = cli.ok(&args, "");
    assert_eq!(
        out.lines().last(),
        Some("created 2, updated 0, skipped 0, failed 0"),
        "{out}"
    );
    let list = cli.ok(&["user", "list"], "");
    assert!(list.contains("anna.snelling") && list.contains("张三"), "{list}");
    let out = cli.ok(&args, "");
    assert_eq!(
        out.lines().last(),
        Some("created 0, updated 0, skipped 2, failed 0"),
        "{out}"
    );
}

/// A running `sable` process, killed when dropped.
struct Server {
    child: std::process::Child,
    addr: String,
    stdout: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sable ARGS…` in `cwd` with `envs`, and waits for the line that says where it listens.
fn start(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
    use std::io::BufRead;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sable"));
    cmd.current_dir(cwd).args(args);
    for var in [
        "SABLE_ADMIN_PASSWORD",
        "SABLE_DATA_DIR",
        "SABLE_DATABASE_URL",
        "SABLE_BIND",
        "SABLE_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("SABLE_LOG", "warn").envs(envs.iter().copied());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("running sable");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    let addr = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("sable stopped before listening; it printed:\n{stdout}"))
            .unwrap();
        stdout.push_str(&line);
        stdout.push('\n');
        if let Some(rest) = line.strip_prefix("Sable is running at http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    Server { child, addr, stdout }
}

/// `POST /api/v1/auth/login` over a plain TCP connection: the status line and the body.
fn login(addr: &str, password: &str) -> (String, String) {
    use std::io::Read;
    let body = format!(r#"{{"username":"admin","password":"{password}"}}"#);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let status = reply.lines().next().unwrap_or_default().to_string();
    let body = reply.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

#[test]
fn bare_start_creates_the_data_folder_and_an_administrator_once_and_settings_layer() {
    let cli = Cli::new();
    // `sable` with no subcommand serves; the data folder defaults to ./sable-data.
    let first = start(&cli.dir, &[], &[("SABLE_BIND", "127.0.0.1:0")]);
    assert!(cli.path("sable-data/sable.db").is_file(), "{}", first.stdout);
    let password = first
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .unwrap_or_else(|| panic!("no generated password shown:\n{}", first.stdout))
        .trim()
        .to_string();
    assert!(password.len() >= 12, "{password}");
    let (status, body) = login(&first.addr, &password);
    assert!(status.contains("200"), "{status} {body}");
    assert!(body.contains("\"token\""), "{body}");
    drop(first);

    // Second start: the same administrator, no password shown again. The settings file
    // names an address that cannot work; the environment variable overrides it.
    write(&cli.path("sable-data/sable.toml"), b"bind = \"256.0.0.1:1\"\n");
    let second = start(&cli.dir, &[], &[("SABLE_BIND", "127.0.0.1:0")]);
    assert!(!second.stdout.contains("password:"), "{}", second.stdout);
    assert!(login(&second.addr, &password).0.contains("200"));
    assert!(login(&second.addr, "wrong-password").0.contains("401"));
    drop(second);

    // A flag overrides the environment.
    let third = start(
        &cli.dir,
        &["serve", "--bind", "127.0.0.1:0"],
        &[("SABLE_BIND", "256.0.0.1:2")],
    );
    assert!(login(&third.addr, &password).0.contains("200"));
    drop(third);

    // SABLE_ADMIN_PASSWORD sets the first administrator's password on a new database.
    let other = cli.path("other");
    let fourth = start(
        &cli.dir,
        &["--data-dir", other.to_str().unwrap()],
        &[("SABLE_BIND", "127.0.0.1:0"), ("SABLE_ADMIN_PASSWORD", "chosen-pass-1")],
    );
    assert!(!fourth.stdout.contains("password:"), "{}", fourth.stdout);
    assert!(login(&fourth.addr, "chosen-pass-1").0.contains("200"));
}
