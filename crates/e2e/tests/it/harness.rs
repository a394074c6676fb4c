//! The app on a fresh SQLite database, chromedriver as a child process, and one headless
//! Chromium session with small helpers for what the tests do again and again.

use std::future::Future;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use sable_store::Store;
use sable_store::testing::TestDb;
use serde_json::{Value, json};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// How long to wait for an element or a page before failing.
const PATIENCE: Duration = Duration::from_secs(15);

/// Whether the browser tests can run here. When they cannot, fails under
/// `SABLE_TEST_REQUIRE_ALL=1` and otherwise prints a notice and returns `false`.
pub fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if sable_store::testing::require_all() {
        panic!(
            "SABLE_TEST_REQUIRE_ALL=1 but {} is missing: install chromium and chromium-driver \
             (apt-get install -y chromium chromium-driver fonts-noto-cjk)",
            missing.join(" and ")
        );
    }
    sable_store::testing::announce_skip("SKIPPED browser tests: install chromium and chromium-driver");
    false
}

/// The running app: its base URL and its store (for setting up data behind the browser's back).
pub struct TestServer {
    pub base: String,
    pub store: Store,
    db: Option<TestDb>,
}

impl TestServer {
    /// Starts Sable on a fresh SQLite database with the administrator `admin`.
    pub async fn start() -> TestServer {
        let db = sable_store::testing::sqlite_db();
        let store = db.store().await;
        sable_store::users::ensure_admin(&store, Some(ADMIN_PASSWORD))
            .await
            .expect("creating the administrator");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding port 0");
        let app = sable_server::App::build(store.clone(), sable_server::ServerConfig::default(), listener);
        let addr = app.local_addr().expect("local address");
        tokio::spawn(app.run_until(std::future::pending()));
        TestServer {
            base: format!("http://{addr}"),
            store,
            db: Some(db),
        }
    }

    /// Adds a user with a password and a language (`None` follows the browser, which speaks zh-CN here).
    pub async fn add_user(&self, user_name: &str, password: &str, last_name: &str, language: Option<&str>) {
        let new = sable_store::users::NewUser {
            user_name: user_name.into(),
            password: password.into(),
            last_name: last_name.into(),
            language: language.map(str::to_string),
            ..Default::default()
        };
        let admin = self.user("admin").await;
        sable_store::users::create_user(&self.store, &admin.actor(), &new)
            .await
            .unwrap_or_else(|e| panic!("creating user {user_name}: {e}"));
    }

    pub async fn user(&self, user_name: &str) -> sable_store::users::User {
        sable_store::users::find_user(&self.store, user_name)
            .await
            .expect("reading users")
            .unwrap_or_else(|| panic!("no user {user_name}"))
    }

    /// Creates records directly in the store as `user_name`, behind the browser's back.
    pub fn records_as(&self, user_name: &str) -> Records {
        Records {
            store: self.store.clone(),
            user_name: user_name.to_string(),
        }
    }

    pub async fn stop(mut self) {
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// Writes records as one user; cheap to clone into a browser scenario.
#[derive(Clone)]
pub struct Records {
    store: Store,
    user_name: String,
}

impl Records {
    /// Creates a record from `{"field": value, …}`; returns its id.
    pub async fn create(&self, module: &str, fields: Value) -> i64 {
        let actor = sable_store::users::find_user(&self.store, &self.user_name)
            .await
            .expect("reading users")
            .unwrap_or_else(|| panic!("no user {}", self.user_name))
            .actor();
        let Value::Object(input) = fields else {
            panic!("fields must be a JSON object")
        };
        self.store
            .records(&actor)
            .create(module, &input)
            .await
            .unwrap_or_else(|e| panic!("creating a {module} record: {e}"))
            .id
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; chromedriver binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("finding a free port")
        .port()
}

fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// chromedriver and the Chromium profile folder; both go away on drop, even after a panic.
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A Chromium session on the app at `base`.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    pub base: String,
}

/// Starts chromedriver and Chromium, runs `scenario`, then closes the browser and stops
/// chromedriver whether the scenario passed or panicked (the panic is then re-raised).
/// On failure it saves `target/screenshots/FAILED-{name}.png` and prints the page's HTML.
pub async fn with_browser<F, Fut>(name: &str, base: &str, scenario: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let failed_png = screenshot_dir().join(format!("FAILED-{name}.png"));
    let _ = std::fs::remove_file(&failed_png);
    let port = free_port();
    let profile = std::env::temp_dir().join(unique_name("sable-e2e-chromium"));
    std::fs::create_dir_all(&profile).expect("creating the Chromium profile folder");
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
    let driver = Driver { child, profile };

    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < PATIENCE,
            "chromedriver did not listen on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--lang=zh-CN",
                format!("--user-data-dir={}", driver.profile.display()),
            ],
            // Users without a language preference follow Accept-Language: make it Chinese,
            // whatever the machine's locale.
            "prefs": { "intl.accept_languages": "zh-CN,zh" },
        }),
    );
    // Leave alert dialogs open, so a test can see that one appeared.
    caps.insert("unhandledPromptBehavior".into(), json!("ignore"));
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("opening a Chromium session through chromedriver: {e}"));

    let browser = Browser {
        client: client.clone(),
        base: base.to_string(),
    };
    let outcome = tokio::spawn(scenario(browser)).await;
    // A dialog left open would keep the session busy; closing works either way.
    let _ = client.dismiss_alert().await;
    if outcome.is_err() {
        if let Ok(png) = client.screenshot().await
            && std::fs::create_dir_all(screenshot_dir())
                .and_then(|()| std::fs::write(&failed_png, png))
                .is_ok()
        {
            eprintln!("screenshot of the failed page: {}", failed_png.display());
        }
        if let (Ok(url), Ok(html)) = (client.current_url().await, client.source().await) {
            eprintln!("the failed page, {url}:\n{html}");
        }
    }
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the browser scenario did not finish: {e}"),
        }
    }
}

