//! Shared set-up: a store per backend, users, SMTP settings, an engine on a hand-moved clock.

use std::sync::Arc;

use sable_core::workflow::WorkflowDef;
use sable_store::mail_settings::{Security, SmtpSettings, set_smtp};
use sable_store::users::{NewUser, User, create_user};
use sable_store::workflows::{self, Workflow, WorkflowRun};
use sable_store::{Actor, Store};
use sable_workflow::{Engine, EngineConfig, ManualClock};
use serde_json::{Map, Value};

pub fn admin() -> Actor {
    Actor::unrestricted_for_system_jobs()
}

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

/// 2026-12-07 09:00 in Shanghai (a Monday).
pub const START: &str = "2026-12-07T01:00:00Z";

pub fn clock() -> ManualClock {
    ManualClock::at_rfc3339(START).expect("start instant")
}

/// An engine named `worker` on the store, on the clock, in Shanghai time.
pub fn engine(store: &Store, clock: &ManualClock, worker: &str) -> Arc<Engine> {
    let config = EngineConfig {
        worker_id: worker.into(),
        lease_ms: 60_000,
        ..EngineConfig::default()
    };
    Arc::new(Engine::new(store.clone(), Arc::new(clock.clone()), config).expect("engine"))
}

/// A user with an e-mail address and a language.
pub async fn user(store: &Store, name: &str, lang: &str) -> User {
    create_user(
        store,
        &admin(),
        &NewUser {
            user_name: name.into(),
            password: "correct horse battery".into(),
            last_name: name.into(),
            email1: Some(format!("{name}@example.com")),
            language: Some(lang.into()),
            ..NewUser::default()
        },
    )
    .await
    .expect("create user")
}

/// Points outgoing mail at the test receiver.
pub async fn smtp_to(store: &Store, port: u16) {
    set_smtp(
        store,
        &admin(),
        &SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: Security::None,
            username: String::new(),
            password: String::new(),
            from_address: "crm@sable.test".into(),
            from_name: "Sable".into(),
        },
    )
    .await
    .expect("smtp settings");
}

/// Creates an enabled workflow from JSON.
pub async fn workflow(store: &Store, v: Value) -> Workflow {
    let def = WorkflowDef::from_json(&v).expect("definition");
    workflows::create_workflow(store, &admin(), &def)
        .await
        .unwrap_or_else(|e| panic!("create workflow: {e}"))
}

/// The workflow's runs, oldest first.
pub async fn runs(store: &Store, wf: i64) -> Vec<WorkflowRun> {
    let mut r = workflows::list_runs(store, &admin(), wf, None, 500)
        .await
        .expect("runs");
    r.reverse();
    r
}

/// Runs `f` on every backend, each on a fresh database.
#[macro_export]
macro_rules! on_all_backends {
    ($f:expr) => {{
        for db in sable_store::testing::all_backends().await {
            let store = db.store().await;
            let backend = db.backend;
            ($f)(store.clone(), backend).await;
            store.close().await;
            db.cleanup().await;
        }
    }};
}
