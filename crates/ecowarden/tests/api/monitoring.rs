//! The HJ 212 receiver as a separate process, the way it runs in production: acked frames
//! survive SIGKILL at any moment and end up in the archive exactly once.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hj212::build::{Station as Logger, Upload, upload};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_ecowarden");

/// A fresh data directory.
fn data_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ew-mon-{name}-{}",
        ecowarden_core::auth::random_token()[..8].to_owned()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ecowarden(data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data")
        .arg(data)
        .env_remove("ECOWARDEN__DATABASE_URL");
    c
}

/// Registers `n` flue-gas stations `TESTMN0001…` with password `123456`.
fn register(data: &Path, n: usize) -> Vec<String> {
    let mut csv = String::from(
        "mn,password,facility_name,credit_code,region_code,outlet_name,industry,st,factor,limit,unit,range,detection_limit,o2_ref\n",
    );
    let mns: Vec<String> = (1..=n).map(|i| format!("TESTMN{i:04}")).collect();
    for (i, mn) in mns.iter().enumerate() {
        csv.push_str(&format!(
            "{mn},123456,福建鼓楼测试化工有限公司,91350102MA2YK8LQ1M,350102,{}号排口,化工,31,a21026,35,mg/m3,0-500,3,6\n",
            i + 1
        ));
    }
    let file = data.join("registry.csv");
    std::fs::write(&file, csv).unwrap();
    succeed(ecowarden(data).args(["registry", "import"]).arg(&file));
    mns
}

