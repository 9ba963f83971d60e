//! A deterministic, seeded generator of a plausible province-year: officers, facilities with
//! valid credit codes, cases, and demo accounts. The same seed gives the same data, so pages,
//! tests and benchmarks can name what they expect to see.

use chrono::{Datelike, Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use ecowarden_core::auth::{self, NewUser, Role};
use ecowarden_core::ids::{CaseNo, CreditCode};
use ecowarden_core::org::{self, Level, Org};
use ecowarden_core::store::{Db, Result, StoreError};
use ecowarden_ledger::calendar::Calendar;
use ecowarden_ledger::cases::vocab::{MeasureKind, ReferralKind, Tag, ThirdPartySubtype};
use ecowarden_ledger::cases::{CaseSource, Status};
use ecowarden_ledger::cooperation;

/// The password of every demo account (meets the password policy).
pub const DEMO_PASSWORD: &str = "Demo-2024!";

/// Demo accounts: (username, name, role, region).
pub const DEMO_USERS: &[(&str, &str, Role, &str)] = &[
    ("admin", "省级管理员", Role::ProvincialAdmin, "350000"),
    ("analyst", "林晓峰", Role::ProvincialAnalyst, "350000"),
    ("fz_leader", "陈建国", Role::CityLeader, "350100"),
    ("fz_officer", "黄志明", Role::CityOfficer, "350100"),
    ("gulou", "吴海燕", Role::CountyOfficer, "350102"),
    ("taijiang", "郑伟", Role::CountyOfficer, "350103"),
    ("xm_leader", "许文华", Role::CityLeader, "350200"),
    ("auditor", "王慧", Role::Auditor, "350000"),
];

/// Demo accounts that are officers' (username, certificate number): each reads their own
/// individual score sheet.
pub const DEMO_OFFICERS: &[(&str, &str)] = &[
    ("fz_officer", "闽3501000001"),
    ("gulou", "闽3501020001"),
    ("taijiang", "闽3501030001"),
];

const SURNAMES: &[&str] = &[
    "陈", "林", "黄", "张", "吴", "王", "郑", "李", "刘", "许", "杨", "蔡", "叶", "周", "徐", "何",
    "赖", "邱", "曾", "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "建华", "志强", "海燕", "文斌", "丽娟", "俊杰", "晓东", "明辉", "雪梅", "国平",
    "少峰", "婷婷", "振宇", "秋香", "荣生", "德明", "静", "宏",
];
const INDUSTRIES: &[(&str, &str)] = &[
    ("化工", "化工"),
    ("印染", "纺织印染"),
    ("电镀", "电镀"),
    ("造纸", "造纸"),
    ("火电", "火力发电"),
    ("水泥", "水泥建材"),
    ("污水处理", "污水处理"),
    ("制革", "制革"),
    ("食品", "食品加工"),
    ("陶瓷", "陶瓷"),
    ("钢铁", "钢铁"),
    ("医药", "医药制造"),
];
const WORDS: &[&str] = &[
    "恒通", "闽兴", "海峡", "宏达", "鑫源", "瑞丰", "永盛", "华联", "新宇", "东南", "金桥", "隆昌",
    "安泰", "汇丰", "三和", "兴业",
];
const VIOLATIONS: &[(&str, &str)] = &[
    (
        "超标排放大气污染物",
        "《中华人民共和国大气污染防治法》第九十九条第二项",
    ),
    (
        "超标排放水污染物",
        "《中华人民共和国水污染防治法》第八十三条第二项",
    ),
    (
        "篡改、伪造自动监测数据",
        "《中华人民共和国大气污染防治法》第九十九条第三项",
    ),
    (
        "不正常运行污染防治设施",
        "《中华人民共和国水污染防治法》第八十三条第三项",
    ),
    (
        "私设暗管排放水污染物",
        "《中华人民共和国水污染防治法》第八十三条第三项",
    ),
    (
        "未依法取得排污许可证排放污染物",
        "《排污许可管理条例》第三十三条第一项",
    ),
    (
        "非法处置危险废物",
        "《中华人民共和国固体废物污染环境防治法》第一百一十二条第一款第四项",
    ),
    (
        "未按规定贮存危险废物",
        "《中华人民共和国固体废物污染环境防治法》第一百一十二条第一款第六项",
    ),
    (
        "建设项目未批先建",
        "《中华人民共和国环境影响评价法》第三十一条第一款",
    ),
    ("未验先投", "《建设项目环境保护管理条例》第二十三条第一款"),
    (
        "无组织排放未采取防控措施",
        "《中华人民共和国大气污染防治法》第一百零八条",
    ),
    ("噪声超标排放", "《中华人民共和国噪声污染防治法》第七十五条"),
];

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

fn person(rng: &mut StdRng) -> String {
    format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN))
}

/// A valid credit code for an enterprise registered in `region`.
fn credit_code(rng: &mut StdRng, region: &str) -> CreditCode {
    CreditCode::generate(region, |n| rng.random_range(0..n))
}

/// What the generator made.
#[derive(Debug, Default)]
pub struct Seeded {
    pub officers: usize,
    pub facilities: usize,
    pub cases: usize,
    pub users: usize,
}

