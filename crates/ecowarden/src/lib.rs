//! ecowarden (生态环境执法效能平台): the application — store, domain modules, web, CLI.
//!
//! Domain modules (`org`, `auth`, `audit_log`, `cases`) own their types, rules and SQL; `web`
//! translates HTTP into calls on them; `cli` and [`run`] wire commands to both. `main.rs` only
//! parses arguments and calls [`run`].

pub mod archive;
pub mod audit_log;
pub mod auth;
pub mod cases;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod evidence;
pub mod hj212_cli;
pub mod ids;
pub mod ingest;
pub mod leads;
pub mod ledger_io;
pub mod monitoring;
pub mod org;
pub mod registry;
pub mod screening;
pub mod sheet;
pub mod simulate;
pub mod stats;
pub mod store;
pub mod web;

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};

use cli::{AuditCommand, Cli, Command, Hj212Command, UserCommand};
use config::Settings;
use store::Db;

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

/// Opens the store (creating the data directory for SQLite) and seeds the organisation.
pub async fn open(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
    }
    let db = Db::connect(&url)
        .await
        .with_context(|| format!("opening {}", store::redact(&url)))?;
    org::seed(&db).await?;
    Ok(db)
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
            open(&settings).await?;
            println!(
                "migrations applied to {}",
                store::redact(&settings.database_url())
            );
        }
        Command::Registry { command } => {
            return monitoring::registry_command(&settings, command).await;
        }
        Command::Ingest { listen } => monitoring::ingest_command(&settings, listen).await?,
        Command::Monitoring { command } => {
            monitoring::monitoring_command(&settings, command).await?
        }
        Command::Simulate(args) => monitoring::simulate_command(&settings, args).await?,
        Command::Screen {
            from,
            to,
            format,
            history_days,
            output,
        } => screening::command(&settings, from, to, format, history_days, output).await?,
        Command::Serve { listen } => {
            if let Some(l) = listen {
                settings.http.listen = l;
            }
            let db = open(&settings).await?;
            serve(db, settings, None, false).await?;
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
            let db = open(&settings).await?;
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
                serve(db, settings, Some(demo_banner()), true).await?;
            }
        }
        Command::User { command } => {
            let db = open(&settings).await?;
            let org = org::Org::load(&db).await?;
            user_command(&db, &org, command).await?;
        }
        Command::AuditLog {
            command: AuditCommand::Verify,
        } => {
            let db = open(&settings).await?;
            let v = audit_log::verify(&db).await?;
            if v.problems.is_empty() {
                println!("audit log intact: {} entries, head {}", v.entries, v.head);
            } else {
                for p in &v.problems {
                    println!("{p}");
                }
                println!(
                    "audit log BROKEN: {} problem(s) in {} entries",
                    v.problems.len(),
                    v.entries
                );
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Cases { command } => return ledger_io::cases_command(&settings, command).await,
        Command::Report { command } => ledger_io::report_command(&settings, command).await?,
        Command::Hj212 { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Seeds the screening demo once (when no generated outlet is registered yet).
async fn seeded_screening(
    db: &Db,
    settings: &Settings,
    seed: u64,
) -> anyhow::Result<Option<screening::DemoScreening>> {
    let like = format!("{}%", screening::GENERATED_MN_PREFIX);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outlets WHERE mn LIKE $1")
        .bind(like)
        .fetch_one(db.pool())
        .await?;
    if n > 0 {
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

/// The web server, with the HJ 212 receiver beside it (and, for the demo, simulated loggers).
async fn serve(
    db: Db,
    settings: Settings,
    banner: Option<String>,
    demo: bool,
) -> anyhow::Result<()> {
    let org = org::Org::load(&db).await?;
    let listener = tokio::net::TcpListener::bind(&settings.http.listen)
        .await
        .with_context(|| format!("binding {}", settings.http.listen))?;
    let addr = listener.local_addr()?;
    println!("ecowarden web UI:   http://{addr}/");
    println!("API documentation:  http://{addr}/api/docs");
    let receiver = monitoring::start_beside_web(&settings, &db, demo).await?;
    if let Some(b) = banner {
        println!("{b}");
    }
    let state = web::AppState::new(db, org, settings).with_receiver(receiver);
    state.warm_dashboards();
    web::serve(state, listener).await
}

fn read_password(arg: Option<String>, stdin: bool) -> anyhow::Result<String> {
    if stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok(s.trim_end_matches(['\r', '\n']).to_owned());
    }
    match arg {
        Some(p) => Ok(p),
        None => bail!("give the password with --password, ECOWARDEN_PASSWORD or --password-stdin"),
    }
}

async fn user_command(db: &Db, org: &org::Org, cmd: UserCommand) -> anyhow::Result<()> {
    const ACTOR: &str = "cli";
    let find = |username: String| async move {
        auth::find_by_username(db, &username)
            .await?
            .with_context(|| format!("no user {username}"))
    };
    match cmd {
        UserCommand::Create {
            username,
            name,
            role,
            region,
            password,
            password_stdin,
        } => {
            let password = read_password(password, password_stdin)?;
            let u = auth::NewUser {
                username,
                display_name: name,
                password,
                role,
                region_code: region,
            };
            let id = auth::create_user(db, org, ACTOR, &u).await?;
            println!("created user {} (id {id})", u.username);
        }
        UserCommand::ResetPassword {
            username,
            password,
            password_stdin,
        } => {
            let u = find(username).await?;
            auth::reset_password(db, ACTOR, u.id, &read_password(password, password_stdin)?)
                .await?;
            println!("password reset for {}", u.username);
        }
        UserCommand::Disable { username } => {
            let u = find(username).await?;
            auth::set_disabled(db, ACTOR, u.id, true).await?;
            println!("disabled {}", u.username);
        }
        UserCommand::Enable { username } => {
            let u = find(username).await?;
            auth::set_disabled(db, ACTOR, u.id, false).await?;
            println!("enabled {}", u.username);
        }
    }
    Ok(())
}
