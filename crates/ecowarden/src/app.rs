//! The application builder: what `serve`, `demo` and the API tests start, by one piece of
//! code, so start-up is under test.
//!
//! [`App::build`] opens the store named by the settings, loads the organisation, binds the web
//! listener (port 0 takes a free one) and, when `ingest.listen` is set, starts the HJ 212
//! receiver beside it; [`App::run`] serves until Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use ecowarden_core::config::Settings;
use ecowarden_core::org::Org;
use ecowarden_core::store::Db;
use ecowarden_monitoring::{ingest, screening, simulate};
use ecowarden_web::AppState;

/// How the application starts besides its settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The demo: simulated loggers send to the receiver, and a taken receiver port is
    /// replaced by a free one instead of failing.
    pub demo: bool,
    /// Compute the province's and the cities' dashboards and the latest year's legal checks
    /// in the background at start.
    pub warm: bool,
}

/// A built application, listening but not yet serving.
pub struct App {
    state: AppState,
    listener: tokio::net::TcpListener,
    warm: bool,
}

impl App {
    /// Opens the store, binds the web listener and starts the receiver (see the module docs).
    pub async fn build(settings: Settings, opts: Options) -> anyhow::Result<App> {
        let db = ecowarden_core::open(&settings).await?;
        App::build_on(db, settings, opts).await
    }

    /// [`App::build`] on a store already open (the demo seeds it first).
    pub async fn build_on(db: Db, settings: Settings, opts: Options) -> anyhow::Result<App> {
        let org = Org::load(&db).await?;
        let listener = tokio::net::TcpListener::bind(&settings.http.listen)
            .await
            .with_context(|| format!("binding {}", settings.http.listen))?;
        let addr = listener.local_addr()?;
        println!("ecowarden web UI:   http://{addr}/");
        println!("API documentation:  http://{addr}/api/docs");
        let receiver = start_receiver(&settings, &db, opts.demo).await?;
        Ok(App {
            state: AppState::new(db, org, settings).with_receiver(receiver),
            listener,
            warm: opts.warm,
        })
    }

    /// Where the web UI listens.
    pub fn address(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves the web UI and the API until Ctrl-C.
    pub async fn run(self) -> anyhow::Result<()> {
        if self.warm {
            self.state.warm_dashboards();
            if let Err(e) = self.state.warm_checks().await {
                tracing::warn!("legal checks warm-up: {e}");
            }
        }
        ecowarden_web::serve(self.state, self.listener).await
    }
}

/// Starts the receiver beside the web server when `ingest.listen` is set, and for the demo
/// the registry's outlets as simulated loggers against it (a day of back-fill, then live).
/// The demo takes a free port when the configured one is in use (another demo runs).
async fn start_receiver(
    settings: &Settings,
    db: &Db,
    demo: bool,
) -> anyhow::Result<Option<Arc<ingest::Context>>> {
    let addr = &settings.ingest.listen;
    if addr.is_empty() {
        return Ok(None);
    }
    let running = match ingest::start(settings, db, addr).await {
        Err(e) if demo => {
            tracing::warn!(
                error = format!("{e:#}"),
                "receiver address taken; the demo uses a free port"
            );
            ingest::start(settings, db, "127.0.0.1:0").await?
        }
        r => r?,
    };
    println!("HJ 212 receiver:    {}", running.addr);
    if demo {
        let mut stations = simulate::stations(db, usize::MAX).await?;
        // Generated outlets have their history in the archive already (screening demo).
        stations.retain(|s| !s.mn.starts_with(screening::GENERATED_MN_PREFIX));
        println!(
            "simulated loggers:  {} outlets sending to the receiver",
            stations.len()
        );
        let plan = simulate::Plan {
            target: running.addr.to_string(),
            stations: stations.len(),
            rate: simulate::Rate::Live,
            faults: vec![simulate::Fault::All],
            fault_rate: 0.005,
            window: 4,
            duration: None,
            backfill: 24,
            rtd_interval: 30,
            seed: 1,
        };
        tokio::spawn(async move {
            simulate::run(&plan, stations, Arc::new(AtomicBool::new(false)), false).await;
        });
    }
    let ctx = running.ctx.clone();
    tokio::spawn(async move {
        match running.task.await {
            Ok(Err(e)) => tracing::error!(error = format!("{e:#}"), "the HJ 212 receiver stopped"),
            Err(e) => tracing::error!(error = %e, "the HJ 212 receiver panicked"),
            Ok(Ok(())) => {}
        }
    });
    Ok(Some(ctx))
}
