//! `ecowarden cases import | template` and `ecowarden report stats`: the ledger's commands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use ecowarden_core::auth::{self, Permission};
use ecowarden_core::config::Settings;
use ecowarden_core::org::Org;
use ecowarden_core::scope::Scope;
use ecowarden_ledger::ledger_io::{
    ImportError, Upload, figure_case_numbers, import, stats_json, stats_xlsx, template_xlsx,
};
use ecowarden_ledger::stats::{self, Period};

use crate::cli::{CasesCommand, ReportCommand, StatsFormat};

/// `ecowarden cases import | template`.
pub async fn cases_command(settings: &Settings, cmd: CasesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CasesCommand::Template { out } => {
            std::fs::write(&out, template_xlsx())
                .with_context(|| format!("writing {}", out.display()))?;
            println!("导入模板已写入 {}", out.display());
        }
        CasesCommand::Import { as_user, files } => {
            let db = ecowarden_core::open(settings).await?;
            let org = Org::load(&db).await?;
            let row = auth::find_by_username(&db, &as_user)
                .await?
                .with_context(|| format!("没有用户“{as_user}”"))?;
            let user = auth::User::from_row(&org, &row)
                .with_context(|| format!("用户“{as_user}”的角色无效"))?;
            if row.disabled != 0 {
                bail!("用户“{as_user}”已停用");
            }
            if !user.can(Permission::WriteLedger) {
                bail!("用户“{as_user}”（{}）无权录入案件", user.role.label());
            }
            let uploads = files
                .iter()
                .map(|p: &PathBuf| {
                    Ok(Upload {
                        name: p.display().to_string(),
                        bytes: std::fs::read(p)
                            .with_context(|| format!("reading {}", p.display()))?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let actor = format!("cli:{as_user}");
            match import(&db, &org, &user.scope, &actor, uploads).await {
                Ok(done) => println!(
                    "{}；读取 {:.1} 秒，校验并写入 {:.1} 秒",
                    done.summary(),
                    done.read_time.as_secs_f64(),
                    done.record_time.as_secs_f64()
                ),
                Err(ImportError::Rejected(problems)) => {
                    for p in &problems {
                        eprintln!("{p}");
                    }
                    eprintln!("{}", ImportError::Rejected(problems));
                    return Ok(ExitCode::FAILURE);
                }
                Err(ImportError::Store(e)) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ecowarden report stats`: province scope, as the corps reports.
pub async fn report_command(settings: &Settings, cmd: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Stats {
        year,
        half,
        region,
        format,
        out,
    } = cmd;
    if format == StatsFormat::Xlsx && out.is_none() {
        bail!("--format xlsx needs --out FILE.xlsx");
    }
    let db = ecowarden_core::open(settings).await?;
    let org = Org::load(&db).await?;
    let area = Scope::Province.area(&org, region.as_deref())?;
    let period = Period { year, half };
    let stats = stats::compute(&db, &org, &area, period).await?;
    let nos = figure_case_numbers(&db, &stats).await?;
    let bytes = match format {
        StatsFormat::Json => {
            let mut s = serde_json::to_string_pretty(&stats_json(&stats, &nos))?;
            s.push('\n');
            s.into_bytes()
        }
        StatsFormat::Xlsx => stats_xlsx(&stats, &nos),
    };
    match out {
        Some(path) => {
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}