/// Where screenshots go: `<workspace>/target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .join("target/screenshots")
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Opens a page and checks that no dialog opened while it loaded.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
        self.assert_no_alert(path).await;
    }

    /// The current path with its query string.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The current path without the query string.
    pub async fn path_only(&self) -> String {
        self.client.current_url().await.expect("current URL").path().to_string()
    }

    /// Waits for an element.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(e) => panic!("no element `{css}` on {}: {e}", self.path().await),
        }
    }

    /// Every element matching now (no waiting).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("looking for `{css}`: {e}"))
    }

    /// The visible text of an element.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading the text of `{css}`: {e}"))
    }

    /// An element's live property (`value`, `checked`, …).
    pub async fn prop(&self, css: &str, name: &str) -> String {
        self.find(css)
            .await
            .prop(name)
            .await
            .unwrap_or_else(|e| panic!("reading `{name}` of `{css}`: {e}"))
            .unwrap_or_default()
    }

    /// Replaces the text of an input.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap_or_else(|e| panic!("clearing `{css}`: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
    }

    /// Runs a script (a returned promise is awaited) and returns its result.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("running a script: {e}\n{script}"))
    }

    /// Polls a script until it returns `true` (for what htmx swaps into the page);
    /// `false` when `within` passed first.
    pub async fn wait_until(&self, script: &str, args: Vec<Value>, within: Duration) -> bool {
        let started = Instant::now();
        loop {
            if self.js(script, args.clone()).await == Value::Bool(true) {
                return true;
            }
            if started.elapsed() >= within {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks an element that changes the page in place (no new page to wait for).
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
    }

    /// Clicks something that loads a new page, and waits until the new page has loaded.
    pub async fn click_and_wait(&self, css: &str) {
        let el = self.find(css).await;
        self.js("window.__sableOldPage = true; return null;", vec![]).await;
        el.click().await.unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
        self.wait_for_new_page(css).await;
    }

    /// Presses Enter in an input that submits a form, and waits for the new page.
    pub async fn enter_and_wait(&self, css: &str) {
        let el = self.find(css).await;
        self.js("window.__sableOldPage = true; return null;", vec![]).await;
        el.send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
            .await
            .unwrap_or_else(|e| panic!("pressing Enter in `{css}`: {e}"));
        self.wait_for_new_page(css).await;
    }

    async fn wait_for_new_page(&self, what: &str) {
        let started = Instant::now();
        loop {
            self.assert_no_alert(what).await;
            // Errors while the old page unloads are expected; keep polling.
            if let Ok(v) = self
                .client
                .execute(
                    "return window.__sableOldPage === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await
                && v == Value::Bool(true)
            {
                return;
            }
            assert!(started.elapsed() < PATIENCE, "no new page after `{what}`");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fails when an alert, confirm or prompt dialog is open.
    pub async fn assert_no_alert(&self, context: &str) {
        match self.client.get_alert_text().await {
            Ok(text) => {
                let _ = self.client.dismiss_alert().await;
                panic!("a dialog opened ({text:?}) at {context}");
            }
            Err(e) if e.is_no_such_alert() => {}
            Err(e) => panic!("asking for an open dialog at {context}: {e}"),
        }
    }

    /// Saves a PNG of the window as `<workspace>/target/screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("taking a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("creating target/screenshots");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("writing a screenshot");
        path
    }

    /// Logs in through the login form and lands on the home page.
    pub async fn login(&self, user_name: &str, password: &str) {
        self.goto("/login").await;
        let csrf = self.prop("form input[name=_csrf]", "value").await;
        assert!(!csrf.is_empty(), "the login form has no CSRF token");
        self.fill("input[name=username]", user_name).await;
        self.fill("input[name=password]", password).await;
        self.click_and_wait("form button[type=submit]").await;
        assert_eq!(
            self.path_only().await,
            "/",
            "logging in as {user_name} did not land on the home page"
        );
        assert!(
            !self.find_all("form.global-search").await.is_empty(),
            "the home page after login has no search box"
        );
    }

    /// The record id at the end of a detail page path `/m/{module}/{id}`.
    pub async fn record_id_in_path(&self, module: &str) -> i64 {
        let path = self.path().await;
        let prefix = format!("/m/{module}/");
        path.strip_prefix(&prefix)
            .and_then(|rest| rest.split(['?', '/']).next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("expected a {module} detail page, got {path}"))
    }
}