/// Seeds an empty store: organisation, accounts, officers, facilities and `cases` cases in
/// `year`. Does nothing (returns `None`) if the store already has facilities.
pub async fn seed(db: &Db, cases: usize, year: i32, seed: u64) -> Result<Option<Seeded>> {
    org::seed(db).await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM facilities")
        .fetch_one(db.pool())
        .await?;
    if n > 0 {
        return Ok(None);
    }
    let org = Org::load(db).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Seeded::default();

    for (username, name, role, region) in DEMO_USERS {
        let u = NewUser {
            username: (*username).into(),
            display_name: (*name).into(),
            password: DEMO_PASSWORD.into(),
            role: *role,
            region_code: (*region).into(),
        };
        match auth::create_user(db, &org, "system:demo", &u).await {
            Ok(_) => out.users += 1,
            Err(auth::AccountError::Store(e)) => return Err(e),
            Err(e) => panic!("demo user {username}: {e}"),
        }
    }

    let units = org::units(db).await?;
    let mut w = db.write().await?;
    for u in &units {
        let n = match u.kind.as_str() {
            "corps" => 24,
            "detachment" => 16,
            _ => 8,
        };
        for i in 0..n {
            // Certificates issued before the demo's years and valid through them.
            sqlx::query("INSERT INTO officers (name, unit_id, certificate_no, region_code, city_code, certified_on, certificate_expires_on) \
                         VALUES ($1,$2,$3,$4,$5,'2019-01-01','2029-12-31')")
                .bind(person(&mut rng))
                .bind(u.id)
                .bind(format!("闽{}{:04}", u.region_code, i + 1))
                .bind(&u.region_code)
                .bind(&u.city_code)
                .execute(&mut *w.tx)
                .await?;
            out.officers += 1;
        }
    }

    // Facilities: about 40 per county unit, more in the big industrial cities.
    let counties: Vec<_> = org
        .all()
        .filter(|r| r.level == Level::County || r.code == org::PINGTAN)
        .cloned()
        .collect();
    let mut facilities: Vec<(i64, String, String)> = Vec::new();
    let mut used = std::collections::HashSet::new();
    for r in &counties {
        let n = if ["350500", "350100", "350200"].contains(&r.city_code.as_str()) {
            55
        } else {
            35
        };
        for _ in 0..n {
            let (short, industry) = *pick(&mut rng, INDUSTRIES);
            let place = r.name.trim_end_matches(['区', '县', '市']);
            let name = format!("福建{}{}{}有限公司", place, pick(&mut rng, WORDS), short);
            if !used.insert(name.clone()) {
                continue;
            }
            let code = credit_code(&mut rng, &r.code);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO facilities (name, credit_code, region_code, city_code, industry, address) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id",
            )
            .bind(&name)
            .bind(code.as_str())
            .bind(&r.code)
            .bind(&r.city_code)
            .bind(industry)
            .bind(format!("福建省{}{}工业园区{}号", org.name(&r.city_code), r.name, rng.random_range(1..300)))
            .fetch_one(&mut *w.tx)
            .await
            .map_err(StoreError::from)?;
            facilities.push((id, r.code.clone(), r.city_code.clone()));
        }
    }
    out.facilities = facilities.len();
    w.commit().await?;
    for (username, cert) in DEMO_OFFICERS {
        let user = auth::find_by_username(db, username)
            .await?
            .expect("a demo account");
        match auth::link_officer(db, &org, "system:demo", user.id, cert).await {
            Ok(()) => {}
            Err(auth::AccountError::Store(e)) => return Err(e),
            Err(e) => panic!("demo officer {username}: {e}"),
        }
    }

    out.cases = insert_cases(db, &units, &facilities, cases, year, &mut rng).await?;
    seed_ledger(db, &org, year, &mut rng).await?;
    match ecowarden_monitoring::simulate::seed_registry(db, &org, seed).await {
        Ok(_) => {}
        Err(ecowarden_monitoring::registry::SaveError::Store(e)) => return Err(e),
        Err(e) => panic!("demo registry: {e}"),
    }
    Ok(Some(out))
}

