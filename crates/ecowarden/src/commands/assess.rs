//! `ecowarden assess run`: scores the units of a rule file's level for a period, stores the
//! run and prints it; `ecowarden assess show`: prints a stored run as it was made. Both print
//! JSON, a workbook, or the run's bulletin (通报) as a PDF.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};

use ecowarden_assessment::bulletin::{self, BulletinFont};
use ecowarden_assessment::{self as assessment, StoredRun, entries};
use ecowarden_core::config::Settings;
use ecowarden_core::org::Org;
use ecowarden_ledger::stats::Period;

use crate::cli::{AssessCommand, AssessFormat};

/// Runs from the command line are the operator's; the audit log names them so.
const ACTOR: &str = "cli";

pub async fn assess_command(settings: &Settings, cmd: AssessCommand) -> anyhow::Result<ExitCode> {
    let (format, out) = match cmd {
        AssessCommand::Run {
            format, ref out, ..
        }
        | AssessCommand::Show {
            format, ref out, ..
        } => (format, out.clone()),
        AssessCommand::Enter {
            year,
            half,
            unit,
            officer,
            metric,
            value,
            justification,
            file,
        } => {
            let file = match file {
                Some(path) => Some((
                    path.file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    std::fs::read(&path)
                        .with_context(|| format!("读取证明材料 {} 失败", path.display()))?,
                )),
                None => None,
            };
            let db = ecowarden_core::open(settings).await?;
            let org = Org::load(&db).await?;
            let holder = match (unit, officer) {
                (Some(code), _) => entries::Holder::Unit(code),
                (None, Some(cert)) => entries::Holder::Officer(cert),
                (None, None) => unreachable!("clap requires --unit or --officer"),
            };
            let entry = entries::Entry {
                holder,
                metric,
                value,
                justification,
                file,
            };
            let id = entries::enter(&db, &org, Period { year, half }, &entry, ACTOR).await?;
            println!("{id}");
            return Ok(ExitCode::SUCCESS);
        }
    };
    if format != AssessFormat::Json && out.is_none() && std::io::stdout().is_terminal() {
        bail!("a workbook or a PDF is binary: give --out FILE or redirect standard output");
    }
    // Read before anything is computed or stored: a run asked for as PDF without a usable
    // font stores nothing.
    let font = match format {
        AssessFormat::Pdf => Some(BulletinFont::load(&settings.assessment.bulletin_font)?),
        _ => None,
    };
    let db = ecowarden_core::open(settings).await?;
    let org = Org::load(&db).await?;
    let stored = match cmd {
        AssessCommand::Run {
            rules,
            year,
            half,
            region,
            ..
        } => {
            let text = std::fs::read_to_string(&rules)
                .with_context(|| format!("读取评分细则 {} 失败", rules.display()))?;
            let started = Instant::now();
            let run = assessment::run(
                &db,
                &org,
                &text,
                Period { year, half },
                region.as_deref(),
                ACTOR,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}：{e}", rules.display()))?;
            eprintln!(
                "考核结果 {} 已保存：{} 个单位，用时 {:.2}s",
                run.id,
                run.result["units"].as_array().map_or(0, Vec::len),
                started.elapsed().as_secs_f64()
            );
            run
        }
        AssessCommand::Show { run, .. } => assessment::load(&db, run).await?,
        AssessCommand::Enter { .. } => unreachable!("entered above"),
    };
    write(&stored, format, out, &org, font.as_ref())?;
    Ok(ExitCode::SUCCESS)
}

fn write(
    run: &StoredRun,
    format: AssessFormat,
    out: Option<PathBuf>,
    org: &Org,
    font: Option<&BulletinFont>,
) -> anyhow::Result<()> {
    let bytes = match format {
        AssessFormat::Json => {
            let mut s = serde_json::to_string_pretty(&run.result)?;
            s.push('\n');
            s.into_bytes()
        }
        AssessFormat::Xlsx => assessment::to_xlsx(&run.result)?,
        AssessFormat::Pdf => bulletin::to_pdf(
            &bulletin::compose(run, org),
            org,
            font.context("the font is read above")?,
        )?,
    };
    match out {
        Some(path) => {
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}