/// Runs a command that must succeed; its output.
fn succeed(c: &mut Command) -> std::process::Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Starts `ecowarden ingest` on a free port; returns the child and its address.
fn start_receiver(data: &Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = ecowarden(data)
        .args(["ingest", "--listen", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("HJ 212 receiver listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, addr)
}

/// The hourly upload number `i` of a station (Flag=5: the receiver must ack it).
fn hourly(mn: &str, i: u32) -> (String, Vec<u8>) {
    let logger = Logger {
        version: hj212::Version::V2017,
        st: "31".into(),
        pw: "123456".into(),
        mn: mn.into(),
    };
    let t = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + chrono::Duration::hours(i64::from(i));
    let data_time = t.format("%Y%m%d%H%M%S").to_string();
    let qn = format!("{}000", t.format("%Y%m%d%H%M%S"));
    let factors = vec![
        hj212::Factor::new("a21026")
            .with("Avg", format!("{}.{}", 10 + i % 20, i % 10))
            .with("Flag", "N"),
    ];
    let frame = upload(&logger, Upload::Hourly, &qn, &data_time, factors, true).to_frame();
    (data_time, frame)
}

/// Reads until a 9014 echoing `qn` arrives.
async fn await_ack(stream: &mut TcpStream, buf: &mut Vec<u8>, qn: &str) -> std::io::Result<()> {
    let needle = format!("QN={qn};ST=91;CN=9014;");
    loop {
        if let Some(i) = find(buf, needle.as_bytes()) {
            buf.drain(..i + needle.len());
            return Ok(());
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One station: sends its uploads in order, one at a time, each until acked, like a data
/// logger; after a lost connection it sends the unacked upload again.
async fn station(
    addr: String,
    mn: String,
    mut next: u32,
    acked: tokio::sync::mpsc::UnboundedSender<(String, String)>,
) -> u32 {
    let Ok(mut stream) = TcpStream::connect(&addr).await else {
        return next;
    };
    let mut buf = Vec::new();
    loop {
        let (data_time, frame) = hourly(&mn, next);
        let qn = format!("{data_time}000");
        if stream.write_all(&frame).await.is_err() {
            return next;
        }
        match tokio::time::timeout(
            Duration::from_secs(5),
            await_ack(&mut stream, &mut buf, &qn),
        )
        .await
        {
            Ok(Ok(())) => {
                let _ = acked.send((mn.clone(), data_time));
                next += 1;
            }
            _ => return next,
        }
    }
}

/// Reliability test 1: frames with Flag=5 while the receiver is SIGKILLed at random moments
/// and restarted, 20+ rounds; then every acked frame is in the archive exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_frames_survive_sigkill_exactly_once() {
    const ROUNDS: usize = 24;
    let data = data_dir("sigkill");
    let mns = register(&data, 6);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("sigkill test seed {seed}, data {}", data.display());
    let mut rng = StdRng::seed_from_u64(seed);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut next: HashMap<String, u32> = mns.iter().map(|m| (m.clone(), 0)).collect();
    let started = Instant::now();
    // Compact every second so kills also land inside compactions.
    let env = [("ECOWARDEN__INGEST__COMPACT_INTERVAL_SECS", "1")];
    for _ in 0..ROUNDS {
        let (mut child, addr) = start_receiver(&data, &env);
        let tasks: Vec<_> = mns
            .iter()
            .map(|mn| tokio::spawn(station(addr.clone(), mn.clone(), next[mn], tx.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..1500))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for (mn, t) in mns.iter().zip(tasks) {
            next.insert(mn.clone(), t.await.unwrap());
        }
    }
    drop(tx);
    let mut acked = HashSet::new();
    while let Some(a) = rx.recv().await {
        acked.insert(a);
    }
    assert!(
        acked.len() > ROUNDS * 10,
        "only {} frames acked",
        acked.len()
    );

    // Archive what the log holds, as a restarted receiver would.
    let out = ecowarden(&data)
        .args(["monitoring", "compact"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Every value row of the Parquet files, counted by its key: each exactly once.
    let mut rows: HashMap<(String, String, i64, String, String), usize> = HashMap::new();
    let archive = ecowarden_monitoring::archive::dir_in(&data);
    for (_, _, file) in ecowarden_monitoring::archive::files(&archive, None, None).unwrap() {
        let filter = ecowarden_monitoring::archive::query::Filter::default();
        for m in ecowarden_monitoring::archive::query::read_file(&file, &filter).unwrap() {
            for v in m.values {
                *rows
                    .entry((
                        m.mn.clone(),
                        m.cn.clone(),
                        m.data_time_ms,
                        v.factor.to_string(),
                        v.field.to_string(),
                    ))
                    .or_default() += 1;
            }
        }
    }
    let twice: Vec<_> = rows.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");

    // Every acked frame is there (through the export contract).
    let out = ecowarden(&data)
        .args(["monitoring", "export", "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut exported: HashMap<(String, String), usize> = HashMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = chrono::DateTime::parse_from_rfc3339(v["data_time"].as_str().unwrap()).unwrap();
        let key = (
            v["mn"].as_str().unwrap().to_owned(),
            t.format("%Y%m%d%H%M%S").to_string(),
        );
        assert_eq!(v["values"]["a21026"]["Flag"], "N");
        *exported.entry(key).or_default() += 1;
    }
    let missing: Vec<_> = acked
        .iter()
        .filter(|k| !exported.contains_key(*k))
        .collect();
    assert!(missing.is_empty(), "acked but not archived: {missing:?}");
    assert!(exported.values().all(|n| *n == 1));
    eprintln!(
        "{ROUNDS} SIGKILL rounds, {} frames acked, {} messages archived, {:.1} s",
        acked.len(),
        exported.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&data);
}

/// The registry file is imported all or nothing, re-importing it changes nothing, and every
/// change is in the audit log (on SQLite and PostgreSQL).
#[tokio::test]
async fn registry_import_is_all_or_nothing_and_audited() {
    use ecowarden_core::scope::Scope;
    use ecowarden_monitoring::registry::{self, SaveError};
    let app = crate::helpers::spawn_app().await;
    let table = |csv: &str| ecowarden_core::sheet::read_table(csv.as_bytes()).unwrap();
    let head = registry::HEADERS.join(",");
    let good = format!(
        "{head}\n\
         REGMN01,123456,福建台江测试电镀有限公司,91350103MA2YK8LQ14,350103,1号排口,电镀,32,w01018,50,mg/L,0-500,4,\n\
         REGMN01,123456,福建台江测试电镀有限公司,91350103MA2YK8LQ14,350103,1号排口,电镀,32,w21003,5,mg/L,0-50,0.025,\n"
    );
    let outlets = registry::parse_table("r.csv", &table(&good)).unwrap();
    let audit_before = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    let done = registry::save(
        &app.db,
        &app.org,
        &Scope::Province,
        "test",
        "r.csv",
        &outlets,
    )
    .await
    .unwrap();
    assert_eq!(
        (done.facilities_created, done.outlets_created, done.factors),
        (1, 1, 2)
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log").await,
        audit_before + 2
    );
    let again = registry::save(
        &app.db,
        &app.org,
        &Scope::Province,
        "test",
        "r.csv",
        &outlets,
    )
    .await
    .unwrap();
    assert_eq!(again.outlets_unchanged, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log").await,
        audit_before + 2
    );

    // A county officer of 鼓楼 may not register 台江's outlet: nothing is written.
    let mut changed = outlets.clone();
    changed[0].password = "654321".into();
    let err = registry::save(
        &app.db,
        &app.org,
        &Scope::County("350102".into()),
        "gulou",
        "r.csv",
        &changed,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SaveError::Rejected(_)));
    let stations = registry::stations(&app.db).await.unwrap();
    assert_eq!(stations["REGMN01"].password, "123456");
    assert_eq!(stations["REGMN01"].city_code, "350100");

    // The province changes the password: one update, audited without the password in clear.
    registry::save(
        &app.db,
        &app.org,
        &Scope::Province,
        "test",
        "r.csv",
        &changed,
    )
    .await
    .unwrap();
    assert_eq!(
        registry::stations(&app.db).await.unwrap()["REGMN01"].password,
        "654321"
    );
    let after: String = sqlx::query_scalar(
        "SELECT after_json FROM audit_log WHERE entity = 'outlet' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(!after.contains("654321") && after.contains("password_sha256"));
}

/// Resident memory of a process, in bytes (Linux).
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// An honest station: one upload after another, each must be acked within `deadline`.
/// Returns (acked, slowest ack); stops at the first upload not acked in time.
async fn honest(
    addr: String,
    mn: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (u32, Duration, Option<String>) {
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let mut buf = Vec::new();
    let (mut i, mut slowest) = (0, Duration::ZERO);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let (data_time, frame) = hourly(&mn, i);
        let started = Instant::now();
        stream.write_all(&frame).await.unwrap();
        let qn = format!("{data_time}000");
        match tokio::time::timeout(
            Duration::from_secs(5),
            await_ack(&mut stream, &mut buf, &qn),
        )
        .await
        {
            Ok(Ok(())) => {}
            other => return (i, slowest, Some(format!("upload {i} not acked: {other:?}"))),
        }
        slowest = slowest.max(started.elapsed());
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (i, slowest, None)
}

/// Reliability test 2: random bytes, 10 MB with no `##`, a frame that never ends, a flood of
/// sub-packet parts that never complete and 10,000 idle connections, all at once. The
/// receiver stays up with bounded memory, and an honest station on another connection keeps
/// getting every upload acked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_does_not_stop_an_honest_station() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let data = data_dir("hostile");
    let mns = register(&data, 2);
    // Each idle connection is a file in this process too.
    let files = ecowarden_monitoring::ingest::raise_open_file_limit();
    let idle_target = 10_000usize.min(files.saturating_sub(1024) as usize);
    assert!(
        idle_target >= 10_000,
        "the open-file hard limit {files} is too low for 10,000 connections"
    );
    let (mut child, addr) =
        start_receiver(&data, &[("ECOWARDEN__INGEST__FRAME_TIMEOUT_SECS", "2")]);
    let pid = child.id();
    let baseline = rss(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let station = tokio::spawn(honest(addr.clone(), mns[0].clone(), stop.clone()));
    let mut hostile = Vec::new();

    // Random bytes on a few connections.
    for seed in 0..4u64 {
        let addr = addr.clone();
        hostile.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed);
            let Ok(mut s) = TcpStream::connect(&addr).await else {
                return;
            };
            for _ in 0..64 {
                let chunk: Vec<u8> = (0..32 * 1024)
                    .map(|_| rng.random_range(0..=255u8))
                    .collect();
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }));
    }
    // 10 MB without "##": the receiver gives up on the connection after 1 MiB of garbage.
    let big = {
        let addr = addr.clone();
        tokio::spawn(async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0usize;
            while sent < 10 << 20 {
                if s.write_all(&chunk).await.is_err() {
                    return sent;
                }
                sent += chunk.len();
            }
            sent
        })
    };
    // A frame that never ends: a header, then a byte now and then.
    let endless = {
        let addr = addr.clone();
        tokio::spawn(async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            s.write_all(b"##1000QN=20240101000000000;ST=31;CN=2061;")
                .await
                .unwrap();
            let started = Instant::now();
            let mut b = [0u8; 64];
            loop {
                tokio::select! {
                    r = s.read(&mut b) => if matches!(r, Ok(0) | Err(_)) { return Some(started.elapsed()) },
                    _ = tokio::time::sleep(Duration::from_millis(300)) => {
                        if s.write_all(b"a").await.is_err() {
                            return Some(started.elapsed());
                        }
                        if started.elapsed() > Duration::from_secs(30) {
                            return None;
                        }
                    }
                }
            }
        })
    };
    // A registered logger floods parts of split uploads that never complete (PNUM=9999).
    let parts = {
        let (addr, mn) = (addr.clone(), mns[1].clone());
        tokio::spawn(async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            let (mut r, mut w) = s.split();
            let reader = async {
                let mut b = vec![0u8; 64 * 1024];
                while matches!(r.read(&mut b).await, Ok(n) if n > 0) {}
            };
            let writer = async {
                for i in 0..10_000u32 {
                    let seg = format!(
                        "QN=2024010100{:05}000;ST=31;CN=2061;PW=123456;MN={mn};Flag=7;PNUM=9999;PNO=1;CP=&&DataTime={};a21026-Avg=1.0&&",
                        i,
                        (chrono::NaiveDate::from_ymd_opt(2030, 1, 1)
                            .unwrap()
                            .and_hms_opt(0, 0, 0)
                            .unwrap()
                            + chrono::Duration::hours(i64::from(i)))
                        .format("%Y%m%d%H%M%S")
                    );
                    if w.write_all(&hj212::build::frame(seg.as_bytes()))
                        .await
                        .is_err()
                    {
                        return i;
                    }
                }
                10_000
            };
            tokio::select! {
                n = writer => n,
                _ = reader => 0,
            }
        })
    };
    // 10,000 idle connections, opened 200 at a time (the listen backlog is finite).
    let mut idle = Vec::with_capacity(idle_target);
    while idle.len() < idle_target {
        let batch: Vec<_> = (0..200.min(idle_target - idle.len()))
            .map(|_| tokio::spawn(TcpStream::connect(addr.clone())))
            .collect();
        for b in batch {
            idle.push(b.await.unwrap().expect("an idle connection"));
        }
    }
    let mut peak = rss(pid);
    // Everything at once for a few seconds more.
    for _ in 0..16 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(rss(pid));
        assert!(child.try_wait().unwrap().is_none(), "the receiver died");
    }
    for h in hostile {
        h.await.unwrap();
    }
    let big_sent = big.await.unwrap();
    let endless_closed = endless.await.unwrap();
    let parts_sent = parts.await.unwrap();
    stop.store(true, Ordering::Relaxed);
    let (acked, slowest, failure) = station.await.unwrap();
    peak = peak.max(rss(pid));
    assert!(child.try_wait().unwrap().is_none(), "the receiver died");
    // The idle connections are still open: none was refused or dropped.
    let mut b = [0u8; 1];
    let mut closed = 0;
    for s in &idle {
        if matches!(s.try_read(&mut b), Ok(0)) {
            closed += 1;
        }
    }
    drop(idle);
    child.kill().unwrap();
    child.wait().unwrap();
    eprintln!(
        "hostile: {idle_target} idle connections ({closed} closed), 10 MB stream cut after {} KiB, endless frame closed after {endless_closed:?}, {parts_sent} parts sent; receiver RSS {} MiB → peak {} MiB; honest station: {acked} uploads acked, slowest {:.0} ms",
        big_sent / 1024,
        baseline >> 20,
        peak >> 20,
        slowest.as_secs_f64() * 1000.0
    );
    assert!(failure.is_none(), "{failure:?}");
    assert!(acked > 50, "the honest station got only {acked} acks");
    assert_eq!(closed, 0, "idle connections were closed");
    assert!(
        big_sent < 10 << 20,
        "the 10 MB of garbage was read to the end"
    );
    assert!(
        endless_closed.is_some_and(|d| d < Duration::from_secs(10)),
        "the endless frame was not cut"
    );
    assert!(
        peak < 512 << 20,
        "receiver memory grew to {} MiB",
        peak >> 20
    );

    // Every bad byte is evidence, with the reason.
    let verdicts: HashMap<String, usize> = ecowarden_monitoring::evidence::Reader::open(
        &ecowarden_monitoring::evidence::dir_in(&data),
        ecowarden_monitoring::evidence::Pos::default(),
        None,
    )
    .unwrap()
    .fold(HashMap::new(), |mut m, r| {
        *m.entry(r.unwrap().1.verdict.as_str().to_owned())
            .or_default() += 1;
        m
    });
    for v in ["accepted", "bad_header", "truncated"] {
        assert!(
            verdicts.get(v).copied().unwrap_or(0) > 0,
            "no {v} record: {verdicts:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&data);
}

/// A logger's CRC variant is set by a provincial administrator only, audited, shown on the
/// outlet page and handed to the receiver with the registry.
#[tokio::test]
async fn crc_variant_is_set_by_a_provincial_admin_and_audited() {
    use ecowarden_monitoring::registry;
    let app = crate::helpers::spawn_app().await;
    let id = app.outlet_in("350103").await;
    let url = format!("{}/monitoring/outlets/{id}/crc", app.base);
    let set = async |user: &str, variant: &str| {
        let (c, csrf) = app.login(user).await;
        let r = c
            .post(&url)
            .header("X-CSRF-Token", &csrf)
            .form(&[("crc_variant", variant)])
            .send()
            .await
            .unwrap();
        (r.status(), c)
    };
    assert_eq!(set("taijiang", "modbus_swapped").await.0, 403);
    let audit_before = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    let (status, admin) = set("admin", "modbus_swapped").await;
    assert_eq!(status, 303);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'set_crc_variant'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log").await,
        audit_before + 1
    );
    let page =
        crate::helpers::get_text(&admin, format!("{}/monitoring/outlets/{id}", app.base)).await;
    assert!(
        page.contains("<dd id=\"outlet-crc\">MODBUS CRC（字节交换）</dd>"),
        "{page}"
    );
    let stations = registry::stations(&app.db).await.unwrap();
    let mn: String = sqlx::query_scalar("SELECT mn FROM outlets WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stations[&mn].crc_variant, hj212::CrcVariant::ModbusSwapped);
    assert_eq!(set("admin", "crc32").await.0, 400);
}

/// A damaged frame of a registered MN is kept in the evidence log, and its defect (kind, byte
/// offset, evidence position) is listed on the outlet page by the web server after the
/// receiver that got it was killed, and after a new receiver started on the same data.
#[tokio::test]
async fn frame_defects_outlive_the_receiver() {
    use ecowarden_monitoring::evidence::{self, Pos};
    let app = crate::helpers::spawn_app().await;
    let id = app.outlet_in("350103").await;
    let (mn, pw): (String, String) =
        sqlx::query_as("SELECT mn, password FROM outlets WHERE id = $1")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let logger = Logger {
        version: hj212::Version::V2017,
        st: "31".into(),
        pw,
        mn: mn.clone(),
    };
    let frame = |qn: &str| {
        let factors = vec![
            hj212::Factor::new("a21026")
                .with("Avg", "12.5")
                .with("Flag", "N"),
        ];
        upload(&logger, Upload::Hourly, qn, "20240101000000", factors, true).to_frame()
    };
    let mut bad = frame("20240101000000001");
    let at = bad.len() - 12; // a byte of the data area, past the MN: crc_mismatch
    bad[at] ^= 0x01;
    let good = frame("20240101000000002");
    let url_env = [("ECOWARDEN__DATABASE_URL", app.url.as_str())];
    let (mut receiver, addr) = start_receiver(&app.data, &url_env);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(&[bad.as_slice(), &good].concat())
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        await_ack(&mut stream, &mut buf, "20240101000000002"),
    )
    .await
    .expect("the good frame is acked")
    .unwrap();
    let stored = async || -> Vec<(String, i64, i64)> {
        sqlx::query_as("SELECT kind, byte_offset, evidence_pos FROM frame_defects WHERE mn = $1")
            .bind(&mn)
            .fetch_all(app.db.pool())
            .await
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored().await.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    receiver.kill().unwrap();
    receiver.wait().unwrap();
    let rows = stored().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (kind, offset, pos) = rows[0].clone();
    assert_eq!(kind, "crc_mismatch");
    // The CRC's first byte: where the codec found the frame does not add up.
    assert_eq!(offset, bad.len() as i64 - 6);
    let record = evidence::read_at(&evidence::dir_in(&app.data), Pos(pos as u64)).unwrap();
    assert_eq!(record.verdict.as_str(), "crc_mismatch");
    assert_eq!(
        record.raw, bad,
        "the evidence record holds the frame as received"
    );

    let (admin, _) = app.login("admin").await;
    let page_url = format!("{}/monitoring/outlets/{id}", app.base);
    let listed = |page: &str| {
        page.contains("<code>crc_mismatch</code>")
            && page.contains(&format!("<td class=\"num\">{offset}</td>"))
            && page.contains(&format!("<code>{}</code>", Pos(pos as u64)))
    };
    let page = crate::helpers::get_text(&admin, page_url.clone()).await;
    assert!(listed(&page), "{page}");
    let (mut restarted, _) = start_receiver(&app.data, &url_env);
    let page = crate::helpers::get_text(&admin, page_url).await;
    restarted.kill().unwrap();
    restarted.wait().unwrap();
    assert!(listed(&page), "{page}");
}

/// `ecowarden inspection compare` reads the archive a packet log was imported into: an
/// outlet whose daily average exceeded its limit on 3 days with no case is a mismatch of its
/// unit; one over on 2 days (below the threshold) and values of another factor are not.
#[tokio::test]
async fn the_comparison_counts_exceedance_days_from_the_archive() {
    let data = data_dir("compare");
    let mns = register(&data, 2);
    let logger = |mn: &str| Logger {
        version: hj212::Version::V2017,
        st: "31".into(),
        pw: "123456".into(),
        mn: mn.into(),
    };
    let mut log = Vec::new();
    for (mn, over) in [(&mns[0], [3, 9, 17]), (&mns[1], [5, 6, 0])] {
        for day in 1..=20u32 {
            let t = format!("202403{day:02}000000");
            // SO2's limit is 35: over on the listed days; an unlisted factor never counts.
            let so2 = if over.contains(&day) { "41.5" } else { "12.0" };
            let factors = vec![
                hj212::Factor::new("a21026")
                    .with("Avg", so2)
                    .with("Flag", "N"),
                hj212::Factor::new("a21002")
                    .with("Avg", "900")
                    .with("Flag", "N"),
            ];
            let qn = format!("{t}000");
            log.extend(upload(&logger(mn), Upload::Daily, &qn, &t, factors, false).to_frame());
        }
    }
    let file = data.join("march.hj212");
    std::fs::write(&file, log).unwrap();
    succeed(ecowarden(&data).args(["monitoring", "import"]).arg(&file));
    // `days`: the province's `inspection.exceedance_days` (default 3).
    let compare = |region: &str, days: &str| {
        let march = [
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-31",
            "--as-of",
            "2024-04-01",
        ];
        let out = succeed(
            ecowarden(&data)
                .args([
                    "inspection",
                    "compare",
                    "--format",
                    "jsonl",
                    "--region",
                    region,
                ])
                .args(march)
                .env("ECOWARDEN__INSPECTION__EXCEEDANCE_DAYS", days),
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let lines: Vec<serde_json::Value> = compare("350100", "3")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["rule"], "exceedances_without_case");
    assert_eq!(lines[0]["region_code"], "350102");
    assert!(lines[0]["subject"].as_str().unwrap().contains("1号排口"));
    assert!(lines[0]["evidence"].as_str().unwrap().contains("3 天"));
    // A county outside the reach sees nothing.
    assert_eq!(compare("350200", "3"), "");
    // Two days over the limit count where the province set the threshold at 2.
    assert_eq!(compare("350100", "2").lines().count(), 2);
    std::fs::remove_dir_all(&data).ok();
}