/// Inserts generated cases in batches (multi-row INSERTs in one transaction per 20,000).
async fn insert_cases(
    db: &Db,
    units: &[org::Unit],
    facilities: &[(i64, String, String)],
    count: usize,
    year: i32,
    rng: &mut StdRng,
) -> Result<usize> {
    use std::collections::HashMap;
    let unit_of: HashMap<&str, &org::Unit> =
        units.iter().map(|u| (u.region_code.as_str(), u)).collect();
    let mut serial: HashMap<i64, u32> = HashMap::new();
    let start = NaiveDate::from_ymd_opt(year, 1, 1).expect("year");
    let now = ecowarden_core::clock::now_rfc3339();
    let cal = Calendar::builtin();
    // The first cases go one to each county (of the facilities' regions), so every unit has
    // cases however small the ledger; the rest fall where the facilities are.
    let mut regions: Vec<&str> = facilities.iter().map(|f| f.1.as_str()).collect();
    regions.sort_unstable();
    regions.dedup();
    let mut first_of_region = regions.into_iter();
    // 100 rows of 30 values: sqlx-sqlite binds by name, so a statement costs the square of its
    // parameters; about 3,000 keeps that small.
    const ROWS: usize = 100;
    let mut done = 0;
    while done < count {
        let mut w = db.write().await?;
        let end = (done + 20_000).min(count);
        while done < end {
            let n = ROWS.min(end - done);
            let mut rows: Vec<Vec<Param>> = Vec::with_capacity(n);
            for _ in 0..n {
                let seeded = first_of_region.next();
                let (fid, region, city) = match seeded {
                    Some(r) => {
                        let own: Vec<_> = facilities.iter().filter(|f| f.1 == r).collect();
                        (*pick(rng, &own)).clone()
                    }
                    None => pick(rng, facilities).clone(),
                };
                // Most cases are the county brigade's; a fifth the city detachment's, a few the corps'.
                let unit = match (seeded, rng.random_range(0..100)) {
                    (Some(_), _) => unit_of[region.as_str()],
                    (None, 0..=2) => unit_of["350000"],
                    (None, 3..=22) => unit_of[city.as_str()],
                    _ => unit_of[region.as_str()],
                };
                let s = serial.entry(unit.id).or_insert(0);
                *s += 1;
                let case_no = CaseNo::new(&unit.case_prefix, year, *s);
                let day = rng.random_range(0..365);
                let discovered = start + Duration::days(day);
                // Filed within the year, so a year's statistics hold every case of it.
                let year_end = NaiveDate::from_ymd_opt(year, 12, 31).expect("year");
                let filed = (discovered + Duration::days(rng.random_range(1..15))).min(year_end);
                let l = lifecycle(rng, &cal, filed);
                let (violation, basis) = *pick(rng, VIOLATIONS);
                let source = match rng.random_range(0..100) {
                    0..=54 => CaseSource::Inspection,
                    55..=72 => CaseSource::Complaint,
                    73..=84 => CaseSource::OffSiteScreening,
                    85..=93 => CaseSource::Transfer,
                    _ => CaseSource::Assignment,
                };
                let fine = if l.decided.is_some() && rng.random_bool(0.92) {
                    // Log-uniform between 1万 and 200万 yuan, rounded to 100 yuan.
                    let yuan = 10f64.powf(rng.random_range(4.0..6.3));
                    ((yuan / 100.0).round() as i64) * 100 * 100
                } else {
                    0
                };
                let ended = discovered - Duration::days(rng.random_range(0..60));
                let decided_text = l.decided.map(|_| case_no.to_string()).unwrap_or_default();
                let kinds = match (l.decided, fine) {
                    (None, _) => "",
                    (Some(_), 0) => "warning",
                    _ => "fine",
                };
                // A fined case is closed once paid; one being enforced was sent to court.
                let paid = l.closed.and(l.served).filter(|_| fine > 0).map(|s| {
                    let p = s + Duration::days(rng.random_range(1..15));
                    p.min(l.closed.expect("closed"))
                });
                let date = |d: Option<NaiveDate>| Param::Date(d);
                rows.push(vec![
                    Param::Text(case_no.to_string()),
                    Param::Int(unit.id),
                    Param::Text(unit.region_code.clone()),
                    Param::Text(unit.city_code.clone()),
                    Param::Int(fid),
                    Param::Text(source.as_str().into()),
                    Param::Text(l.status.as_str().into()),
                    Param::Text(violation.into()),
                    Param::Text(basis.into()),
                    date(Some(discovered)),
                    date(Some(filed)),
                    date(l.decided),
                    date(l.closed),
                    Param::Int(fine),
                    Param::Int(discovered.year() as i64),
                    date(l.investigation),
                    date(l.notice),
                    date(l.hearing_requested),
                    date(l.hearing_notice),
                    date(l.hearing_held),
                    date(l.served),
                    date(paid),
                    date(Some(ended)),
                    date(l.decided.map(|d| d - Duration::days(3))),
                    date(l.decided.map(|d| d - Duration::days(2))),
                    Param::Text(decided_text),
                    Param::Text(
                        if l.served.is_some() {
                            "直接送达"
                        } else {
                            ""
                        }
                        .into(),
                    ),
                    date(l.decided.map(|d| cal.working_deadline(d, 3))),
                    date(l.enforcement),
                    Param::Text(kinds.into()),
                ]);
            }
            let width = rows[0].len();
            // The values of a row, then one shared placeholder for created_at = updated_at.
            let mut sql = String::from(
                "INSERT INTO cases (case_no, unit_id, region_code, city_code, facility_id, source, status, violation, \
                 legal_basis, discovered_on, filed_on, decided_on, closed_on, fine_fen, year, investigation_on, \
                 prior_notice_on, hearing_requested_on, hearing_notice_on, hearing_held_on, served_on, paid_on, \
                 violation_ended_on, legal_review_on, collective_discussion_on, decision_no, service_method, \
                 disclosed_on, enforcement_applied_on, penalty_kinds, created_at, updated_at) VALUES ",
            );
            let shared = rows.len() * width + 1;
            for r in 0..rows.len() {
                let ph: Vec<String> = (1..=width).map(|k| format!("${}", r * width + k)).collect();
                sql.push_str(&format!(
                    "{}({},${shared},${shared})",
                    if r > 0 { "," } else { "" },
                    ph.join(","),
                ));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for p in rows.into_iter().flatten() {
                q = match p {
                    Param::Int(i) => q.bind(i),
                    Param::Text(t) => q.bind(t),
                    Param::Date(d) => q.bind(d.map(|d| d.to_string())),
                };
            }
            q.bind(now.clone()).execute(&mut *w.tx).await?;
            done += n;
        }
        w.commit().await?;
    }
    Ok(count)
}

/// A value of a generated row.
enum Param {
    Int(i64),
    Text(String),
    Date(Option<NaiveDate>),
}

/// A case's stage and the dates of the steps it has taken, every one in time: filed within
/// 15 days of discovery; decided after the five working days in which the party may ask for
/// a hearing, well inside 90 days; served within 7 working days; a requested hearing notified
/// 7 working days ahead and held before the decision.
struct Lifecycle {
    status: Status,
    investigation: Option<NaiveDate>,
    notice: Option<NaiveDate>,
    hearing_requested: Option<NaiveDate>,
    hearing_notice: Option<NaiveDate>,
    hearing_held: Option<NaiveDate>,
    decided: Option<NaiveDate>,
    served: Option<NaiveDate>,
    enforcement: Option<NaiveDate>,
    closed: Option<NaiveDate>,
}

fn lifecycle(rng: &mut StdRng, cal: &Calendar, filed: NaiveDate) -> Lifecycle {
    let roll = rng.random_range(0..100);
    let investigation = filed + Duration::days(rng.random_range(1..10));
    let notice = investigation + Duration::days(rng.random_range(10..35));
    // One decided case in twenty went through a hearing the party asked for.
    let heard = rng.random_range(0..20) == 0;
    let requested = notice + Duration::days(2);
    let hearing_notice = requested + Duration::days(2);
    let held = cal.working_deadline(hearing_notice, 7) + Duration::days(1);
    let decided = if heard {
        held
    } else {
        cal.working_deadline(notice, 5)
    } + Duration::days(rng.random_range(1..12));
    let served = cal.working_deadline(decided, rng.random_range(0..5));
    let closed = served + Duration::days(rng.random_range(15..60));
    let status = match roll {
        0..=7 => Status::Filed,
        8..=15 => Status::Investigation,
        16..=20 => Status::PriorNotice,
        21..=22 => Status::Hearing,
        23..=27 => Status::Decided,
        28..=31 => Status::Served,
        32..=37 => Status::Enforcement,
        38..=39 => Status::Suspended,
        40 => Status::Withdrawn,
        _ => Status::Closed,
    };
    let reached = |s: Status| -> bool {
        use Status::*;
        let order = [
            Filed,
            Investigation,
            PriorNotice,
            Hearing,
            Decided,
            Served,
            Enforcement,
            Closed,
        ];
        let at = |x: Status| order.iter().position(|o| *o == x);
        matches!((at(status), at(s)), (Some(a), Some(b)) if a >= b)
    };
    let decided_stage = reached(Status::Decided);
    Lifecycle {
        status,
        investigation: reached(Status::Investigation).then_some(investigation),
        notice: reached(Status::PriorNotice).then_some(notice),
        hearing_requested: (status == Status::Hearing || (heard && decided_stage))
            .then_some(requested),
        hearing_notice: (status == Status::Hearing || (heard && decided_stage))
            .then_some(hearing_notice),
        hearing_held: (heard && decided_stage).then_some(held),
        decided: decided_stage.then_some(decided),
        served: reached(Status::Served).then_some(served),
        enforcement: (status == Status::Enforcement).then(|| served + Duration::days(20)),
        closed: (status == Status::Closed).then_some(closed),
    }
}

/// The article's year in Fujian, scaled to the generated ledger: campaign tags, supporting
/// measures, referrals with their outcomes, third-party providers, task forces, typical-case
/// batches and work between departments. With the default 3,600 cases the figures are those
/// the article reports (清水蓝天 831 cases, third-party fraud 152 cases and 963万元, …).
async fn seed_ledger(db: &Db, org: &Org, year: i32, rng: &mut StdRng) -> Result<()> {
    #[derive(sqlx::FromRow, Clone)]
    struct C {
        id: i64,
        filed_on: String,
        decided_on: Option<String>,
        region_code: String,
        city_code: String,
        fine_fen: i64,
    }
    let all: Vec<C> = sqlx::query_as("SELECT id, filed_on, decided_on, region_code, city_code, fine_fen FROM cases WHERE year = $1 ORDER BY id")
        .bind(year as i64)
        .fetch_all(db.pool())
        .await?;
    // Small ledgers (tests) get proportionally fewer of everything.
    let scale = (all.len() as f64 / 3600.0).min(1.0);
    let n = |x: usize| ((x as f64 * scale).round() as usize).max(1);
    // Campaign cases are drawn from those decided within the year and filed early enough
    // that their measures and referrals (up to 19 days after filing) fall in it too: the
    // statistics count each decision by its own date.
    let last_decision = format!("{year}-12-31");
    let last_filing = format!("{year}-12-05");
    let mut decided: Vec<C> = all
        .iter()
        .filter(|c| {
            c.decided_on
                .as_deref()
                .is_some_and(|d| d <= last_decision.as_str())
                && c.filed_on.as_str() <= last_filing.as_str()
        })
        .cloned()
        .collect();
    let mut open: Vec<C> = all
        .iter()
        .filter(|c| c.decided_on.is_none())
        .cloned()
        .collect();
    shuffle(&mut decided, rng);
    shuffle(&mut open, rng);
    let mut take_decided =
        |k: usize| -> Vec<C> { decided.split_off(decided.len().saturating_sub(k)) };
    let after = |d: &str, days: i64| -> String {
        (NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("iso date") + Duration::days(days))
            .to_string()
    };

    let mut w = db.write().await?;
    let tag = |id: i64, t: Tag| {
        sqlx::query("INSERT INTO case_tags (case_id, tag) VALUES ($1,$2)")
            .bind(id)
            .bind(t.as_str())
    };
    // A measure in time: a seizure released within 30 days, a restriction of two months, a
    // daily penalty decided after the re-inspection that found the violation going on, 12
    // days at the case's fine a day (按日连续处罚办法 Arts 17, 19).
    let measure = |c: &C, kind: MeasureKind, days_after_filing: i64| {
        let on = after(&c.filed_on, days_after_filing);
        let (decided_on, extra) = match kind {
            MeasureKind::SealAndSeize => (on.clone(), after(&on, 20)),
            MeasureKind::ProductionRestriction => (on.clone(), after(&on, 60)),
            MeasureKind::DailyPenalty => (after(&on, 15), after(&on, 13)),
        };
        sqlx::query(
            "INSERT INTO measures (case_id, kind, decided_on, items, restriction, days, amount_fen, \
             released_on, end_on, correction_served_on, reinspection_on) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        )
        .bind(c.id)
        .bind(kind.as_str())
        .bind(decided_on)
        .bind(if kind == MeasureKind::SealAndSeize { "生产设备2台、危险废物暂存桶若干" } else { "" })
        .bind(if kind == MeasureKind::ProductionRestriction { Some("restriction") } else { None })
        .bind(if kind == MeasureKind::DailyPenalty { Some(12i64) } else { None })
        .bind(if kind == MeasureKind::DailyPenalty { c.fine_fen * 12 } else { 0 })
        .bind((kind == MeasureKind::SealAndSeize).then(|| extra.clone()))
        .bind((kind == MeasureKind::ProductionRestriction).then(|| extra.clone()))
        .bind((kind == MeasureKind::DailyPenalty).then(|| on.clone()))
        .bind((kind == MeasureKind::DailyPenalty).then_some(extra))
    };
    let referral = |id: i64, kind: ReferralKind, on: String, persons: [i64; 5]| {
        sqlx::query(
            "INSERT INTO referrals (case_id, kind, agency, referred_on, accepted_on, persons_detained, arrest_review_persons, \
             arrest_approved_persons, prosecution_persons, guilty_plea_persons, report_on, approved_on) \
             VALUES ($1,$2,$3,$4,$4,$5,$6,$7,$8,$9,$10,$11)",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(match kind {
            ReferralKind::MarketRegulator => "市场监督管理局",
            _ => "公安局",
        })
        .bind(on.clone())
        .bind(persons[0])
        .bind(persons[1])
        .bind(persons[2])
        .bind(persons[3])
        .bind(persons[4])
        // A criminal referral: the case group's report two days before, the head's approval
        // the day before (国务院令310 Art 5).
        .bind((kind == ReferralKind::Criminal).then(|| after(&on, -2)))
        .bind((kind == ReferralKind::Criminal).then(|| after(&on, -1)))
    };

    // 清水蓝天: 831 cases, 734 of them with a penalty decision; 48 seal and seize, 4
    // production restrictions, 36 detention and 9 criminal referrals.
    let cw_decided = take_decided(n(734));
    let cw_open: Vec<C> = open.split_off(open.len().saturating_sub(n(97)));
    let cw: Vec<&C> = cw_decided.iter().chain(cw_open.iter()).collect();
    for c in &cw {
        tag(c.id, Tag::ClearWaterBlueSky)
            .execute(&mut *w.tx)
            .await?;
    }
    let [seal, restrict, detain, crime] = consecutive([n(48), n(4), n(36), n(9)]);
    for (i, c) in cw.iter().enumerate() {
        if seal.contains(&i) {
            measure(c, MeasureKind::SealAndSeize, 3)
                .execute(&mut *w.tx)
                .await?;
        }
        if restrict.contains(&i) {
            measure(c, MeasureKind::ProductionRestriction, 3)
                .execute(&mut *w.tx)
                .await?;
        }
        if detain.contains(&i) {
            referral(
                c.id,
                ReferralKind::Detention,
                after(&c.filed_on, 5),
                [1, 0, 0, 0, 0],
            )
            .execute(&mut *w.tx)
            .await?;
        }
        if crime.contains(&i) {
            referral(
                c.id,
                ReferralKind::Criminal,
                after(&c.filed_on, 10),
                [0, 0, 0, 0, 0],
            )
            .execute(&mut *w.tx)
            .await?;
        }
    }
    // Measures outside the campaign.
    for c in take_decided(n(40)) {
        let kind = *pick(rng, MeasureKind::ALL);
        measure(&c, kind, 4).execute(&mut *w.tx).await?;
    }

    // Third-party providers and their fraud: 152 cases, 963万元, by sub-type 44/12/35/11/3 (+47 other).
    let mut providers = Vec::new();
    for i in 0..24 {
        let city = org.cities().nth(i % 10).expect("10 cities").clone();
        let (kind, word) = match i % 4 {
            0 => (ThirdPartySubtype::Testing, "检测技术"),
            1 => (ThirdPartySubtype::AutomaticMonitoring, "环境监测运维"),
            2 => (ThirdPartySubtype::VehicleEmissionTesting, "机动车检测"),
            _ => (ThirdPartySubtype::Eia, "环境科技咨询"),
        };
        let name = format!(
            "福建{}{}{}有限公司",
            city.name.trim_end_matches('市'),
            pick(rng, WORDS),
            word
        );
        let code = credit_code(rng, &city.code);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO third_parties (name, credit_code, service_types, region_code, city_code) VALUES ($1,$2,$3,$4,$5) RETURNING id",
        )
        .bind(name)
        .bind(code.as_str())
        .bind(kind.as_str())
        .bind(&city.code)
        .bind(&city.city_code)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(StoreError::from)?;
        providers.push(id);
    }
    let subtypes = [
        (ThirdPartySubtype::Testing, n(44)),
        (ThirdPartySubtype::AutomaticMonitoring, n(12)),
        (ThirdPartySubtype::VehicleEmissionTesting, n(35)),
        (ThirdPartySubtype::CompletionAcceptance, n(11)),
        (ThirdPartySubtype::Eia, n(3)),
        (ThirdPartySubtype::Other, n(47)),
    ];
    let tp_cases = take_decided(subtypes.iter().map(|s| s.1).sum());
    let total_fine = (9_630_000.0 * scale).round() as i64 * 100;
    let weights: Vec<f64> = tp_cases
        .iter()
        .map(|_| rng.random_range(0.3..3.0))
        .collect();
    let wsum: f64 = weights.iter().sum();
    let mut fines: Vec<i64> = weights
        .iter()
        .map(|x| ((x / wsum * total_fine as f64) / 10_000.0).floor() as i64 * 10_000)
        .collect();
    // What flooring left over goes to the first case (a ledger too small for any has none).
    let rest = total_fine - fines.iter().sum::<i64>();
    if let Some(first) = fines.first_mut() {
        *first += rest;
    }
    let mut it = tp_cases.iter().zip(fines);
    for (subtype, count) in subtypes {
        for (c, fine) in it.by_ref().take(count) {
            tag(c.id, Tag::ThirdPartyFraud).execute(&mut *w.tx).await?;
            sqlx::query(
                "UPDATE cases SET third_party_id = $1, third_party_subtype = $2, fine_fen = $3, penalty_kinds = 'fine', \
                 paid_on = CASE WHEN status = 'closed' THEN COALESCE(paid_on, served_on) ELSE paid_on END WHERE id = $4",
            )
                .bind(*pick(rng, &providers))
                .bind(subtype.as_str())
                .bind(fine)
                .bind(c.id)
                .execute(&mut *w.tx)
                .await?;
        }
    }
    // Referrals: 43 to market regulators, 2 for detention, 21 criminal; the procuratorate's
    // outcomes: arrest reviewed 2 cases / 2 persons, approved 1/1, prosecution 2/4, plea 1/3.
    let [market, detain, crime] = consecutive([n(43), n(2), n(21)]);
    for (i, c) in tp_cases.iter().enumerate() {
        let on = after(&c.filed_on, 7);
        if market.contains(&i) {
            referral(c.id, ReferralKind::MarketRegulator, on.clone(), [0; 5])
                .execute(&mut *w.tx)
                .await?;
        }
        if detain.contains(&i) {
            referral(c.id, ReferralKind::Detention, on.clone(), [1, 0, 0, 0, 0])
                .execute(&mut *w.tx)
                .await?;
        }
        if crime.contains(&i) {
            let outcome = match i - crime.start {
                0 => [0, 1, 1, 3, 3],
                1 => [0, 1, 0, 1, 0],
                _ => [0; 5],
            };
            referral(c.id, ReferralKind::Criminal, on, outcome)
                .execute(&mut *w.tx)
                .await?;
        }
    }

    // 两打: 8 task forces (5 automatic-monitoring fraud, 3 hazardous waste), each referred to
    // the police; more tagged cases handled without a task force.
    let corps = org.province().code.clone();
    for (i, theme) in std::iter::repeat_n(Tag::MonitoringFraud, 5)
        .chain(std::iter::repeat_n(Tag::HazardousWaste, 3))
        .enumerate()
    {
        // A small ledger runs out of decided cases: fewer task forces.
        let Some(c) = take_decided(1).pop() else {
            break;
        };
        let c = &c;
        let force = cooperation::NewTaskForce {
            name: format!("{}专案组（{}号）", theme.label(), i + 1),
            theme,
            leader: "分管副厅长".into(),
            region_code: corps.clone(),
            city_code: corps.clone(),
            established_on: c.filed_on.clone(),
            outcome: "已移送司法机关，成功破案".into(),
        };
        cooperation::record_task_force(&mut w.tx, &force, &[c.id]).await?;
        tag(c.id, theme).execute(&mut *w.tx).await?;
        referral(
            c.id,
            ReferralKind::Criminal,
            after(&c.filed_on, 12),
            [0, 3, 3, 3, 2],
        )
        .execute(&mut *w.tx)
        .await?;
    }
    for (theme, k) in [(Tag::HazardousWaste, n(60)), (Tag::MonitoringFraud, n(40))] {
        for c in take_decided(k) {
            tag(c.id, theme).execute(&mut *w.tx).await?;
        }
    }
    // 划转职能: 9 cases with natural resources, forestry and other departments.
    let td = take_decided(n(9));
    for c in &td {
        tag(c.id, Tag::TransferredDuties)
            .execute(&mut *w.tx)
            .await?;
    }

    // Typical-case batches: 6 batches / 36 cases of third-party fraud; 4 of transferred duties.
    let mut batch =
        async |title: String, theme: Tag, published: String, cases: &[&C]| -> Result<()> {
            let b = cooperation::NewTypicalBatch {
                title,
                theme,
                region_code: corps.clone(),
                city_code: corps.clone(),
                published_on: published,
            };
            let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
            cooperation::record_typical_batch(&mut w.tx, &b, &ids).await?;
            Ok(())
        };
    let tp_refs: Vec<&C> = tp_cases.iter().collect();
    for (i, chunk) in tp_refs.chunks(6).take(n(6)).enumerate() {
        batch(
            format!("第三方环保服务机构弄虚作假典型案例（第{}批）", i + 1),
            Tag::ThirdPartyFraud,
            format!("{year}-{:02}-15", 2 * i + 1),
            chunk,
        )
        .await?;
    }
    let td_refs: Vec<&C> = td.iter().take(n(4)).collect();
    batch(
        "划转职能领域典型案例".into(),
        Tag::TransferredDuties,
        format!("{year}-12-20"),
        &td_refs,
    )
    .await?;

    // Work between departments.
    for (i, c) in all.iter().step_by(120).enumerate() {
        let (direction, dept) = [
            ("out", "公安机关"),
            ("in", "自然资源部门"),
            ("in", "林业部门"),
            ("out", "市场监督管理部门"),
            ("in", "水利部门"),
        ][i % 5];
        let transfer = cooperation::LeadTransfer {
            direction: direction.into(),
            department: dept.into(),
            region_code: c.region_code.clone(),
            city_code: c.city_code.clone(),
            transferred_on: c.filed_on.clone(),
            summary: if direction == "out" {
                "涉嫌违法线索移送"
            } else {
                "移送来的违法线索"
            }
            .into(),
            case_id: (direction == "in").then_some(c.id),
            feedback_on: (i % 3 != 0).then(|| after(&c.filed_on, 20)),
            feedback: if i % 3 != 0 {
                "已立案查处并反馈"
            } else {
                ""
            }
            .into(),
        };
        cooperation::record_lead_transfer(&mut w.tx, &transfer).await?;
    }
    for (i, c) in all.iter().skip(7).step_by(150).enumerate() {
        let listed = cooperation::NewListedSupervision {
            case_id: c.id,
            level: if i % 3 == 0 { "province" } else { "city" }.into(),
            joint_with: if i % 4 == 0 { "省公安厅" } else { "" }.into(),
            listed_on: after(&c.filed_on, 2),
            deadline: after(&c.filed_on, 92),
            closed_on: (i % 2 == 0).then(|| after(&c.filed_on, 80)),
        };
        cooperation::record_listed_supervision(&mut w.tx, &listed).await?;
    }
    let cities: Vec<_> = org.cities().map(|c| c.code.clone()).collect();
    for i in 0..12 {
        let (from, to) = (&cities[i % cities.len()], &cities[(i + 3) % cities.len()]);
        let x = cooperation::CrossEnforcement {
            name: format!("“清水蓝天”交叉执法第{}组", i + 1),
            inspector_region: from.clone(),
            target_region: to.clone(),
            target_city: to.clone(),
            starts_on: format!("{year}-{:02}-10", 4 + i % 6),
            ends_on: format!("{year}-{:02}-24", 4 + i % 6),
            officers: 6 + (i % 3) as i64,
            problems_found: rng.random_range(5..30i64),
        };
        cooperation::record_cross_enforcement(&mut w.tx, &x).await?;
    }

    // Two certified officers on every case: units' officers have consecutive ids.
    for (offset, lead) in [(0, 1), (4, 0)] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO case_officers (case_id, officer_id, lead) \
             SELECT c.id, (SELECT MIN(o.id) FROM officers o WHERE o.unit_id = c.unit_id) + (c.id % 4) + {offset}, {lead} FROM cases c"
        )))
        .execute(&mut *w.tx)
        .await?;
    }
    file_documents(&mut w.tx).await?;
    plant_defects(&mut w.tx).await?;
    w.commit().await
}

