//! `ecowarden dossier check`: the legal checks C1–C16 of one case or of every case of a year
//! and region, as JSON lines or a workbook; `ecowarden dossier sample`: a reproducible draw of
//! case files for review; `ecowarden dossier plan` and `results`: stored review plans with
//! their cross-reviewers, and their results as a workbook.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};

use ecowarden_assessment::review;
use ecowarden_core::config::Settings;
use ecowarden_core::org::Org;
use ecowarden_core::scope::{Area, Scope};
use ecowarden_ledger::checks::{Policy, Severity};
use ecowarden_ledger::dossier::{self, Checked};
use ecowarden_ledger::{calendar, check_results, ledger_io, sampling};

use crate::cli::{CheckFormat, DossierCommand, SampleFormat};

pub async fn dossier_command(settings: &Settings, cmd: DossierCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DossierCommand::Check {
            case_no,
            all: _,
            year,
            region,
            format,
            out,
        } => check(settings, case_no, year, region, format, out).await,
        DossierCommand::Sample {
            draw,
            format: SampleFormat::Jsonl,
        } => {
            let (db, _, area) = open_area(settings, &draw.region).await?;
            let pool = sampling::candidates(&db, &area, draw.year).await?;
            let size = draw.size;
            let plan = sampling::Plan {
                size,
                seed: draw.seed,
                min_per_type: draw.min_per_type,
                min_per_unit: draw.min_per_unit,
            };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for c in sampling::draw(&pool, &plan) {
                let line = serde_json::json!({
                    "case_no": c.case_no,
                    "unit": c.unit,
                    "case_type": c.case_type.label(),
                    "how": "random",
                });
                writeln!(out, "{line}")?;
            }
            out.flush()?;
            eprintln!("drew {} of {} case files", size.min(pool.len()), pool.len());
            Ok(ExitCode::SUCCESS)
        }
        DossierCommand::Plan {
            draw,
            margin,
            actor,
        } => {
            let (db, org, area) = open_area(settings, &draw.region).await?;
            let spec = review::PlanSpec {
                year: draw.year,
                size: draw.size,
                seed: draw.seed,
                min_per_type: draw.min_per_type,
                min_per_unit: draw.min_per_unit,
                margin,
            };
            let id = review::create_plan(&db, &org, &area, &actor, spec).await?;
            let whole = Area::whole(&Scope::Province);
            let r = review::results(&db, &org, id, &whole).await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            writeln!(out, "{}", serde_json::json!({ "plan": id }))?;
            for d in &r.dossiers {
                let line = serde_json::json!({
                    "case_no": d.case_no,
                    "unit": d.unit,
                    "case_type": d.case_type,
                    "how": d.how,
                    "reviewers": d.sheets.iter().map(|s| &s.0).collect::<Vec<_>>(),
                });
                writeln!(out, "{line}")?;
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        DossierCommand::Results { plan, out } => {
            let db = ecowarden_core::open(settings).await?;
            let org = Org::load(&db).await?;
            let r = review::results(&db, &org, plan, &Area::whole(&Scope::Province)).await?;
            std::fs::write(&out, review::to_xlsx(&r, &org)?)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote the results of plan {plan} ({} dossiers) to {}",
                r.dossiers.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The store, the organisation and a region's area (province-wide: the commands run as the
/// operator).
async fn open_area(
    settings: &Settings,
    region: &str,
) -> anyhow::Result<(ecowarden_core::store::Db, std::sync::Arc<Org>, Area)> {
    let db = ecowarden_core::open(settings).await?;
    let org = Org::load(&db).await?;
    let area = Scope::Province.area(&org, Some(region))?;
    Ok((db, org, area))
}

/// `ecowarden dossier check`.
async fn check(
    settings: &Settings,
    case_no: Option<String>,
    year: Option<i32>,
    region: Option<String>,
    format: CheckFormat,
    out: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    if format == CheckFormat::Xlsx && out.is_none() && std::io::stdout().is_terminal() {
        bail!("a workbook is binary: give --out FILE.xlsx or redirect standard output");
    }
    let db = ecowarden_core::open(settings).await?;
    let org = Org::load(&db).await?;
    let area = Scope::Province.area(&org, region.as_deref())?;
    let cal = calendar::load(&db).await?;
    let policy = Policy::from(&settings.legal);
    let mut sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let started = Instant::now();
    // A run over the whole province for a year is the stored run the 案卷检查 page reads.
    let store = match (&case_no, &region, year) {
        (None, None, Some(y)) => Some((y, check_results::audit_seq(&db).await?)),
        _ => None,
    };
    let mut stored: Vec<Checked> = Vec::new();
    let mut kept: Vec<Checked> = Vec::new();
    let (mut fails, mut advisories) = (0usize, 0usize);
    let mut written: std::io::Result<()> = Ok(());
    let mut each = |c: Checked| {
        if store.is_some() && !c.findings.is_empty() {
            stored.push(c.clone());
        }
        fails += c
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Fail)
            .count();
        advisories += c
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Advisory)
            .count();
        match format {
            CheckFormat::Jsonl => {
                for f in &c.findings {
                    if written.is_ok() {
                        written = serde_json::to_writer(
                            &mut sink,
                            &ledger_io::finding_json(&c.case_no, f),
                        )
                        .map_err(std::io::Error::from)
                        .and_then(|_| sink.write_all(b"\n"));
                    }
                }
            }
            CheckFormat::Xlsx => {
                if !c.findings.is_empty() {
                    kept.push(c);
                }
            }
        }
    };
    let cases = match &case_no {
        Some(no) => {
            let id = dossier::case_id(&db, &area, no)
                .await?
                .with_context(|| format!("没有案号为“{no}”的案件"))?;
            let c = dossier::check_case(&db, &area, id, &cal, &policy)
                .await?
                .context("the case vanished")?;
            each(c);
            1
        }
        None => dossier::check_all(&db, &area, year, &cal, &policy, &mut each).await?,
    };
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        r => r?,
    }
    if format == CheckFormat::Xlsx {
        sink.write_all(&ledger_io::checks_xlsx(&kept, &org))?;
    }
    if let Some((y, seq)) = store {
        check_results::store_year(&db, y, seq, &stored).await?;
    }
    sink.flush()?;
    eprintln!(
        "checked {cases} cases in {:.2}s: {fails} failed checks, {advisories} advisories",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
