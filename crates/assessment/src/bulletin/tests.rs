use serde_json::json;

use ecowarden_core::org::{Org, fujian_regions};

use super::*;

fn org() -> Org {
    fujian_regions().into_iter().collect()
}

/// A unit of a constructed county run: two indicators, the first with a `cases` and a
/// `fines_yuan` rule.
fn unit(code: &str, name: &str, rank: u64, a: f64, b: f64, cases: f64, fines: f64) -> Value {
    json!({
        "region_code": code, "name": name, "score": a + b, "rank": rank,
        "indicators": [
            {"id": "1", "name": "案件查办", "score": a, "rules": [
                {"id": "1.1", "name": "立案数", "metric": "cases", "value": cases, "score": a},
                {"id": "1.2", "name": "罚款", "metric": "fines_yuan", "value": fines, "score": 0.0},
            ]},
            {"id": "2", "name": "科技赋能", "score": b, "rules": [
                {"id": "2.1", "name": "非现场", "metric": "share.source.非现场筛查线索",
                 "value": 0.2, "score": b},
            ]},
        ],
    })
}

/// Seven 福州 counties; 鼓楼 and 台江 tie for first, 连江 is last.
fn constructed() -> StoredRun {
    StoredRun {
        id: 12,
        result: json!({
            "run": "12", "year": 2026, "half": 1, "subject": "collective", "level": "county",
            "units": [
                unit("350102", "鼓楼区", 1, 50.0, 40.0, 30.0, 1_000_000.0),
                unit("350103", "台江区", 1, 45.0, 45.0, 20.0, 500_000.0),
                unit("350104", "仓山区", 3, 40.0, 40.5, 12.0, 0.0),
                unit("350105", "马尾区", 4, 40.0, 30.0, 10.0, 0.0),
                unit("350111", "晋安区", 5, 30.0, 30.0, 8.0, 0.0),
                unit("350112", "长乐区", 6, 20.0, 30.0, 5.0, 0.0),
                unit("350122", "连江县", 7, 10.0, 20.25, 1.0, 0.0),
            ],
        }),
        rules_name: "2026年度县级执法机构执法效能评估细则".into(),
        region_code: "350000".into(),
        created_at: "2026-07-01T17:30:00.000000Z".into(),
    }
}

#[test]
fn text_follows_the_results() {
    let b = compose(&constructed(), &org());
    assert_eq!(b.header, "福建省生态环境保护综合执法总队文件");
    // The run's day in Beijing: 17:30 UTC is already 2 July there.
    assert_eq!(b.date, "2026年7月2日");
    assert_eq!(b.doc_no, "闽环执法〔2026〕12号");
    assert_eq!(
        b.title,
        "关于2026年上半年全省县级生态环境执法机构执法效能评估结果的通报"
    );
    let body: Vec<&str> = b.paragraphs.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        body[0],
        "为推动生态环境执法效能评估工作落实，根据《2026年度县级执法机构执法效能评估细则》，\
         省总队依托生态环境执法案件台账，对全省7个县级生态环境执法机构2026年上半年执法效能\
         进行了评估。现将评估结果通报如下。"
    );
    assert_eq!(
        body[2],
        "本次评估共设2项一级指标（案件查办、科技赋能）。参评单位平均得分67.25分，最高90分\
         （鼓楼区），最低30.25分（连江县）。评估期内，参评单位共立案86件，罚款150万元。"
    );
    assert!(
        body[4].starts_with(
            "鼓楼区（90分）、台江区（90分）、仓山区（80.5分）位列前三名。\
             晋安区、长乐区、连江县排名靠后（第5至7名）。\
             “案件查办”指标平均得分33.57分，鼓楼区得分最高（50分）。\
             “科技赋能”指标平均得分33.68分，台江区得分最高（45分）。"
        ),
        "{}",
        body[4]
    );
    let headings: Vec<&str> = b
        .paragraphs
        .iter()
        .filter(|p| p.heading)
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(headings, ["一、总体情况", "二、排名情况", "三、工作要求"]);
    assert_eq!(b.ranking.indicators, ["1 案件查办", "2 科技赋能"]);
    assert_eq!(b.ranking.rows.len(), 7);
    assert_eq!(b.ranking.rows[6].indicators, [10.0, 20.25]);
}

#[test]
fn a_city_run_is_issued_by_the_city() {
    let mut run = constructed();
    run.region_code = "350100".into();
    let b = compose(&run, &org());
    assert_eq!(b.header, "福州市生态环境保护综合执法支队文件");
    assert_eq!(b.doc_no, "福州环执法〔2026〕12号");
    assert!(b.title.contains("全福州市县级"));
}

#[test]
fn the_map_divides_fuzhou_into_its_counties() {
    let b = compose(&constructed(), &org());
    let tiles = map::tiles(&b.ranking, &org());
    assert_eq!(tiles.len(), 10);
    let fuzhou = tiles.iter().find(|t| t.name == "福州").unwrap();
    let gulou = fuzhou.cells.iter().find(|c| c.code == "350102").unwrap();
    assert_eq!(gulou.score, Some(90.0));
    // 闽侯 is a county of 福州 that this run did not rank.
    assert!(
        fuzhou
            .cells
            .iter()
            .any(|c| c.code == "350121" && c.score.is_none())
    );
    // 平潭 has no county units, so a county run leaves its tile empty.
    assert!(
        tiles
            .iter()
            .find(|t| t.name == "平潭")
            .unwrap()
            .cells
            .is_empty()
    );
    assert_eq!(map::colour(Some(90.0), 30.25, 90.0), (8, 81, 156));
    assert_eq!(map::colour(None, 30.25, 90.0), (224, 224, 224));
}

#[test]
fn missing_font_is_named() {
    let err = BulletinFont::load(std::path::Path::new("/nonexistent/font.ttc"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("/nonexistent/font.ttc"), "{err}");
    assert!(err.contains("fonts-wqy-microhei"), "{err}");
    assert!(BulletinFont::from_bytes(b"not a font".to_vec(), 0).is_none());
}

/// The PDF in the system font (fonts-wqy-microhei, installed by .ci/run): every ranked unit
/// is in the text, the font is embedded as a subset, and the pages are the letter and its
/// three attachments.
#[test]
fn pdf_embeds_a_subset_and_carries_the_ranking() {
    let font = BulletinFont::load(std::path::Path::new(
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    ))
    .expect("fonts-wqy-microhei is installed");
    let b = compose(&constructed(), &org());
    let bytes = to_pdf(&b, &org(), &font).unwrap();
    assert!(bytes.len() < 400_000, "{} bytes: not a subset", bytes.len());
    let doc = lopdf::Document::load_mem(&bytes).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    assert!(pages.len() >= 4, "{} pages", pages.len());
    let text = doc.extract_text(&pages).unwrap();
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for needle in [
        "福建省生态环境保护综合执法总队文件",
        "闽环执法〔2026〕12号",
        "附件1",
        "得分排名图",
        "得分分布图",
        "鼓楼区",
        "连江县",
        "30.25",
    ] {
        assert!(
            squeezed.contains(needle),
            "{needle} missing from {squeezed}"
        );
    }
    let mut embedded = 0;
    for obj in doc.objects.values() {
        if let Ok(dict) = obj.as_dict()
            && dict.has(b"FontFile2")
        {
            embedded += 1;
            let name = dict.get(b"FontName").unwrap().as_name().unwrap();
            // A subset's name is six capitals and a plus sign (ISO 32000 9.6.4).
            assert_eq!(name[6], b'+', "{}", String::from_utf8_lossy(name));
        }
    }
    assert_eq!(embedded, 1);
}