/// The documents each step leaves in the file (the MEE 2016 templates, as metadata: number,
/// title, the date signed), written set by set.
async fn file_documents(conn: &mut sqlx::AnyConnection) -> Result<()> {
    const CASE_DOCS: [(i64, &str, &str, &str); 7] = [
        (1, "立案审批表", "filed_on", "c.filed_on IS NOT NULL"),
        (
            12,
            "行政处罚事先（听证）告知书",
            "prior_notice_on",
            "c.prior_notice_on IS NOT NULL",
        ),
        (
            13,
            "听证通知书",
            "hearing_notice_on",
            "c.hearing_held_on IS NOT NULL",
        ),
        (
            14,
            "听证笔录",
            "hearing_held_on",
            "c.hearing_held_on IS NOT NULL",
        ),
        (
            17,
            "行政处罚决定书",
            "decided_on",
            "c.decided_on IS NOT NULL",
        ),
        (18, "送达回证", "served_on", "c.served_on IS NOT NULL"),
        (20, "结案审批表", "closed_on", "c.status = 'closed'"),
    ];
    const MEASURE_DOCS: [(i64, &str, &str, &str); 4] = [
        (23, "查封（扣押）决定书", "decided_on", "seal_and_seize"),
        (24, "查封扣押清单", "decided_on", "seal_and_seize"),
        (
            10,
            "责令改正违法行为决定书",
            "correction_served_on",
            "daily_penalty",
        ),
        (22, "按日连续处罚决定书", "decided_on", "daily_penalty"),
    ];
    let now = ecowarden_core::clock::now_rfc3339();
    for (n, title, signed, cond) in CASE_DOCS {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO case_documents (case_id, doc_type, title, file_name, sha256, size, signed_on, uploaded_at, uploaded_by) \
             SELECT c.id, {n}, '{title}', '', '', 0, c.{signed}, $1, 'system:demo' FROM cases c WHERE {cond}"
        )))
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    for (n, title, signed, kind) in MEASURE_DOCS {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO case_documents (case_id, doc_type, title, file_name, sha256, size, signed_on, uploaded_at, uploaded_by) \
             SELECT m.case_id, {n}, '{title}', '', '', 0, m.{signed}, $1, 'system:demo' FROM measures m WHERE m.kind = '{kind}'"
        )))
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The demo's deliberate defects, so the legal checks have something to find: every 50th
/// closed case (by id, among those without a hearing) breaks one rule, in turn C1 (filed 25
/// days after discovery), C2 (discovered three years after the violation ended), C4 (one
/// certified officer), C5 (decided without a prior notice) and C7 (served 12 working days
/// after the decision). Everything else in the demo passes every check.
pub const PLANTED: [(&str, &str); 5] = [
    ("C1", "立案晚于发现后15日"),
    ("C2", "违法行为终了3年后才发现"),
    ("C4", "仅一名持证执法人员"),
    ("C5", "未经事先告知即作出决定"),
    ("C7", "决定作出12个工作日后才送达"),
];

