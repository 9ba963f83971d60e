//! The monitoring commands: `registry import`, `ingest`, `monitoring import|export|compact`
//! and `simulate`, wired to the domain modules (`registry`, `ingest`, `evidence`, `archive`).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use ecowarden_core::clock::day_start_ms;

use crate::cli::{ExportFormat, MonitoringCommand, RegistryCommand};
use ecowarden_core::config::Settings;
use ecowarden_core::org::Org;
use ecowarden_core::scope::Scope;
use ecowarden_monitoring::archive::compact::{Archive, Compaction};
use ecowarden_monitoring::archive::query::{Filter, for_each_day};
use ecowarden_monitoring::archive::{self, Message, Value};
use ecowarden_monitoring::defects;
use ecowarden_monitoring::evidence::{self, EvidenceLog};
use ecowarden_monitoring::ingest::session::{Defect, Received, Session};
use ecowarden_monitoring::registry::{self, SaveError};
use ecowarden_monitoring::screening::{Format, Progress, screen_and_save, write_findings};
use ecowarden_monitoring::simulate;

use crate::cli::SimulateArgs;

/// `ecowarden registry import FILE`: all or nothing; the problems by row and column.
pub async fn registry_command(
    settings: &Settings,
    cmd: RegistryCommand,
) -> anyhow::Result<ExitCode> {
    let RegistryCommand::Import { file } = cmd;
    let db = ecowarden_core::open(settings).await?;
    let org = Org::load(&db).await?;
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let name = file.display().to_string();
    let parsed = ecowarden_core::sheet::read_table(&bytes)
        .map_err(|m| {
            vec![ecowarden_core::sheet::Problem {
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

/// `ecowarden ingest`: the receiver alone, until Ctrl-C or SIGTERM.
pub async fn ingest_command(settings: &Settings, listen: Option<String>) -> anyhow::Result<()> {
    let db = ecowarden_core::open(settings).await?;
    let addr = listen.unwrap_or_else(|| settings.ingest.listen.clone());
    let running = ecowarden_monitoring::ingest::start(settings, &db, &addr).await?;
    // Scripts and tests read the address from this line.
    println!("HJ 212 receiver listening on {}", running.addr);
    use std::io::Write;
    std::io::stdout().flush()?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = running.task => r.context("receiver task")??,
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

/// `ecowarden monitoring import | export | compact`.
pub async fn monitoring_command(settings: &Settings, cmd: MonitoringCommand) -> anyhow::Result<()> {
    match cmd {
        MonitoringCommand::Import { files } => import_logs(settings, files).await,
        MonitoringCommand::Export {
            mn,
            from,
            to,
            format,
            output,
        } => {
            let filter = Filter {
                mns: mn.map(|m| HashSet::from([m])),
                from_ms: from.map(day_start_ms),
                to_ms: to.map(|d| day_start_ms(d + chrono::Days::new(1))),
                ..Filter::default()
            };
            let data_dir = settings.data_dir.clone();
            let done =
                tokio::task::spawn_blocking(move || export(&data_dir, &filter, format, output))
                    .await
                    .context("export task")?;
            // `export … | head` closes the pipe early: that ends the export, it is no error.
            match done {
                Err(e)
                    if e.downcast_ref::<std::io::Error>()
                        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
                {
                    Ok(())
                }
                r => r,
            }
        }
        MonitoringCommand::Compact {
            migrate,
            rescan_swapped_crc,
        } => {
            let db = ecowarden_core::open(settings).await?;
            let stations = registry::stations(&db).await?;
            let data_dir = settings.data_dir.clone();
            let (rescan, done) = tokio::task::spawn_blocking(move || {
                let archive = Archive::open(&data_dir)?;
                if migrate {
                    let n = archive.migrate()?;
                    println!("migrated {n} files to archive layout {}", archive::LAYOUT);
                }
                let rescan = rescan_swapped_crc
                    .then(|| archive.rescan_swapped_crc(&stations))
                    .transpose()?;
                anyhow::Ok((rescan, archive.compact(&stations, None)?))
            })
            .await
            .context("compaction task")??;
            if let Some(r) = rescan {
                print!("rescan (swapped MODBUS CRC): ");
                print_compaction(&r);
            }
            print_compaction(&done);
            Ok(())
        }
    }
}

fn print_compaction(c: &Compaction) {
    let secs = c.elapsed.as_secs_f64().max(1e-9);
    println!(
        "compacted {} records: {} messages, {} values ({} measurements) in {} files, {} bytes, {:.2} s",
        c.records, c.messages, c.rows, c.measurements, c.files, c.bytes, secs
    );
    println!(
        "  {:.0} measurements/s, {:.2} bytes/measurement, {:.2} bytes/value; {} duplicate messages, {} duplicate values",
        c.measurements as f64 / secs,
        c.bytes as f64 / (c.measurements.max(1)) as f64,
        c.bytes as f64 / (c.rows.max(1)) as f64,
        c.duplicate_messages,
        c.duplicate_rows
    );
}

/// Loads packet logs through a receiver [`Session`] each, and archives them as they are
/// logged: the compactor takes the records from the log's writer and decodes them on the
/// other core while the files are read. The evidence log syncs at the end (an import
/// acknowledges nothing to a logger) and once per compactor chunk, which is written only
/// when on disk.
async fn import_logs(settings: &Settings, files: Vec<PathBuf>) -> anyhow::Result<()> {
    let db = ecowarden_core::open(settings).await?;
    let stations = Arc::new(registry::stations(&db).await?);
    let (log, _, tap) = EvidenceLog::open_tapped(
        &evidence::dir_in(&settings.data_dir),
        evidence::SEGMENT_BYTES,
        archive::compact::CHUNK_RECORDS,
    )?;
    let archive = Archive::open(&settings.data_dir)?;
    let compactor = {
        let stations = stations.clone();
        tokio::task::spawn_blocking(move || archive.compact_tap(&stations, tap))
    };
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()
        .context("reading the files' sizes")?;
    let bar = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .expect("valid template"),
    );
    let mut kept = Kept::default();
    for (i, path) in files.iter().enumerate() {
        bar.set_message(path.display().to_string());
        // Read in place, not through tokio's blocking pool: a piece comes from a local file
        // in microseconds, and a round trip to the pool per piece parked this task, the
        // import's critical path (it judges every frame), once a piece.
        let mut file =
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let mut session = Session::new(
            log.connection_id(i as u32 + 1),
            format!("file:{}", path.display()),
            settings.ingest.max_open_groups,
        )
        .without_replies()
        .handing_on_parses();
        let mut out = Vec::new();
        // Read a piece at a time into one buffer, as a connection is: a packet log of
        // gigabytes needs no gigabytes of memory.
        let mut chunk = vec![0; 256 * 1024];
        loop {
            let n = std::io::Read::read(&mut file, &mut chunk)
                .with_context(|| format!("reading {}", path.display()))?;
            if n == 0 {
                break;
            }
            session.feed(
                &chunk[..n],
                ecowarden_monitoring::ingest::now_us(),
                &stations,
                &mut out,
            );
            kept.append(&log, &stations, &mut out).await?;
            bar.inc(n as u64);
        }
        session.finish(ecowarden_monitoring::ingest::now_us(), &stations, &mut out);
        kept.append(&log, &stations, &mut out).await?;
    }
    log.close().await?;
    bar.finish_and_clear();
    let mut frame_defects = Vec::with_capacity(kept.defects.len());
    for (defect, at, pos) in kept.defects {
        let pos = pos.await.context("the evidence log failed")?;
        frame_defects.push(defects::FrameDefect::new(defect, at, pos));
    }
    defects::save(&db, &frame_defects).await?;
    let mut verdicts = kept.verdicts;
    let done = compactor.await.context("compaction task")??;
    let read: u64 = verdicts.values().sum();
    let accepted = verdicts.remove("accepted").unwrap_or(0);
    println!(
        "read {read} frames ({accepted} accepted); archived {} messages ({} values), {} already archived; {} defects of registered outlets kept",
        done.messages,
        done.rows,
        done.duplicate_messages,
        frame_defects.len()
    );
    let mut rejected: Vec<(String, u64)> = verdicts
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    rejected.extend(done.skipped.iter().map(|(k, v)| (k.clone(), *v)));
    if rejected.is_empty() {
        println!("rejected: none");
    } else {
        println!("rejected by reason:");
        for (reason, n) in rejected {
            println!("  {reason:<18} {n}");
        }
    }
    Ok(())
}

/// What an import has appended so far: records by verdict, and the defects of registered
/// outlets with the positions their records will get.
#[derive(Default)]
struct Kept {
    verdicts: BTreeMap<&'static str, u64>,
    defects: Vec<(Defect, i64, tokio::sync::oneshot::Receiver<evidence::Pos>)>,
}

impl Kept {
    async fn append(
        &mut self,
        log: &EvidenceLog,
        stations: &registry::Stations,
        out: &mut Vec<Received>,
    ) -> anyhow::Result<()> {
        for r in out.drain(..) {
            *self.verdicts.entry(r.record.verdict.as_str()).or_default() += 1;
            match r.defect.filter(|d| stations.contains_key(&d.mn)) {
                Some(d) => {
                    let at = r.record.recv_us;
                    self.defects
                        .push((d, at, log.append_durable(r.record).await?));
                }
                None => log.append(r.record).await?,
            }
        }
        Ok(())
    }
}

/// The CSV and workbook columns of an export.
const EXPORT_COLUMNS: [&str; 8] = [
    "mn",
    "qn",
    "cn",
    "data_time",
    "factor",
    "field",
    "value",
    "flag",
];

/// Excel's row limit, header included.
const XLSX_MAX_ROWS: u64 = 1_048_576;

fn export(
    data_dir: &std::path::Path,
    filter: &Filter,
    format: ExportFormat,
    output: Option<PathBuf>,
) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    if format == ExportFormat::Xlsx && output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!("a workbook is binary: give --output FILE.xlsx or redirect standard output");
    }
    let mut out: Box<dyn Write> = match &output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let mut row: u64 = 0;
    if format == ExportFormat::Csv {
        writeln!(out, "{}", EXPORT_COLUMNS.join(","))?;
    }
    if format == ExportFormat::Xlsx {
        sheet.set_name("监测数据")?;
        for (c, h) in EXPORT_COLUMNS.iter().enumerate() {
            sheet.write_string(0, c as u16, *h)?;
        }
    }
    for_each_day(data_dir, filter, |_, messages| {
        for m in messages {
            let data_time = m.data_time_rfc3339();
            match format {
                ExportFormat::Jsonl => {
                    let mut line = serde_json::json!({
                        "mn": m.mn, "qn": m.qn, "cn": m.cn, "data_time": data_time,
                        "values": m.values_by_factor().into_iter()
                            .filter(|(f, _)| !f.is_empty())
                            .collect::<BTreeMap<_, _>>(),
                    });
                    if let Some(other) = m.values_by_factor().get("") {
                        line["other"] = serde_json::json!(other);
                    }
                    serde_json::to_writer(&mut out, &line)?;
                    out.write_all(b"\n")?;
                }
                ExportFormat::Csv => {
                    for v in &m.values {
                        let cells: Vec<String> = value_cells(&m, &data_time, v)
                            .iter()
                            .map(|c| csv_cell(c))
                            .collect();
                        writeln!(out, "{}", cells.join(","))?;
                    }
                }
                ExportFormat::Xlsx => {
                    for v in &m.values {
                        row += 1;
                        if row >= XLSX_MAX_ROWS {
                            anyhow::bail!(
                                "more than {} values: too many for a workbook; narrow --mn/--from/--to or use --format csv",
                                XLSX_MAX_ROWS - 1
                            );
                        }
                        for (c, text) in value_cells(&m, &data_time, v).iter().enumerate() {
                            sheet.write_string(row as u32, c as u16, *text)?;
                        }
                    }
                }
            }
        }
        Ok(())
    })?;
    if format == ExportFormat::Xlsx {
        out.write_all(&workbook.save_to_buffer()?)?;
    }
    out.flush()?;
    Ok(())
}

/// One value as the export's columns ([`EXPORT_COLUMNS`]).
fn value_cells<'a>(m: &'a Message, data_time: &'a str, v: &'a Value) -> [&'a str; 8] {
    [
        &m.mn,
        m.qn.as_deref().unwrap_or(""),
        &m.cn,
        data_time,
        &v.factor,
        &v.field,
        &v.value,
        v.flag.as_deref().unwrap_or(""),
    ]
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// `ecowarden simulate`: the first N outlets of the registry as loggers, until the duration
/// ends or Ctrl-C; prints what was sent and acked.
pub async fn simulate_command(settings: &Settings, args: SimulateArgs) -> anyhow::Result<()> {
    let db = ecowarden_core::open(settings).await?;
    let stations = simulate::stations(&db, args.stations).await?;
    if stations.is_empty() {
        anyhow::bail!(
            "the monitoring registry is empty: register outlets first (ecowarden registry import FILE)"
        );
    }
    if stations.len() < args.stations {
        eprintln!(
            "the registry has {} outlets; simulating all of them",
            stations.len()
        );
    }
    db.pool().close().await;
    // Each logger is a connection, so a file of this process.
    ecowarden_monitoring::ingest::raise_open_file_limit();
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stopper.store(true, Ordering::Relaxed);
    });
    let summary = simulate::run(&args.into(), stations, stop, true).await;
    println!("{}", summary.report());
    Ok(())
}

/// `ecowarden screen`.
pub async fn screen_command(
    settings: &Settings,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    format: Format,
    history_days: u32,
    output: Option<PathBuf>,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    if format == Format::Xlsx && output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!("a workbook is binary: give --output FILE.xlsx or redirect standard output");
    }
    let db = ecowarden_core::open(settings).await?;
    let (run, saved) = screen_and_save(
        &db,
        &settings.data_dir,
        from,
        to,
        history_days,
        "system:screen",
        std::sync::Arc::new(Progress::with_bar()),
    )
    .await?;
    let mut out: Box<dyn std::io::Write> = match &output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    write_findings(&run.leads, format, &mut out)?;
    let secs = (run.read + run.screened).as_secs_f64();
    eprintln!(
        "screened {} series, {} values in {:.2}s (read {:.2}s, screen {:.2}s; {:.1} M values/s): {} leads ({} new, {} updated, {} already decided)",
        run.series,
        run.points,
        secs,
        run.read.as_secs_f64(),
        run.screened.as_secs_f64(),
        run.points as f64 / secs.max(1e-9) / 1e6,
        run.leads.len(),
        saved.created,
        saved.updated,
        saved.decided,
    );
    Ok(())
}
