//! Bulletins (通报): a stored run written up as an official bulletin — a red header, the
//! document number (文号), a title, body paragraphs generated from the results, and three
//! attachments (the ranking table, a ranking bar chart and a map of the province coloured by
//! score) — as a PDF with a subset of a CJK font embedded.
//!
//! [`compose`] writes the text: a pure function of the stored run, so a bulletin printed
//! again later says word for word what it said the day the run was made. [`to_pdf`] lays it
//! out on A4 pages and writes it with krilla, which embeds only the glyphs used (a 5 MB
//! font becomes a few hundred KB). The font is read from a configurable path at run time
//! ([`BulletinFont::load`]), never shipped: the GB/T 9704 official-document fonts are
//! proprietary, and the free CJK fonts are several megabytes.
//!
//! The map is a tile cartogram (see [`map`]): one tile per city-level unit, placed by hand on
//! a grid that keeps Fujian's geography recognisable, each divided into its county units when
//! counties are ranked. It needs no boundary data, so nothing with a licence is shipped.

pub mod map;
mod pdf;

use std::sync::Arc;

use serde_json::Value;

use ecowarden_core::org::Org;

use crate::StoredRun;

pub use pdf::to_pdf;

/// A bulletin's text, as [`compose`] wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bulletin {
    /// The red header (版头): the issuing body followed by 文件.
    pub header: String,
    /// 文号, e.g. 闽环执法〔2026〕12号.
    pub doc_no: String,
    pub title: String,
    /// 主送机关, ending in a full-width colon.
    pub addressee: String,
    pub paragraphs: Vec<Paragraph>,
    /// The attachments' list, as printed after the body.
    pub attachments: Vec<String>,
    pub issuer: String,
    /// The run's date, e.g. 2026年12月6日.
    pub date: String,
    pub ranking: Ranking,
}

/// A body paragraph: a numbered heading (一、总体情况) or indented text.
#[derive(Debug, Clone, PartialEq)]
pub struct Paragraph {
    pub heading: bool,
    pub text: String,
}

/// The ranking table of attachment 1, also the data of the chart and the map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ranking {
    /// The indicators' column heads (`1 案件查办`).
    pub indicators: Vec<String>,
    pub rows: Vec<RankingRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RankingRow {
    pub rank: u64,
    pub region_code: String,
    pub name: String,
    pub score: f64,
    pub indicators: Vec<f64>,
}

/// The CJK font a bulletin is set in, read from the configured path.
#[derive(Clone)]
pub struct BulletinFont {
    pub(crate) data: Arc<Vec<u8>>,
    pub(crate) index: u32,
}

impl BulletinFont {
    /// Reads a TrueType/OpenType font or collection (the first face of a `.ttc`) and checks
    /// that it has Chinese glyphs; the error says which file and what to do.
    pub fn load(path: &std::path::Path) -> Result<BulletinFont, crate::AssessError> {
        let data = std::fs::read(path).map_err(|e| {
            crate::AssessError::Invalid(format!(
                "无法读取通报所用中文字体 {}：{e}。请安装 fonts-wqy-microhei，\
                 或在配置项 assessment.bulletin_font 中指定中文字体文件",
                path.display()
            ))
        })?;
        BulletinFont::from_bytes(data, 0).ok_or_else(|| {
            crate::AssessError::Invalid(format!(
                "{} 不是可用的中文字体（无法解析，或不含“通报”等汉字字形）",
                path.display()
            ))
        })
    }

    /// A font from its bytes, or `None` if it cannot be read or lacks Chinese glyphs.
    pub fn from_bytes(data: Vec<u8>, index: u32) -> Option<BulletinFont> {
        use skrifa::MetadataProvider;
        let font = skrifa::FontRef::from_index(&data, index).ok()?;
        let charmap = font.charmap();
        if !"通报排名".chars().all(|c| charmap.map(c).is_some()) {
            return None;
        }
        Some(BulletinFont {
            data: Arc::new(data),
            index,
        })
    }
}

/// `2026年上半年` / `2026年度`.
pub fn period_label(year: i64, half: Option<i64>) -> String {
    match half {
        Some(1) => format!("{year}年上半年"),
        Some(_) => format!("{year}年下半年"),
        None => format!("{year}年度"),
    }
}

