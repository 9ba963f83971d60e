//! `ecowarden inspection compare`: the platform-data comparison of inspection audits over
//! every unit of a region, as JSON lines: the corps' overview of where the ledger and the
//! monitoring data disagree, before choosing whom to audit.

use std::io::Write;
use std::time::Instant;

use ecowarden_assessment::inspection::{self, Reach, Subject, Thresholds};
use ecowarden_core::clock;
use ecowarden_core::config::Settings;
use ecowarden_core::org::Org;
use ecowarden_core::scope::Scope;

use crate::cli::{InspectionCommand, SampleFormat};

pub async fn inspection_command(settings: &Settings, cmd: InspectionCommand) -> anyhow::Result<()> {
    let InspectionCommand::Compare {
        from,
        to,
        region,
        as_of,
        format: SampleFormat::Jsonl,
    } = cmd;
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let t = Instant::now();
    let db = ecowarden_core::open(settings).await?;
    let org = Org::load(&db).await?;
    let area = Scope::Province.area(&org, region.as_deref())?;
    let subject = Subject {
        reach: Reach::Area(&area),
        from,
        to,
    };
    let found = inspection::comparison(
        &db,
        &settings.data_dir,
        subject,
        as_of.unwrap_or_else(clock::today),
        Thresholds::from(&settings.inspection),
    )
    .await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for m in &found {
        serde_json::to_writer(&mut out, m)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!(
        "{} mismatches in {} from {from} to {to} ({:.2} s)",
        found.len(),
        area.label(&org),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
