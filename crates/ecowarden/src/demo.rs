//! A deterministic, seeded generator of a plausible province-year: officers, facilities with
//! valid credit codes, cases, and demo accounts. The same seed gives the same data, so pages,
//! tests and benchmarks can name what they expect to see.

use chrono::{Datelike, Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::auth::{self, NewUser, Role};
use crate::cases::{CaseSource, Status};
use crate::ids::{CaseNo, CreditCode};
use crate::org::{self, Level, Org};
use crate::store::{Db, Result, StoreError};

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
    const CS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut body = format!("91{region}");
    for _ in 0..9 {
        body.push(CS[rng.random_range(0..CS.len())] as char);
    }
    let check = CreditCode::check_char(body.as_bytes()).expect("charset") as char;
    format!("{body}{check}")
        .parse()
        .expect("valid by construction")
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
    let now = crate::clock::now_rfc3339();
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
                let filed = discovered + Duration::days(rng.random_range(1..15));
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