/// Writes the bulletin of a stored run. The date is the run's (Beijing time), the document
/// number the run's id in the year it was made, so the same run always gives the same text.
pub fn compose(run: &StoredRun, org: &Org) -> Bulletin {
    let r = &run.result;
    let year = r["year"].as_i64().unwrap_or_default();
    let half = r["half"].as_i64();
    let ranking = ranking(r);
    let rows = &ranking.rows;
    let provincial = run.region_code == org.province().code;
    let area = if provincial {
        "全省".to_owned()
    } else {
        format!("全{}", org.name(&run.region_code))
    };
    let issuer = if provincial {
        "福建省生态环境保护综合执法总队".to_owned()
    } else {
        format!("{}生态环境保护综合执法支队", org.name(&run.region_code))
    };
    let short_issuer = if provincial { "省总队" } else { "支队" };
    let (unit_kind, addressee) = match r["level"].as_str() {
        Some("city") => (
            "设区市级生态环境执法机构",
            "各设区市、平潭综合实验区生态环境执法机构：",
        ),
        Some("province") => ("省级生态环境执法机构", "省总队各处室："),
        _ => ("县级生态环境执法机构", "各县（市、区）生态环境执法机构："),
    };
    let period = period_label(year, half);
    // 2026-12-06 10:15 → 2026年12月6日 (the run's day in Beijing).
    let day = ecowarden_core::clock::display_instant(&run.created_at);
    let ymd: Vec<u32> = day
        .get(..10)
        .unwrap_or_default()
        .split('-')
        .filter_map(|p| p.parse().ok())
        .collect();
    let (date, issue_year) = match ymd[..] {
        [y, m, d] => (format!("{y}年{m}月{d}日"), y.to_string()),
        _ => (day.clone(), year.to_string()),
    };
    let doc_prefix = if provincial {
        "闽环执法".to_owned()
    } else {
        format!(
            "{}环执法",
            org.name(&run.region_code).trim_end_matches('市')
        )
    };

    let mut paragraphs = vec![Paragraph {
        heading: false,
        text: format!(
            "为推动生态环境执法效能评估工作落实，根据《{}》，{short_issuer}依托生态环境执法案件台账，\
             对{area}{}个{unit_kind}{period}执法效能进行了评估。现将评估结果通报如下。",
            run.rules_name,
            rows.len(),
        ),
    }];
    let heading = |text: &str| Paragraph {
        heading: true,
        text: text.to_owned(),
    };
    paragraphs.push(heading("一、总体情况"));
    let mut overall = format!(
        "本次评估共设{}项一级指标（{}）。",
        ranking.indicators.len(),
        ranking
            .indicators
            .iter()
            .map(|i| i.split_once(' ').map_or(i.as_str(), |(_, n)| n))
            .collect::<Vec<_>>()
            .join("、")
    );
    if let (Some(top), Some(bottom)) = (rows.first(), rows.last()) {
        let mean = rows.iter().map(|u| u.score).sum::<f64>() / rows.len() as f64;
        overall += &format!(
            "参评单位平均得分{}分，最高{}分（{}），最低{}分（{}）。",
            points(mean),
            points(top.score),
            top.name,
            points(bottom.score),
            bottom.name
        );
    }
    let totals = totals(r);
    if !totals.is_empty() {
        overall += &format!("评估期内，参评单位共{}。", totals.join("，"));
    }
    paragraphs.push(Paragraph {
        heading: false,
        text: overall,
    });

    paragraphs.push(heading("二、排名情况"));
    let mut ranks = String::new();
    let leaders: Vec<&RankingRow> = rows.iter().filter(|u| u.rank <= 3).collect();
    if !leaders.is_empty() {
        ranks += &format!(
            "{}位列前三名{}。",
            leaders
                .iter()
                .map(|u| format!("{}（{}分）", u.name, points(u.score)))
                .collect::<Vec<_>>()
                .join("、"),
            if leaders.len() > 3 {
                "（含并列）"
            } else {
                ""
            }
        );
    }
    if rows.len() > 6 {
        let last_rank = rows.last().map_or(0, |u| u.rank);
        let cut = rows[rows.len() - 3].rank;
        let laggards: Vec<&RankingRow> = rows.iter().filter(|u| u.rank >= cut).collect();
        ranks += &format!(
            "{}排名靠后（第{}至{}名）。",
            laggards
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            cut,
            last_rank
        );
    }
    for (i, name) in ranking.indicators.iter().enumerate() {
        let name = name.split_once(' ').map_or(name.as_str(), |(_, n)| n);
        let best = rows.iter().max_by(|a, b| {
            a.indicators[i]
                .total_cmp(&b.indicators[i])
                .then(b.rank.cmp(&a.rank))
        });
        if let Some(best) = best {
            let mean = rows.iter().map(|u| u.indicators[i]).sum::<f64>() / rows.len() as f64;
            ranks += &format!(
                "“{name}”指标平均得分{}分，{}得分最高（{}分）。",
                points(mean),
                best.name,
                points(best.indicators[i])
            );
        }
    }
    ranks += "详细排名见附件1，得分排名图见附件2，得分分布图见附件3。";
    paragraphs.push(Paragraph {
        heading: false,
        text: ranks,
    });

    paragraphs.push(heading("三、工作要求"));
    paragraphs.push(Paragraph {
        heading: false,
        text: "各单位要对照评分细则和本通报反映的差距，逐项分析失分原因，制定整改措施，\
               压实工作责任。排名靠后的单位要深入查找问题，切实提升执法效能。评估结果按规定\
               纳入对地方党委政府的目标责任考核。"
            .to_owned(),
    });

    Bulletin {
        header: format!("{issuer}文件"),
        doc_no: format!("{doc_prefix}〔{issue_year}〕{}号", run.id),
        title: format!("关于{period}{area}{unit_kind}执法效能评估结果的通报"),
        addressee: addressee.to_owned(),
        paragraphs,
        attachments: vec![
            format!("{period}执法效能评估排名表"),
            "得分排名图".to_owned(),
            "得分分布图".to_owned(),
        ],
        issuer,
        date,
        ranking,
    }
}

