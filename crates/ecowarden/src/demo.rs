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
            sqlx::query("INSERT INTO officers (name, unit_id, certificate_no, region_code, city_code) VALUES ($1,$2,$3,$4,$5)")
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
    const ROWS: usize = 400;
    let mut done = 0;
    while done < count {
        let mut w = db.write().await?;
        let end = (done + 20_000).min(count);
        while done < end {
            let n = ROWS.min(end - done);
            let mut rows = Vec::with_capacity(n);
            for _ in 0..n {
                let (fid, region, city) = pick(rng, facilities).clone();
                // Most cases are the county brigade's; a fifth the city detachment's, a few the corps'.
                let unit = match rng.random_range(0..100) {
                    0..=2 => unit_of["350000"],
                    3..=22 => unit_of[city.as_str()],
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
                let (status, decided, closed) = lifecycle(rng, filed);
                let (violation, basis) = *pick(rng, VIOLATIONS);
                let source = match rng.random_range(0..100) {
                    0..=54 => CaseSource::Inspection,
                    55..=72 => CaseSource::Complaint,
                    73..=84 => CaseSource::OffSiteScreening,
                    85..=93 => CaseSource::Transfer,
                    _ => CaseSource::Assignment,
                };
                let fine = if decided.is_some() && rng.random_bool(0.92) {
                    // Log-uniform between 1万 and 200万 yuan, rounded to 100 yuan.
                    let yuan = 10f64.powf(rng.random_range(4.0..6.3));
                    ((yuan / 100.0).round() as i64) * 100 * 100
                } else {
                    0
                };
                rows.push((
                    case_no.to_string(),
                    unit.id,
                    unit.region_code.clone(),
                    unit.city_code.clone(),
                    fid,
                    source.as_str(),
                    status.as_str(),
                    violation,
                    basis,
                    discovered.to_string(),
                    filed.to_string(),
                    decided.map(|d| d.to_string()),
                    closed.map(|d| d.to_string()),
                    fine,
                    discovered.year() as i64,
                ));
            }
            // 15 values a row, then one shared placeholder for created_at = updated_at.
            let mut sql = String::from(
                "INSERT INTO cases (case_no, unit_id, region_code, city_code, facility_id, source, status, violation, \
                 legal_basis, discovered_on, filed_on, decided_on, closed_on, fine_fen, year, created_at, updated_at) VALUES ",
            );
            for r in 0..rows.len() {
                let b = r * 15;
                let ph: Vec<String> = (1..=15).map(|k| format!("${}", b + k)).collect();
                sql.push_str(&format!(
                    "{}({},${},${})",
                    if r > 0 { "," } else { "" },
                    ph.join(","),
                    rows.len() * 15 + 1,
                    rows.len() * 15 + 1
                ));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in rows {
                q = q
                    .bind(r.0)
                    .bind(r.1)
                    .bind(r.2)
                    .bind(r.3)
                    .bind(r.4)
                    .bind(r.5)
                    .bind(r.6)
                    .bind(r.7)
                    .bind(r.8)
                    .bind(r.9)
                    .bind(r.10)
                    .bind(r.11)
                    .bind(r.12)
                    .bind(r.13)
                    .bind(r.14);
            }
            q.bind(now.clone()).execute(&mut *w.tx).await?;
            done += n;
        }
        w.commit().await?;
    }
    Ok(count)
}

/// A plausible stage and its dates for a case filed on `filed`.
fn lifecycle(rng: &mut StdRng, filed: NaiveDate) -> (Status, Option<NaiveDate>, Option<NaiveDate>) {
    let roll = rng.random_range(0..100);
    let decided = filed + Duration::days(rng.random_range(20..100));
    let closed = decided + Duration::days(rng.random_range(15..90));
    match roll {
        0..=7 => (Status::Filed, None, None),
        8..=15 => (Status::Investigation, None, None),
        16..=20 => (Status::PriorNotice, None, None),
        21..=22 => (Status::Hearing, None, None),
        23..=27 => (Status::Decided, Some(decided), None),
        28..=31 => (Status::Served, Some(decided), None),
        32..=37 => (Status::Enforcement, Some(decided), None),
        38..=39 => (Status::Suspended, None, None),
        40 => (Status::Withdrawn, None, None),
        _ => (Status::Closed, Some(decided), Some(closed)),
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
    }
    let all: Vec<C> = sqlx::query_as("SELECT id, filed_on, decided_on, region_code, city_code FROM cases WHERE year = $1 ORDER BY id")
        .bind(year as i64)
        .fetch_all(db.pool())
        .await?;
    // Small ledgers (tests) get proportionally fewer of everything.
    let scale = (all.len() as f64 / 3600.0).min(1.0);
    let n = |x: usize| ((x as f64 * scale).round() as usize).max(1);
    let mut decided: Vec<C> = all
        .iter()
        .filter(|c| c.decided_on.is_some())
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
    let measure = |id: i64, kind: MeasureKind, on: String| {
        sqlx::query("INSERT INTO measures (case_id, kind, decided_on, items, restriction, days, amount_fen) VALUES ($1,$2,$3,$4,$5,$6,$7)")
            .bind(id)
            .bind(kind.as_str())
            .bind(on)
            .bind(if kind == MeasureKind::SealAndSeize { "生产设备2台、危险废物暂存桶若干" } else { "" })
            .bind(if kind == MeasureKind::ProductionRestriction { Some("restriction") } else { None })
            .bind(if kind == MeasureKind::DailyPenalty { Some(12i64) } else { None })
            .bind(if kind == MeasureKind::DailyPenalty { 1_200_000i64 * 100 } else { 0 })
    };
    let referral = |id: i64, kind: ReferralKind, on: String, persons: [i64; 5]| {
        sqlx::query(
            "INSERT INTO referrals (case_id, kind, agency, referred_on, accepted_on, persons_detained, arrest_review_persons, \
             arrest_approved_persons, prosecution_persons, guilty_plea_persons) VALUES ($1,$2,$3,$4,$4,$5,$6,$7,$8,$9)",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(match kind {
            ReferralKind::MarketRegulator => "市场监督管理局",
            _ => "公安局",
        })
        .bind(on)
        .bind(persons[0])
        .bind(persons[1])
        .bind(persons[2])
        .bind(persons[3])
        .bind(persons[4])
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
        let on = after(&c.filed_on, 3);
        if seal.contains(&i) {
            measure(c.id, MeasureKind::SealAndSeize, on.clone())
                .execute(&mut *w.tx)
                .await?;
        }
        if restrict.contains(&i) {
            measure(c.id, MeasureKind::ProductionRestriction, on.clone())
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
        measure(c.id, kind, after(&c.filed_on, 4))
            .execute(&mut *w.tx)
            .await?;
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
    fines[0] += total_fine - fines.iter().sum::<i64>();
    let mut it = tp_cases.iter().zip(fines);
    for (subtype, count) in subtypes {
        for (c, fine) in it.by_ref().take(count) {
            tag(c.id, Tag::ThirdPartyFraud).execute(&mut *w.tx).await?;
            sqlx::query("UPDATE cases SET third_party_id = $1, third_party_subtype = $2, fine_fen = $3 WHERE id = $4")
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
        let c = &take_decided(1)[0];
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
    w.commit().await
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
