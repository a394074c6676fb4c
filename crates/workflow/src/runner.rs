//! The job runner: claims due jobs under a lease, keeps the lease alive while working,
//! and records the outcome (done, or failed with back-off and a run-log entry).

use std::sync::Arc;

use sable_store::jobs::{self, Fate, Job};
use sable_store::workflows;
use sable_store::{Actor, StoreError};
use serde_json::{Value as Json, json};

use crate::actions::{self, ActionEnv, ActionError, Outcome};
use crate::mailer::{self, Mail};
use crate::{Engine, context, deliver, sweep};

/// Why a job failed.
#[derive(Debug)]
pub struct JobError {
    pub message: String,
    pub permanent: bool,
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> JobError {
        JobError {
            message: format!("{e:#}"),
            permanent: false,
        }
    }
}

impl From<ActionError> for JobError {
    fn from(e: ActionError) -> JobError {
        JobError {
            message: e.message,
            permanent: e.permanent,
        }
    }
}

impl Engine {
    /// Claims and runs due jobs until none is left; returns how many ran.
    pub async fn run_due_jobs(&self) -> anyhow::Result<usize> {
        let mut ran = 0;
        loop {
            let now = self.now();
            let claimed = jobs::claim(
                &self.store,
                &self.config.worker_id,
                now,
                now + self.config.lease_ms,
                self.config.batch,
            )
            .await?;
            if claimed.is_empty() {
                return Ok(ran);
            }
            for job in claimed {
                self.run_claimed(job).await?;
                ran += 1;
            }
        }
    }

    /// Runs one claimed job, extending its lease while it works, and records the outcome.
    pub async fn run_claimed(&self, job: Job) -> anyhow::Result<()> {
        let worker = self.config.worker_id.clone();
        if job.attempts > job.max_attempts {
            // Its worker died on the last attempt: nothing left to try.
            let fate = jobs::fail(
                &self.store,
                job.id,
                &worker,
                "the worker stopped during the last attempt",
                true,
                self.now(),
            )
            .await?;
            self.after_failure(&job, "the worker stopped during the last attempt", fate)
                .await?;
            return Ok(());
        }
        let result = {
            let work = self.execute(&job);
            tokio::pin!(work);
            let mut beat = tokio::time::interval(self.config.heartbeat);
            beat.tick().await;
            loop {
                tokio::select! {
                    r = &mut work => break r,
                    _ = beat.tick() => {
                        let until = self.now() + self.config.lease_ms;
                        if !jobs::extend_lease(&self.store, job.id, &worker, until).await? {
                            tracing::warn!(job = job.id, "lost the lease of a running job");
                        }
                    }
                }
            }
        };
        let now = self.now();
        match result {
            Ok(()) => {
                if !jobs::complete(&self.store, job.id, &worker, now).await? {
                    tracing::warn!(job = job.id, "finished a job whose lease another worker took");
                }
            }
            Err(e) => {
                tracing::warn!(job = job.id, kind = job.kind, error = e.message, "job failed");
                let fate = jobs::fail(&self.store, job.id, &worker, &e.message, e.permanent, now).await?;
                self.after_failure(&job, &e.message, fate).await?;
            }
        }
        Ok(())
    }