/// A score as printed: two places, trailing zeros dropped (`85.5`, `90`).
fn points(x: f64) -> String {
    let s = format!("{:.2}", crate::round2(x));
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The ranking table from a run's JSON.
fn ranking(r: &Value) -> Ranking {
    let empty = Vec::new();
    let units = r["units"].as_array().unwrap_or(&empty);
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let inds = |u: &Value| u["indicators"].as_array().unwrap_or(&empty).clone();
    Ranking {
        indicators: units
            .first()
            .map(|u| {
                inds(u)
                    .iter()
                    .map(|i| format!("{} {}", text(&i["id"]), text(&i["name"])))
                    .collect()
            })
            .unwrap_or_default(),
        rows: units
            .iter()
            .map(|u| RankingRow {
                rank: u["rank"].as_u64().unwrap_or_default(),
                region_code: text(&u["region_code"]),
                name: text(&u["name"]),
                score: u["score"].as_f64().unwrap_or_default(),
                indicators: inds(u)
                    .iter()
                    .map(|i| i["score"].as_f64().unwrap_or_default())
                    .collect(),
            })
            .collect(),
    }
}

/// The ledger totals a bulletin states when the rules measured them: each metric counted
/// once per unit (a metric scored by two rules is the same value twice).
fn totals(r: &Value) -> Vec<String> {
    type Say = fn(f64) -> String;
    let wanted: [(&str, Say); 3] = [
        ("cases", |v| format!("立案{}件", v as i64)),
        ("penalty_cases", |v| {
            format!("作出行政处罚决定{}件", v as i64)
        }),
        ("fines_yuan", |v| {
            format!("罚款{}万元", points(v / 10_000.0))
        }),
    ];
    let empty = Vec::new();
    wanted
        .iter()
        .filter_map(|(metric, say)| {
            let mut found = false;
            let mut sum = 0.0;
            for u in r["units"].as_array().unwrap_or(&empty) {
                let value = u["indicators"]
                    .as_array()
                    .unwrap_or(&empty)
                    .iter()
                    .flat_map(|i| i["rules"].as_array().unwrap_or(&empty))
                    .find(|rule| rule["metric"] == *metric)
                    .and_then(|rule| rule["value"].as_f64());
                if let Some(v) = value {
                    found = true;
                    sum += v;
                }
            }
            found.then(|| say(sum))
        })
        .collect()
}

#[cfg(test)]
mod tests;
