//! What each subcommand does. `serve` builds the app like the tests do; the others
//! open the store, act as the system or a named user, and print a result.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;
use sable_core::Labels;
use sable_core::registry::{NewField, NewPicklistValue};
use sable_server::{App, ServerConfig};
use sable_store::users::{self, NewUser};
use sable_store::{Actor, Store};

use crate::cli::{Command, ConfigCommand, FieldCommand, ModuleCommand, TokenCommand, UserCommand};
use crate::settings::{EXAMPLE, Settings};

async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    settings.prepare_data_dir()?;
    Store::open(&settings.database_url).await
}

/// Creates the administrator on first start and shows a generated password once.
async fn ensure_admin(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    if let Some(password) = users::ensure_admin(store, settings.admin_password.as_deref()).await? {
        println!();
        println!("  Sable created the administrator account.");
        println!("    user name: admin");
        println!("    password:  {password}");
        println!("  This password is shown only once. Change it with `sable user passwd admin`.");
        println!();
    }
    Ok(())
}

/// Runs the web server until Ctrl-C or SIGTERM.
pub async fn serve(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    ensure_admin(&store, settings).await?;
    // Imports this node (or a stopped one) left running half an hour ago will never finish.
    let interrupted = sable_store::imports::mark_interrupted(&store, 30 * 60 * 1000).await?;
    if interrupted > 0 {
        tracing::warn!(interrupted, "imports interrupted by a stop were marked as such");
    }
    let listener = tokio::net::TcpListener::bind(&settings.bind)
        .await
        .with_context(|| format!("cannot listen on {}", settings.bind))?;
    let app = App::build(
        store.clone(),
        ServerConfig {
            max_body_bytes: settings.max_body_bytes,
            max_upload_bytes: settings.max_upload_bytes,
            upload_dir: settings.data_dir.join("uploads"),
            webforms: sable_server::forms::WebFormLimits {
                posts_per_window: settings.webform_rate_limit,
                ..sable_server::forms::WebFormLimits::default()
            },
        },
        listener,
    );
    let addr = app.local_addr()?;
    tracing::info!(%addr, database = sable_store::db::redact_url(&settings.database_url), "Sable is listening");
    println!("Sable is running at http://{addr}  (API: http://{addr}/api/v1, press Ctrl-C to stop)");
    let engine = if settings.workflows {
        Some(start_workflow_engine(&store, settings).await?)
    } else {
        tracing::info!("the workflow engine is off (workflows = false): no e-mail, webhooks or schedules run here");
        None
    };
    app.run_until(shutdown_signal()).await.context("HTTP server failed")?;
    tracing::info!("HTTP server stopped");
    if let Some((stop, handle)) = engine {
        let _ = stop.send(true);
        if let Err(e) = handle.await {
            tracing::error!(error = %e, "the workflow engine ended abnormally");
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Installs the default workflows (disabled) and starts the engine beside the web server;
/// the returned sender stops it.
async fn start_workflow_engine(
    store: &Store,
    settings: &Settings,
) -> anyhow::Result<(tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>)> {
    let added = sable_workflow::defaults::install(store)
        .await
        .context("installing the default workflows")?;
    if added > 0 {
        tracing::info!(added, "default workflows installed (disabled)");
    }
    let config = sable_workflow::EngineConfig {
        time_zone: jiff::tz::TimeZone::get(&settings.time_zone).context("time_zone")?,
        ..sable_workflow::EngineConfig::default()
    };
    let worker = config.worker_id.clone();
    let engine = sable_workflow::Engine::new(store.clone(), std::sync::Arc::new(sable_workflow::SystemClock), config)?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let handle = sable_workflow::spawn(std::sync::Arc::new(engine), async move {
        let _ = stopped.changed().await;
    });
    tracing::info!(worker, "workflow engine started");
    Ok((stop, handle))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        _ = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

fn read_password(env_var: Option<&str>) -> anyhow::Result<String> {
    if let Some(var) = env_var {
        return std::env::var(var).with_context(|| format!("environment variable {var} is not set"));
    }
    eprintln!("Password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Every subcommand but `serve`.
pub async fn run(settings: &Settings, command: Command) -> anyhow::Result<ExitCode> {
    if let Command::Config(c) = &command {
        match c {
            ConfigCommand::Example => print!("{EXAMPLE}"),
            ConfigCommand::Show => println!("{settings:#?}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Bench(args) = &command {
        return bench(args).await;
    }
    let store = open_store(settings).await?;
    // The first command on a new database makes the administrator, whichever it is.
    ensure_admin(&store, settings).await?;
    let system = Actor::unrestricted_for_system_jobs();
    let outcome = match command {
        Command::Serve | Command::Config(_) | Command::Bench(_) => unreachable!("handled above"),
        Command::Migrate => {
            println!("database is up to date");
            Ok(())
        }
        Command::User(c) => user(&store, &system, c).await,
        Command::Token(c) => token(&store, &system, c).await,
        Command::Module(ModuleCommand::List) => {
            let registry = store.registry().await?;
            println!(
                "{:<16} {:<14} {:<8} {:>6}  sharing",
                "module", "label", "prefix", "fields"
            );
            for m in registry.modules() {
                println!(
                    "{:<16} {:<14} {:<8} {:>6}  {}",
                    m.name,
                    m.labels.zh,
                    m.number_prefix,
                    m.fields.len(),
                    m.sharing.as_str()
                );
            }
            Ok(())
        }
        Command::Field(FieldCommand::Add {
            module,
            name,
            field_type,
            label_en,
            label_zh,
            values,
            targets,
            mandatory,
            unique,
            searchable,
            block,
            prefix,
            default,
            max_length,
            scale,
            help_en,
            help_zh,
        }) => {
            let help = match (help_en, help_zh) {
                (None, None) => None,
                (en, zh) => {
                    let en = en.unwrap_or_default();
                    let zh = zh.unwrap_or_else(|| en.clone());
                    Some(Labels::new(if en.is_empty() { zh.clone() } else { en }, zh))
                }
            };
            let new = NewField {
                name,
                field_type,
                label: Labels::new(label_en, label_zh),
                block,
                mandatory,
                unique,
                default,
                values: values.iter().map(|v| picklist_value(v)).collect(),
                targets,
                max_length,
                scale,
                searchable,
                help,
                prefix,
            };
            let field = sable_store::meta_store::add_custom_field(&store, &system, &module, &new)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("added field {} ({}) to {module}", field.name, field.field_type.as_str());
            Ok(())
        }
        Command::Import(args) => {
            let code = crate::transfer::import(&store, &args).await;
            store.close().await;
            return code;
        }
        Command::Export(args) => {
            let code = crate::transfer::export(&store, &args).await;
            store.close().await;
            return code;
        }
        Command::Demo => {
            let summary = crate::demo::load_demo(&store).await?;
            println!("{summary}");
            println!("Demo users log in with the password `demo1234`.");
            Ok(())
        }
    };
    store.close().await;
    outcome.map(|()| ExitCode::SUCCESS)
}

async fn user(store: &Store, system: &Actor, c: UserCommand) -> anyhow::Result<()> {
    let err = |e: sable_store::StoreError| anyhow::anyhow!("{e}");
    match c {
        UserCommand::Add {
            user_name,
            last_name,
            first_name,
            email,
            admin,
            language,
            time_zone,
            password_env,
        } => {
            let password = read_password(password_env.as_deref())?;
            let new = NewUser {
                user_name,
                password,
                first_name,
                last_name,
                email1: email,
                is_admin: admin,
                language,
                time_zone,
            };
            let u = users::create_user(store, system, &new).await.map_err(err)?;
            println!("added user {} (id {})", u.user_name, u.id);
        }
        UserCommand::Passwd {
            user_name,
            password_env,
        } => {
            let password = read_password(password_env.as_deref())?;
            users::set_password(store, system, &user_name, &password)
                .await
                .map_err(err)?;
            println!("password of {user_name} changed");
        }
        UserCommand::List => {
            println!(
                "{:<6} {:<20} {:<20} {:<6} {:<9} {:<6} time zone",
                "id", "user name", "name", "admin", "status", "lang"
            );
            for u in users::list_users(store).await? {
                println!(
                    "{:<6} {:<20} {:<20} {:<6} {:<9} {:<6} {}",
                    u.id,
                    u.user_name,
                    u.display_name(),
                    if u.is_admin { "yes" } else { "no" },
                    u.status,
                    u.language,
                    u.time_zone
                );
            }
        }
        UserCommand::Deactivate { user_name } => {
            users::deactivate(store, system, &user_name).await.map_err(err)?;
            println!("{user_name} is deactivated; their records keep their owner");
        }
    }
    Ok(())
}

async fn token(store: &Store, system: &Actor, c: TokenCommand) -> anyhow::Result<()> {
    match c {
        TokenCommand::Create { user_name, name, days } => {
            let user = users::find_user(store, &user_name)
                .await?
                .with_context(|| format!("no user named {user_name}"))?;
            anyhow::ensure!(user.is_active(), "{user_name} is deactivated");
            let ttl = days.map(|d| i64::from(d) * 24 * 3600 * 1000);
            let (id, token) = users::create_token(store, user.id, &name, "api", ttl).await?;
            eprintln!("token {id} for {user_name} (shown only once):");
            println!("{token}");
        }
        TokenCommand::List { user } => {
            let user_id = match user {
                Some(name) => Some(
                    users::find_user(store, &name)
                        .await?
                        .with_context(|| format!("no user named {name}"))?
                        .id,
                ),
                None => None,
            };
            println!(
                "{:<5} {:<7} {:<16} {:<6} {:<21} {:<21} revoked",
                "id", "user", "name", "kind", "created", "last used"
            );
            for t in users::list_tokens(store, user_id).await? {
                println!(
                    "{:<5} {:<7} {:<16} {:<6} {:<21} {:<21} {}",
                    t.id,
                    t.user_id,
                    t.name,
                    t.kind,
                    t.created_at,
                    t.last_used_at.unwrap_or_else(|| "-".into()),
                    if t.revoked { "yes" } else { "no" }
                );
            }
        }
        TokenCommand::Revoke { id } => {
            users::revoke_token(store, system, id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

/// `sable bench`: a fresh database (a temporary SQLite file unless `--on` names one).
async fn bench(args: &crate::cli::BenchArgs) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("sable-bench-{}", std::process::id()));
    let url = match &args.on {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            format!("sqlite://{}", dir.join("bench.db").display())
        }
    };
    eprintln!("benchmarking on {}", sable_store::db::redact_url(&url));
    let store = Store::open(&url).await?;
    let batch = args.batch.unwrap_or(1000).max(1);
    let opts = crate::bench::BenchOptions {
        leads: args.leads,
        batch,
        samples: args.samples.max(1),
    };
    let report = if args.reports {
        let reports = crate::bench_reports::ReportBenchOptions {
            opportunities: args.leads,
            batch,
            samples: args.samples.max(1),
        };
        crate::bench_reports::run_report_bench(&store, &reports)
            .await
            .map(|r| r.to_string())
    } else if args.import {
        let import = crate::bench_import::ImportBenchOptions {
            leads: args.leads,
            batch: args.batch.unwrap_or(sable_import::run::DEFAULT_BATCH).max(1),
            keep_file: args.keep,
        };
        crate::bench_import::run_import_bench(&store, &dir, &import)
            .await
            .map(|r| r.to_string())
    } else {
        crate::bench::run_bench(&store, &opts).await.map(|r| r.to_string())
    };
    store.close().await;
    if args.on.is_none() {
        if args.keep {
            eprintln!("kept {}", dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    println!("{}", report?);
    Ok(ExitCode::SUCCESS)
}

/// A picklist value from the command line: `VALUE`, or `VALUE:English label:中文标签`.
fn picklist_value(text: &str) -> NewPicklistValue {
    let mut parts = text.splitn(3, ':').map(str::trim);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(value), Some(en), Some(zh)) if !en.is_empty() && !zh.is_empty() => NewPicklistValue::Labelled {
            value: value.to_string(),
            labels: Some(Labels::new(en, zh)),
        },
        _ => NewPicklistValue::Plain(text.trim().to_string()),
    }
}
