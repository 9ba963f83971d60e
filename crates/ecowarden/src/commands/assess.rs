//! `ecowarden assess run`: scores the units of a rule file's level for a period, stores the
//! run and prints it; `ecowarden assess show`: prints a stored run as it was made.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};

use ecowarden_assessment::{self as assessment, StoredRun};
use ecowarden_core::config::Settings;
use ecowarden_core::org::Org;
use ecowarden_ledger::stats::Period;

use crate::cli::{AssessCommand, AssessFormat};

/// Runs from the command line are the operator's; the audit log names them so.
const ACTOR: &str = "cli";

pub async fn assess_command(settings: &Settings, cmd: AssessCommand) -> anyhow::Result<ExitCode> {
    let (format, out) = match &cmd {
        AssessCommand::Run { format, out, .. } | AssessCommand::Show { format, out, .. } => {
            (*format, out.clone())
        }
    };
    // Refused before anything is computed or stored: a run asked for as PDF stores nothing.
    if format == AssessFormat::Pdf {
        eprintln!("PDF 通报尚未实现，请使用 --format json 或 xlsx");
        return Ok(ExitCode::from(2));
    }
    if format == AssessFormat::Xlsx && out.is_none() && std::io::stdout().is_terminal() {
        bail!("a workbook is binary: give --out FILE.xlsx or redirect standard output");
    }
    let db = ecowarden_core::open(settings).await?;
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
            let org = Org::load(&db).await?;
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
    };
    write(&stored, format, out)?;
    Ok(ExitCode::SUCCESS)
}

fn write(run: &StoredRun, format: AssessFormat, out: Option<PathBuf>) -> anyhow::Result<()> {
    let bytes = match format {
        AssessFormat::Json => {
            let mut s = serde_json::to_string_pretty(&run.result)?;
            s.push('\n');
            s.into_bytes()
        }
        AssessFormat::Xlsx => assessment::to_xlsx(&run.result)?,
        AssessFormat::Pdf => unreachable!("refused above"),
    };
    match out {
        Some(path) => {
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}
