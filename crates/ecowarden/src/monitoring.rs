//! The monitoring commands, wired to the domain modules: `registry import`.

use std::process::ExitCode;

use anyhow::Context;

use crate::auth::Scope;
use crate::cli::RegistryCommand;
use crate::config::Settings;
use crate::org::Org;
use crate::registry::{self, SaveError};

/// `ecowarden registry import FILE`: all or nothing; the problems by row and column.
pub async fn registry_command(
    settings: &Settings,
    cmd: RegistryCommand,
) -> anyhow::Result<ExitCode> {
    let RegistryCommand::Import { file } = cmd;
    let db = crate::open(settings).await?;
    let org = Org::load(&db).await?;
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let name = file.display().to_string();
    let parsed = crate::sheet::read_table(&bytes)
        .map_err(|m| {
            vec![crate::sheet::Problem {
                file: name.clone(),
                row: None,
                column: None,
                message: m,
            }]
        })
        .and_then(|t| registry::parse_table(&name, &t));
    let result = match parsed {
        Ok(outlets) => registry::save(&db, &org, &Scope::Province, "cli", &name, &outlets).await,
        Err(problems) => Err(SaveError::Rejected(problems)),
    };
    match result {
        Ok(done) => {
            println!("{}", done.summary());
            Ok(ExitCode::SUCCESS)
        }
        Err(SaveError::Rejected(problems)) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("{}", SaveError::Rejected(problems));
            Ok(ExitCode::FAILURE)
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}
