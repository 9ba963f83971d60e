//! ecowarden (生态环境执法效能平台): the binary's library — the command line ([`cli`]), the
//! commands ([`commands`], [`hj212_cli`]), the demo data ([`demo`]) and the application
//! builder ([`app`]) that `serve`, `demo` and the API tests share; and the allocator's
//! setting for batch commands ([`allocator`]).
//!
//! Everything else lives in the crates by concern: `ecowarden-core` (store, organisation,
//! scopes, accounts, audit log), `ecowarden-ledger` (cases, statistics, cooperation),
//! `ecowarden-monitoring` (registry, receiver, archive, screening, leads), `ecowarden-web`
//! (pages and API), and the pure `hj212` and `screen`. This is the only crate with clap.
//! `main.rs` only parses arguments and calls [`run`].

pub mod allocator;
pub mod app;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod hj212_cli;

use std::process::ExitCode;

use anyhow::Context;

use app::{App, Options};
use cli::{AuditCommand, Cli, Command, Hj212Command};
use ecowarden_core::config::Settings;
use ecowarden_core::store::{self, Db};
use ecowarden_core::{audit_log, org};
use ecowarden_monitoring::screening;

/// Logs to stderr; `RUST_LOG` overrides the default level.
pub fn telemetry() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Settings from the layers, with the command line on top.
pub fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut s = Settings::load(cli.config.as_deref()).context("reading configuration")?;
    if let Some(d) = &cli.data_dir {
        s.data_dir = d.clone();
    }
    if let Some(u) = &cli.database_url {
        s.database_url = u.clone();
    }
    Ok(s)
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Hj212 {
        command: Hj212Command::Parse(args),
    } = &cli.command
    {
        hj212_cli::run_parse(args)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut settings = settings(&cli)?;
    match cli.command {
        Command::Migrate => {
            ecowarden_core::open(&settings).await?;
            println!(
                "migrations applied to {}",
                store::redact(&settings.database_url())
            );
        }
        Command::Registry { command } => {
            return commands::monitoring::registry_command(&settings, command).await;
        }
        Command::Ingest { listen } => {
            commands::monitoring::ingest_command(&settings, listen).await?
        }
        Command::Monitoring { command } => {
            commands::monitoring::monitoring_command(&settings, command).await?
        }
        Command::Simulate(args) => commands::monitoring::simulate_command(&settings, args).await?,
        Command::Screen {
            from,
            to,
            format,
            history_days,
            output,
        } => {
            allocator::keep_freed_memory();
            commands::monitoring::screen_command(&settings, from, to, format, history_days, output)
                .await?
        }
        Command::Serve { listen } => {
            if let Some(l) = listen {
                settings.http.listen = l;
            }
            let opts = Options {
                demo: false,
                warm: true,
            };
            App::build(settings, opts).await?.run().await?;
        }
        Command::Demo {
            listen,
            cases,
            year,
            seed,
            seed_only,
        } => {
            if let Some(l) = listen {
                settings.http.listen = l;
            }
            let db = ecowarden_core::open(&settings).await?;
            let started = std::time::Instant::now();
            match demo::seed(&db, cases, year, seed).await? {
                Some(s) => eprintln!(
                    "seeded {} users, {} officers, {} facilities, {} cases in {:.1}s",
                    s.users,
                    s.officers,
                    s.facilities,
                    s.cases,
                    started.elapsed().as_secs_f64()
                ),
                None => eprintln!("store already has data; not seeding"),
            }
            if let Some(s) = seeded_screening(&db, &settings, seed).await? {
                eprintln!(
                    "screening demo: {} generated outlets, {} values archived, {} leads in {:.1}s",
                    s.outlets,
                    s.values,
                    s.leads,
                    s.elapsed.as_secs_f64()
                );
            }
            if !seed_only {
                let opts = Options {
                    demo: true,
                    warm: true,
                };
                let app = App::build_on(db, settings, opts).await?;
                println!("{}", demo_banner());
                app.run().await?;
            }
        }
        Command::User { command } => {
            let db = ecowarden_core::open(&settings).await?;
            let org = org::Org::load(&db).await?;
            commands::user::user_command(&db, &org, command).await?;
        }
        Command::AuditLog {
            command:
                AuditCommand::Verify {
                    checkpoint,
                    security_checkpoint,
                },
        } => {
            return audit_verify(
                &settings,
                checkpoint.as_deref(),
                security_checkpoint.as_deref(),
            )
            .await;
        }
        Command::Cases { command } => {
            return commands::ledger::cases_command(&settings, command).await;
        }
        Command::Report { command } => commands::ledger::report_command(&settings, command).await?,
        Command::Dossier { command } => {
            return commands::dossier::dossier_command(&settings, command).await;
        }
        Command::Assess { command } => {
            return commands::assess::assess_command(&settings, command).await;
        }
        Command::Inspection { command } => {
            commands::inspection::inspection_command(&settings, command).await?
        }
        Command::Hj212 { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit-log verify`: the audit log's chain and the security events', their MACs and
/// checkpoints; never creates a key. Exit 1 if either is broken.
async fn audit_verify(
    settings: &Settings,
    checkpoint: Option<&std::path::Path>,
    security_checkpoint: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use ecowarden_core::auth::SecurityEvent;
    use ecowarden_core::chain;
    let db = ecowarden_core::open_with(settings, false).await?;
    let key_file = settings.audit_key_file().display().to_string();
    if db.anchor().is_none() {
        println!("no audit key at {key_file}: MACs not checked");
    }
    let audit_cp = read_checkpoint(checkpoint, settings.audit_checkpoint_file())?;
    let audit = chain::verify_with::<audit_log::Entry>(
        &db,
        db.anchor(),
        Some(&key_file),
        audit_cp.as_ref(),
    )
    .await?;
    let security_cp = read_checkpoint(security_checkpoint, settings.security_checkpoint_file())?;
    let security = chain::verify_with::<SecurityEvent>(
        &db,
        db.anchor(),
        Some(&key_file),
        security_cp.as_ref(),
    )
    .await?;
    // The audit log's lines stay as they were; the security events' carry their name.
    let audit_ok = report_chain("", "audit log", &audit);
    let security_ok = report_chain("security events: ", "security events", &security);
    Ok(if audit_ok && security_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The checkpoint in `given` (the operator's kept copy, which must parse) or else in the data
/// directory's `file`, if there is one; says which.
fn read_checkpoint(
    given: Option<&std::path::Path>,
    file: std::path::PathBuf,
) -> anyhow::Result<Option<ecowarden_core::anchor::Checkpoint>> {
    let file = given.map(|p| p.to_owned()).unwrap_or(file);
    let cp = match ecowarden_core::anchor::Checkpoint::read(&file)
        .with_context(|| format!("reading the checkpoint {}", file.display()))?
    {
        Some(c) => Some(c),
        None if given.is_some() => {
            anyhow::bail!("{}: not a checkpoint (entries=N head=H)", file.display())
        }
        None => None,
    };
    match &cp {
        Some(c) => println!("checkpoint {}: {c}", file.display()),
        None => println!("no checkpoint at {}", file.display()),
    }
    Ok(cp)
}

/// Prints one chain's head and problems, each line after `prefix`; whether it is intact.
fn report_chain(prefix: &str, name: &str, v: &ecowarden_core::chain::Verification) -> bool {
    println!("{prefix}head (keep this): {}", v.head_checkpoint);
    if v.problems.is_empty() {
        println!("{name} intact: {} entries, head {}", v.entries, v.head);
        return true;
    }
    for p in &v.problems {
        println!("{prefix}{p}");
    }
    println!(
        "{name} BROKEN: {} problem(s) in {} entries",
        v.problems.len(),
        v.entries
    );
    false
}

/// Seeds the screening demo once (when no generated outlet is registered yet).
async fn seeded_screening(
    db: &Db,
    settings: &Settings,
    seed: u64,
) -> anyhow::Result<Option<screening::DemoScreening>> {
    if screening::generated_outlets(db).await? > 0 {
        return Ok(None);
    }
    let org = org::Org::load(db).await?;
    Ok(Some(
        screening::seed_demo(db, &org, &settings.data_dir, seed).await?,
    ))
}

fn demo_banner() -> String {
    let mut s = String::from("demo accounts (password ");
    s.push_str(demo::DEMO_PASSWORD);
    s.push_str("):\n");
    for (u, name, role, region) in demo::DEMO_USERS {
        s.push_str(&format!("  {u:<10} {name}  {}  {region}\n", role.label()));
    }
    s
}
