//! The command line: `ecowarden serve | demo | migrate | screen | user … | audit-log verify | hj212 parse |
//! cases import|template | report stats`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use ecowarden_core::auth::Role;
use ecowarden_monitoring::screening::Format as ScreenFormat;
use ecowarden_monitoring::simulate::{Fault, Plan, Rate};

#[derive(Debug, Parser)]
#[command(
    name = "ecowarden",
    version,
    about = "生态环境执法效能平台 — eco-environmental enforcement platform"
)]
pub struct Cli {
    /// TOML configuration file (default: ./ecowarden.toml if present).
    #[arg(long, global = true, env = "ECOWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite:PATH or postgres://… (default: SQLite in the data directory).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Data directory (SQLite file, monitoring archive).
    #[arg(long = "data", global = true)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (pages and API).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Seed an empty store with a plausible province-year and serve it.
    Demo {
        #[arg(long)]
        listen: Option<String>,
        /// Number of cases to generate (the article's province-year is a few thousand).
        #[arg(long, default_value_t = 3600)]
        cases: usize,
        /// Year of the generated cases.
        #[arg(long, default_value_t = 2023)]
        year: i32,
        /// Seed of the generator: the same seed gives the same data.
        #[arg(long, default_value_t = 20230101)]
        seed: u64,
        /// Seed and exit without serving (for benchmarks and scripts).
        #[arg(long)]
        seed_only: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// The monitoring registry: facilities' outlets, data loggers (MN, PW, ST) and factors.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Run the HJ 212 receiver alone (`serve` and `demo` run one too).
    Ingest {
        /// Address for data loggers, e.g. 0.0.0.0:9212 (default: ingest.listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Monitoring data: load packet logs, export the archive, compact the evidence log.
    Monitoring {
        #[command(subcommand)]
        command: MonitoringCommand,
    },
    /// Screen the monitoring archive for falsification signatures over a period; prints one
    /// finding a line and stores the leads for the web queue.
    Screen {
        /// First DataTime date (inclusive), Beijing time.
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: chrono::NaiveDate,
        /// Last DataTime date (inclusive).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: chrono::NaiveDate,
        /// jsonl, table or xlsx.
        #[arg(long, default_value = "jsonl")]
        format: ScreenFormat,
        /// Days before --from read as each outlet's own history (baselines).
        #[arg(long, default_value_t = 7)]
        history_days: u32,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Simulate data loggers sending HJ 212 uploads of registered outlets to a receiver.
    Simulate(SimulateArgs),
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The hash-chained audit log.
    AuditLog {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// HJ 212 tools.
    Hj212 {
        #[command(subcommand)]
        command: Hj212Command,
    },
    /// The case ledger in and out of spreadsheets.
    Cases {
        #[command(subcommand)]
        command: CasesCommand,
    },
    /// Reports for the corps.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Case files (案卷): the legal checks C1–C16.
    Dossier {
        #[command(subcommand)]
        command: DossierCommand,
    },
    /// Assessment (科学考核): units scored and ranked against a rule file, as stored runs.
    Assess {
        #[command(subcommand)]
        command: AssessCommand,
    },
    /// Inspection audits (稽查): the platform-data comparison of the ledger with the
    /// monitoring archive.
    Inspection {
        #[command(subcommand)]
        command: InspectionCommand,
    },
}

/// `ecowarden simulate` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The receiver, e.g. 127.0.0.1:9212.
    #[arg(long)]
    pub target: String,
    /// Simulated loggers: the first N outlets of the registry.
    #[arg(long, default_value_t = 10)]
    pub stations: usize,
    /// `live` (follow the clock), or a back-fill storm of hourly uploads at this many frames
    /// per second in total (0: as fast as the receiver acks).
    #[arg(long, default_value = "live")]
    pub rate: Rate,
    /// Faults to mix in, comma-separated: garbage, bad_crc, wrong_pw, unknown_mn, truncated,
    /// sloppy, split (or `all`).
    #[arg(long, value_delimiter = ',')]
    pub faults: Vec<Fault>,
    /// Share of uploads that get a fault.
    #[arg(long, default_value_t = 0.02)]
    pub fault_rate: f64,
    /// Uploads a logger sends before waiting for the oldest one's ack.
    #[arg(long, default_value_t = 1)]
    pub window: usize,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Live pace: hours of hourly (and, for the last 6, minute) data sent first.
    #[arg(long, default_value_t = 0)]
    pub backfill: u32,
    /// Live pace: seconds between real-time (2011) uploads.
    #[arg(long, default_value_t = 30)]
    pub rtd_interval: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl From<SimulateArgs> for Plan {
    fn from(a: SimulateArgs) -> Plan {
        Plan {
            target: a.target,
            stations: a.stations,
            rate: a.rate,
            faults: a.faults,
            fault_rate: a.fault_rate,
            window: a.window,
            duration: a.duration,
            backfill: a.backfill,
            rtd_interval: a.rtd_interval,
            seed: a.seed,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// provincial_admin, provincial_analyst, city_leader, city_officer, county_officer, auditor
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// GB/T 2260 code of the user's unit, e.g. 350102.
        #[arg(long)]
        region: String,
        /// The password (or set ECOWARDEN_PASSWORD; or pipe it with --password-stdin).
        #[arg(long, env = "ECOWARDEN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password, unlock the account and end its sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
        #[arg(long, env = "ECOWARDEN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account and end its sessions.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Re-enable a disabled account.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Make an account an officer's (by certificate number), so the officer reads their own
    /// individual score sheet.
    LinkOfficer {
        #[arg(long)]
        username: String,
        /// The officer's certificate number (执法证号).
        #[arg(long, value_name = "CERT_NO")]
        officer: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Import outlets from an .xlsx or CSV file with one row per outlet × factor and the
    /// columns mn,password,facility_name,credit_code,region_code,outlet_name,industry,st,
    /// factor,limit,unit,range,detection_limit,o2_ref (all or nothing).
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum MonitoringCommand {
    /// Load files of raw HJ 212 frames (packet logs, good and bad frames mixed) the way the
    /// receiver takes a connection, then archive them; prints what was read, archived and
    /// rejected by reason.
    Import {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Write archived messages (and those not yet compacted) in DataTime order.
    Export {
        #[arg(long)]
        mn: Option<String>,
        /// First DataTime date (inclusive).
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<chrono::NaiveDate>,
        /// Last DataTime date (inclusive).
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<chrono::NaiveDate>,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Archive what the evidence log holds beyond the checkpoint now, and print the figures.
    Compact {
        /// First rewrite the archive's files of an older layout in the current one (value for
        /// value; the current layout reads faster and stores numbers without their text).
        #[arg(long)]
        migrate: bool,
        /// Then archive the accepted uploads sent with the swapped MODBUS CRC that earlier
        /// versions kept as evidence but skipped (before 2026-12-07 the compactor framed them
        /// with the standard CRC only); values already archived are not written again.
        #[arg(long)]
        rescan_swapped_crc: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One JSON object a message: {"mn","qn","cn","data_time","values":{factor:{field:value}}}.
    Jsonl,
    /// One row a value: mn,qn,cn,data_time,factor,field,value,flag.
    Csv,
    /// The CSV's rows in a workbook.
    Xlsx,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the audit log's chain and the security events' and name every edited, reordered,
    /// rewritten or deleted entry, check each entry's MAC with the key file and each chain
    /// against its checkpoint (exit 1 if any); print the heads for the operator to keep.
    Verify {
        /// A checkpoint of the audit log to compare with instead of the one in the data
        /// directory, e.g. the operator's kept copy of a printed head
        /// (`entries=N head=H [first_keyed=K]`).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The same for the security events (their printed head line).
        #[arg(long)]
        security_checkpoint: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Hj212Command {
    /// Parse a byte stream of HJ 212 frames and print one JSON object per line.
    Parse(crate::hj212_cli::ParseArgs),
}

#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// Import cases from .xlsx, .xls or CSV files in a user's scope, all or nothing
    /// (exit 1 and the problems by file, row and column if any).
    Import {
        /// The user whose scope and name the import runs under.
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: String,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Write the import template (.xlsx).
    Template {
        #[arg(long, value_name = "FILE.xlsx")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Every statistical figure of a period, province-wide or for one region.
    Stats {
        #[arg(long)]
        year: i32,
        /// Half-year: 1 (January–June) or 2 (July–December); the whole year if absent.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        half: Option<u8>,
        /// A city or county code, e.g. 350100.
        #[arg(long)]
        region: Option<String>,
        #[arg(long, value_enum)]
        format: StatsFormat,
        /// Output file (JSON goes to standard output without it; xlsx needs it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    Json,
    Xlsx,
}

#[derive(Debug, Subcommand)]
pub enum AssessCommand {
    /// Scores the units of the rule file's level inside a region (default: the province) for
    /// a year or half-year, stores the run and prints it.
    Run {
        /// The rule file (TOML), e.g. crates/scoring/rules/default-county-2023.toml.
        #[arg(long)]
        rules: PathBuf,
        #[arg(long)]
        year: i32,
        /// Half-year: 1 (January–June) or 2 (July–December); the whole year if absent.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        half: Option<u8>,
        /// A city or county code, e.g. 350100.
        #[arg(long)]
        region: Option<String>,
        #[arg(long, value_enum)]
        format: AssessFormat,
        /// Output file (standard output without it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Enters (or replaces) a value by hand for a `manual.<key>` metric of a unit or an officer
    /// (or an officer's `officer.contest`, `officer.honours`) and period:
    /// a yes/no fact (1 or 0), points, or a count to deduct for, with its justification and
    /// optionally the evidence file.
    Enter {
        #[arg(long)]
        year: i32,
        /// Half-year: 1 or 2; the whole year if absent.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        half: Option<u8>,
        /// The unit's region code, e.g. 350102.
        #[arg(long, required_unless_present = "officer", conflicts_with = "officer")]
        unit: Option<String>,
        /// An officer's certificate number (执法证号), for an individual rule file.
        #[arg(long, value_name = "CERT_NO")]
        officer: Option<String>,
        /// `manual.<key>` as the rule file names it; for an officer also `officer.contest`
        /// or `officer.honours`.
        #[arg(long)]
        metric: String,
        /// 1 or 0 for yes/no, else the points or the count (a negative one is refused in
        /// Chinese, not taken for a flag).
        #[arg(long, allow_negative_numbers = true)]
        value: f64,
        /// Why (依据说明).
        #[arg(long)]
        justification: String,
        /// The evidence file (证明材料).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Prints a stored run as it was made.
    Show {
        /// The run's id, as `assess run` printed it.
        run: i64,
        #[arg(long, value_enum)]
        format: AssessFormat,
        /// Output file (standard output without it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AssessFormat {
    Json,
    Xlsx,
    Pdf,
}

#[derive(Debug, Subcommand)]
pub enum InspectionCommand {
    /// Compares the ledger with the platform's data for every unit of a region over a period
    /// (the four rules an audit page shows for one unit); one line per mismatch:
    /// {"rule","region_code","subject","evidence"}.
    Compare {
        /// First date of the period (leads and cases of it), YYYY-MM-DD.
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last date of the period (inclusive).
        #[arg(long)]
        to: chrono::NaiveDate,
        /// The province (default), a city or a county.
        #[arg(long)]
        region: Option<String>,
        /// The day the follow-up limits are counted to (default: today).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long, value_enum)]
        format: SampleFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum DossierCommand {
    /// Runs the legal checks C1–C16 on one case or on every case (of a year and region);
    /// jsonl prints one line per failed check: {"case_no","check","severity","article",
    /// "message","dates"}.
    Check {
        /// One case, by its number (案号).
        #[arg(
            long = "case",
            value_name = "CASE_NO",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        case_no: Option<String>,
        /// Every case (of --year and --region).
        #[arg(long)]
        all: bool,
        /// Cases filed in this year (discovered in it when not filed).
        #[arg(long)]
        year: Option<i32>,
        /// A city or county code (default: the province).
        #[arg(long)]
        region: Option<String>,
        #[arg(long, value_enum)]
        format: CheckFormat,
        /// Output file (default: standard output; a workbook needs a file or a redirect).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Draws case files for review: seeded and reproducible, with at least --min-per-type of
    /// each case type and --min-per-unit of each unit; one line per drawn case:
    /// {"case_no","unit","case_type","how":"random"}.
    Sample {
        #[command(flatten)]
        draw: DrawArgs,
        #[arg(long, value_enum)]
        format: SampleFormat,
    },
    /// Stores a review plan (the draw of `sample`, its seed kept) and assigns two
    /// cross-reviewers to each dossier; one line per dossier: {"case_no","unit","case_type",
    /// "how","reviewers"} after a first line {"plan": ID}.
    Plan {
        #[command(flatten)]
        draw: DrawArgs,
        /// Two scores further apart than this call an arbiter.
        #[arg(long, default_value_t = 10.0)]
        margin: f64,
        /// Who the audit log records.
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// A review plan's results (per dossier, unit and city, the items most often lost) as a
    /// workbook.
    Results {
        #[arg(long)]
        plan: i64,
        #[arg(long)]
        out: PathBuf,
    },
}

/// What a draw of case files for review takes (`dossier sample`, `dossier plan`).
#[derive(Debug, clap::Args)]
pub struct DrawArgs {
    /// Cases filed in this year (discovered in it when not filed), with a decision.
    #[arg(long)]
    pub year: i32,
    /// The province, a city or a county.
    #[arg(long)]
    pub region: String,
    /// How many files to draw.
    #[arg(long)]
    pub size: usize,
    /// The draw's seed: keep it with the plan to draw the same list again.
    #[arg(long)]
    pub seed: u64,
    #[arg(long, default_value_t = 1)]
    pub min_per_type: usize,
    #[arg(long, default_value_t = 0)]
    pub min_per_unit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SampleFormat {
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Jsonl,
    Xlsx,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!(
            "unknown role {s}; one of: {}",
            Role::ALL.map(|r| r.as_str()).join(", ")
        )
    })
}