async fn plant_defects(conn: &mut sqlx::AnyConnection) -> Result<()> {
    #[derive(sqlx::FromRow)]
    struct Closed {
        id: i64,
        discovered_on: String,
        filed_on: String,
        decided_on: Option<String>,
        paid_on: Option<String>,
        closed_on: String,
    }
    let closed: Vec<Closed> = sqlx::query_as(
        "SELECT id, discovered_on, filed_on, decided_on, paid_on, closed_on FROM cases \
         WHERE status = 'closed' AND hearing_held_on IS NULL AND decided_on IS NOT NULL ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let cal = Calendar::builtin();
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("iso date");
    for (i, c) in closed.iter().step_by(50).enumerate() {
        let (found, filed) = (date(&c.discovered_on), date(&c.filed_on));
        let year_start = NaiveDate::from_ymd_opt(filed.year(), 1, 1).expect("year");
        let q = match PLANTED[i % PLANTED.len()].0 {
            "C1" => sqlx::query("UPDATE cases SET discovered_on = $2 WHERE id = $1")
                .bind(c.id)
                .bind((filed - Duration::days(25)).max(year_start).to_string()),
            "C2" => sqlx::query("UPDATE cases SET violation_ended_on = $2 WHERE id = $1")
                .bind(c.id)
                .bind((found - Duration::days(3 * 365 + 1)).to_string()),
            "C4" => {
                sqlx::query("DELETE FROM case_officers WHERE case_id = $1 AND lead = 0").bind(c.id)
            }
            "C5" => sqlx::query("UPDATE cases SET prior_notice_on = NULL WHERE id = $1").bind(c.id),
            _ => {
                let decided = date(c.decided_on.as_deref().expect("decided"));
                let served = cal.working_deadline(decided, 12);
                let paid = c.paid_on.as_ref().map(|_| served + Duration::days(2));
                let closed_on = date(&c.closed_on).max(served + Duration::days(5));
                sqlx::query(
                    "UPDATE cases SET served_on = $2, paid_on = $3, closed_on = $4 WHERE id = $1",
                )
                .bind(c.id)
                .bind(served.to_string())
                .bind(paid.map(|p| p.to_string()))
                .bind(closed_on.to_string())
            }
        };
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Back-to-back index ranges of the given lengths: disjoint subsets of one shuffled list.
fn consecutive<const N: usize>(lens: [usize; N]) -> [std::ops::Range<usize>; N] {
    let mut start = 0;
    lens.map(|l| {
        let r = start..start + l;
        start += l;
        r
    })
}

fn shuffle<T>(xs: &mut [T], rng: &mut StdRng) {
    for i in (1..xs.len()).rev() {
        xs.swap(i, rng.random_range(0..=i));
    }
}