    async fn after_failure(&self, job: &Job, error: &str, fate: Fate) -> anyhow::Result<()> {
        let now = self.now();
        let run_id = job.payload.get("run_id").and_then(Json::as_i64);
        match (job.kind.as_str(), fate) {
            (jobs::KIND_WORKFLOW_RUN, Fate::Failed) => {
                if let Some(id) = run_id {
                    workflows::set_run_status(&self.store, id, "failed", Some(error), now).await?;
                }
            }
            (jobs::KIND_WORKFLOW_RUN, Fate::RetryAt(at)) => {
                if let Some(id) = run_id {
                    let msg = format!(
                        "attempt {} failed, retrying at {}: {error}",
                        job.attempts,
                        sable_store::record::format_ms(at)
                    );
                    workflows::set_run_status(&self.store, id, "queued", Some(&msg), now).await?;
                }
            }
            (jobs::KIND_MAIL, Fate::Failed) => {
                if let Some(id) = job.payload.get("sent_mail_id").and_then(Json::as_i64) {
                    jobs::set_mail_outcome(&self.store, id, "failed", None, Some(error), now).await?;
                }
            }
            (jobs::KIND_MAIL, Fate::RetryAt(_)) => {
                if let Some(id) = job.payload.get("sent_mail_id").and_then(Json::as_i64) {
                    jobs::set_mail_outcome(&self.store, id, "queued", None, Some(error), now).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn execute(&self, job: &Job) -> Result<(), JobError> {
        match job.kind.as_str() {
            jobs::KIND_WORKFLOW_RUN => self.execute_run(job).await,
            jobs::KIND_MAIL => self.execute_mail(job).await,
            deliver::KIND_REPORT_DELIVERY => deliver::run(&self.store, &job.payload, &job.idempotency_key)
                .await
                .map_err(|e| JobError {
                    message: e.message,
                    permanent: e.permanent,
                }),
            sweep::KIND_SWEEP => {
                sweep::run_sweep(&self.store, &job.payload, &self.config.time_zone, self.now()).await?;
                Ok(())
            }
            other => Err(JobError {
                message: format!("no worker for jobs of kind {other:?}"),
                permanent: true,
            }),
        }
    }

    /// A queued e-mail (test-send, send-from-record): sent with the Message-ID of its key.
    async fn execute_mail(&self, job: &Job) -> Result<(), JobError> {
        let id = job.payload.get("sent_mail_id").and_then(Json::as_i64).unwrap_or(0);
        let Some(mail) = jobs::get_sent_mail(&self.store, id).await? else {
            return Err(JobError {
                message: format!("queued e-mail {id} is gone"),
                permanent: true,
            });
        };
        let settings = sable_store::mail_settings::load_smtp(&self.store)
            .await?
            .ok_or_else(|| JobError {
                message: "no SMTP server is configured (Settings → Mail)".into(),
                permanent: false,
            })?;
        let message_id = jobs::message_id_for(&job.idempotency_key, &mailer::message_domain(&settings));
        let out = Mail {
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            body: mail.body.clone(),
            message_id: message_id.clone(),
            attachments: Vec::new(),
        };
        mailer::send(&settings, &out).await.map_err(|e| JobError {
            message: e.message,
            permanent: e.permanent,
        })?;
        jobs::set_mail_outcome(&self.store, id, "sent", Some(&message_id), None, self.now()).await?;
        Ok(())
    }

    /// A workflow run: its actions in order, skipping those done on an earlier attempt.
    async fn execute_run(&self, job: &Job) -> Result<(), JobError> {
        let run_id = job.payload.get("run_id").and_then(Json::as_i64).unwrap_or(0);
        let depth = job.payload.get("depth").and_then(Json::as_i64).unwrap_or(0);
        let system = Actor::unrestricted_for_system_jobs();
        let permanent = |message: String| JobError {
            message,
            permanent: true,
        };
        let Some(run) = workflows::load_run(&self.store, run_id).await? else {
            return Err(permanent(format!("run {run_id} is gone")));
        };
        let wf = match workflows::get_workflow(&self.store, &system, run.workflow_id).await {
            Ok(w) => w,
            Err(StoreError::NotFound { .. }) => return Err(permanent("the workflow was deleted".into())),
            Err(e) => return Err(anyhow::Error::from(e).into()),
        };
        let now = self.now();
        workflows::set_run_status(&self.store, run_id, "running", None, now).await?;
        let record_id = run.record_id.unwrap_or(0);
        let mut ctx = match context::load_as_system(&self.store, &run.module, record_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound { .. }) => {
                return Err(permanent(format!("{} record {record_id} no longer exists", run.module)));
            }
            Err(e) => return Err(anyhow::Error::from(e).into()),
        };
        let actor = system.with_origin(json!({"workflow": wf.id, "depth": depth + 1}));
        let today = jiff::Timestamp::from_millisecond(now)
            .map_err(anyhow::Error::from)?
            .to_zoned_datetime(self.config.time_zone.clone())
            .date();
        for (i, action) in wf.def.actions.iter().enumerate() {
            let Some(state) = run.actions.iter().find(|a| a.action_index == i as i64) else {
                // The workflow gained actions since this run was logged: run what was planned.
                continue;
            };
            if state.status == "done" || state.status == "skipped" {
                continue;
            }
            let env = ActionEnv {
                store: &self.store,
                http: &self.http,
                workflow: &wf,
                actor: &actor,
                key: &state.idempotency_key,
                today,
                now_ms: self.now(),
                trigger: &run.trigger,
            };
            match actions::execute(&env, action, &mut ctx).await {
                Ok(Outcome::Done(detail)) => {
                    workflows::set_action_outcome(&self.store, run_id, i, "done", Some(&detail), None, self.now())
                        .await?;
                }
                Ok(Outcome::Skipped(why)) => {
                    let detail = json!({"skipped": why});
                    workflows::set_action_outcome(&self.store, run_id, i, "skipped", Some(&detail), None, self.now())
                        .await?;
                }
                Err(e) => {
                    workflows::set_action_outcome(&self.store, run_id, i, "failed", None, Some(&e.message), self.now())
                        .await?;
                    return Err(JobError {
                        message: format!("action {} ({}): {}", i + 1, action.kind(), e.message),
                        permanent: e.permanent,
                    });
                }
            }
        }
        workflows::set_run_status(&self.store, run_id, "done", None, self.now()).await?;
        Ok(())
    }
}

/// Spawns the engine's loop on the runtime; it stops when `shutdown` resolves.
pub fn spawn(
    engine: Arc<Engine>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { engine.run(shutdown).await })
}
