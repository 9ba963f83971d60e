//! Code tables of HJ 212-2017: factor (pollutant) codes with the 2005 codes
//! they replace, data flags, system codes (ST), command codes (CN) and the
//! reply codes QnRtn/ExeRtn.
//!
//! The factor table holds the common codes of Appendix B (Tables B.1 water,
//! B.2 gas, B.3 noise); an unknown code is not an error, only a warning
//! when its *form* is not that of a standard code.

use crate::version::Version;

/// What a factor or a monitoring system is about; used to spot an `ST` that
/// contradicts the factors it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// Gas: flue gas, ambient air (`a…` codes).
    Air,
    /// Water: wastewater, surface water (`w…` codes).
    Water,
    /// Noise (`L…` codes).
    Noise,
}

impl Medium {
    /// `"air"`, `"water"` or `"noise"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Air => "air",
            Medium::Water => "water",
            Medium::Noise => "noise",
        }
    }
}

/// One row of the factor table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorInfo {
    /// 2017 code, e.g. `w01018`.
    pub code: &'static str,
    /// Chinese name as in the standard.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Unit of concentrations and rates (`-Rtd`, `-Avg`, …); `None` where
    /// this table does not record one.
    pub unit: Option<&'static str>,
    /// Unit of amounts (`-Cou`).
    pub amount_unit: Option<&'static str>,
    /// HJ/T 212-2005 code ("原编码").
    pub code_2005: Option<&'static str>,
    /// What is measured.
    pub medium: Medium,
}

const fn f(
    code: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    unit: Option<&'static str>,
    amount_unit: Option<&'static str>,
    code_2005: Option<&'static str>,
) -> FactorInfo {
    let medium = match code.as_bytes()[0] {
        b'w' => Medium::Water,
        b'L' => Medium::Noise,
        _ => Medium::Air,
    };
    FactorInfo {
        code,
        name_zh,
        name_en,
        unit,
        amount_unit,
        code_2005,
        medium,
    }
}

const MG_L: Option<&str> = Some("mg/L");
const MG_M3: Option<&str> = Some("mg/m³");
const KG: Option<&str> = Some("kg");
const DB: Option<&str> = Some("dB");

/// The factor table (HJ 212-2017 Appendix B, common codes).
pub static FACTORS: &[FactorInfo] = &[
    // Water, Table B.1 (from HJ 525-2009).
    f(
        "w00000",
        "污水",
        "wastewater flow",
        Some("L/s"),
        Some("m³"),
        Some("B01"),
    ),
    f("w01001", "pH值", "pH", Some("无量纲"), None, Some("001")),
    f("w01002", "色度", "colour", Some("倍"), None, Some("002")),
    f("w01009", "溶解氧", "dissolved oxygen", MG_L, None, None),
    f("w01010", "水温", "water temperature", Some("℃"), None, None),
    f(
        "w01012",
        "悬浮物",
        "suspended solids",
        MG_L,
        KG,
        Some("003"),
    ),
    f(
        "w01014",
        "电导率",
        "conductivity",
        Some("μS/cm"),
        None,
        None,
    ),
    f("w01017", "五日生化需氧量", "BOD5", MG_L, KG, Some("010")),
    f("w01018", "化学需氧量", "COD", MG_L, KG, Some("011")),
    f(
        "w01019",
        "高锰酸盐指数",
        "permanganate index",
        MG_L,
        KG,
        None,
    ),
    f(
        "w01020",
        "总有机碳",
        "total organic carbon",
        MG_L,
        KG,
        Some("015"),
    ),
    f("w20111", "总汞", "total mercury", MG_L, KG, Some("020")),
    f("w20115", "总镉", "total cadmium", MG_L, KG, Some("022")),
    f("w20116", "总铬", "total chromium", MG_L, KG, Some("023")),
    f(
        "w20117",
        "六价铬",
        "hexavalent chromium",
        MG_L,
        KG,
        Some("024"),
    ),
    f("w20119", "总砷", "total arsenic", MG_L, KG, Some("026")),
    f("w20120", "总铅", "total lead", MG_L, KG, Some("027")),
    f("w20121", "总镍", "total nickel", MG_L, KG, Some("028")),
    f("w20122", "总铜", "total copper", MG_L, KG, Some("029")),
    f("w20123", "总锌", "total zinc", MG_L, KG, Some("030")),
    f("w21001", "总氮", "total nitrogen", MG_L, KG, Some("065")),
    f(
        "w21003",
        "氨氮",
        "ammonia nitrogen (NH3-N)",
        MG_L,
        KG,
        Some("060"),
    ),
    f("w21011", "总磷", "total phosphorus", MG_L, KG, Some("101")),
    f("w21016", "氰化物", "cyanide", MG_L, KG, Some("070")),
    f("w21017", "氟化物", "fluoride", MG_L, KG, Some("072")),
    f("w21019", "硫化物", "sulfide", MG_L, KG, Some("071")),
    f("w22001", "石油类", "petroleum", MG_L, KG, Some("080")),
    f("w23002", "挥发酚", "volatile phenol", MG_L, KG, Some("110")),
    // Gas, Table B.2 (from HJ 524-2009).
    f(
        "a00000",
        "废气",
        "flue-gas flow",
        Some("m³/s"),
        Some("m³"),
        Some("B02"),
    ),
    f(
        "a01011",
        "烟气流速",
        "flue-gas velocity",
        Some("m/s"),
        None,
        Some("S02"),
    ),
    f(
        "a01012",
        "烟气温度",
        "flue-gas temperature",
        Some("℃"),
        None,
        Some("S03"),
    ),
    f(
        "a01013",
        "烟气压力",
        "flue-gas pressure",
        Some("kPa"),
        None,
        Some("S08"),
    ),
    f(
        "a01014",
        "烟气湿度",
        "flue-gas humidity",
        Some("%"),
        None,
        Some("S05"),
    ),
    f(
        "a01015",
        "制冷温度",
        "chiller temperature",
        Some("℃"),
        None,
        Some("S06"),
    ),
    f(
        "a01016",
        "烟道截面积",
        "duct cross-section",
        Some("m²"),
        None,
        Some("S07"),
    ),
    f(
        "a01017",
        "烟气动压",
        "flue-gas dynamic pressure",
        None,
        None,
        Some("S04"),
    ),
    f(
        "a19001",
        "氧气含量",
        "oxygen (O2)",
        Some("%"),
        None,
        Some("S01"),
    ),
    f(
        "a21026",
        "二氧化硫",
        "sulfur dioxide (SO2)",
        MG_M3,
        KG,
        Some("02"),
    ),
    f(
        "a21002",
        "氮氧化物",
        "nitrogen oxides (NOx)",
        MG_M3,
        KG,
        Some("03"),
    ),
    f(
        "a34013",
        "烟尘",
        "smoke dust (particulate)",
        MG_M3,
        KG,
        Some("01"),
    ),
    f(
        "a21005",
        "一氧化碳",
        "carbon monoxide (CO)",
        MG_M3,
        KG,
        Some("04"),
    ),
    f(
        "a21028",
        "硫化氢",
        "hydrogen sulfide (H2S)",
        MG_M3,
        KG,
        Some("05"),
    ),
    f("a21018", "氟化物", "fluoride", MG_M3, KG, Some("06")),
    f("a21017", "氰化物", "cyanide", MG_M3, KG, Some("07")),
    f(
        "a21024",
        "氯化氢",
        "hydrogen chloride (HCl)",
        MG_M3,
        KG,
        Some("08"),
    ),
    f("a21001", "氨", "ammonia (NH3)", MG_M3, KG, Some("10")),
    f("a21022", "氯气", "chlorine (Cl2)", MG_M3, KG, Some("11")),
    f(
        "a24087",
        "碳氢化合物",
        "hydrocarbons",
        MG_M3,
        KG,
        Some("25"),
    ),
    f(
        "a24088",
        "非甲烷总烃",
        "non-methane hydrocarbons (NMHC)",
        MG_M3,
        KG,
        None,
    ),
    f("a05002", "甲烷", "methane (CH4)", MG_M3, KG, None),
    f("a21003", "一氧化氮", "nitric oxide (NO)", MG_M3, KG, None),
    f(
        "a21004",
        "二氧化氮",
        "nitrogen dioxide (NO2)",
        MG_M3,
        KG,
        None,
    ),
    f("a01001", "温度", "air temperature", Some("℃"), None, None),
    f("a01002", "湿度", "relative humidity", Some("%"), None, None),
    f("a01006", "气压", "air pressure", Some("kPa"), None, None),
    f("a01007", "风速", "wind speed", Some("m/s"), None, None),
    f("a01008", "风向", "wind direction", Some("°"), None, None),
    f("a34002", "可吸入颗粒物", "PM10", None, None, None),
    f("a34004", "细颗粒物", "PM2.5", None, None, None),
    // Noise, Table B.3.
    f("LA", "A权声级", "A-weighted sound level", DB, None, None),
    f(
        "L5",
        "累计百分声级L5",
        "percentile level L5",
        DB,
        None,
        None,
    ),
    f(
        "L10",
        "累计百分声级L10",
        "percentile level L10",
        DB,
        None,
        None,
    ),
    f(
        "L50",
        "累计百分声级L50",
        "percentile level L50",
        DB,
        None,
        None,
    ),
    f(
        "L90",
        "累计百分声级L90",
        "percentile level L90",
        DB,
        None,
        None,
    ),
    f(
        "L95",
        "累计百分声级L95",
        "percentile level L95",
        DB,
        None,
        None,
    ),
    f(
        "Leq",
        "等效连续A声级",
        "equivalent continuous level",
        DB,
        None,
        None,
    ),
    f("LMx", "最大声级", "maximum level", DB, None, None),
    f("LMn", "最小声级", "minimum level", DB, None, None),
    f("Ld", "昼间等效声级", "day equivalent level", DB, None, None),
    f(
        "Ln",
        "夜间等效声级",
        "night equivalent level",
        DB,
        None,
        None,
    ),
    f(
        "Ldn",
        "昼夜等效声级",
        "day-night equivalent level",
        DB,
        None,
        None,
    ),
];

/// The table row of a 2017 factor code.
pub fn factor(code: &str) -> Option<&'static FactorInfo> {
    FACTORS.iter().find(|info| info.code == code)
}

/// The 2017 code that replaced an HJ/T 212-2005 code (`011` → `w01018`,
/// `S01` → `a19001`).
///
/// Water and gas 2005 codes differ in length (`001` vs `01`), so the
/// mapping is unambiguous.
pub fn code_2005_to_2017(code: &str) -> Option<&'static str> {
    FACTORS
        .iter()
        .find(|info| info.code_2005 == Some(code))
        .map(|info| info.code)
}

/// Whether `code` has the form of a standard factor code for `version`:
/// a lower-case letter and five digits (2017/2025), a noise code, a
/// facility `SBn`; 2005 packets may also carry `[A-Z]?` + 2–3 digits.
/// Vendor codes (`O3`, `a2106`, `CONC`) fail.
pub fn is_standard_code(code: &str, version: Version) -> bool {
    let b = code.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let form_2017 = || b.len() == 6 && b[0].is_ascii_lowercase() && digits(&b[1..]);
    let facility = || b.starts_with(b"SB") && digits(&b[2..]);
    let form_2005 = || {
        let body = if b.first().is_some_and(u8::is_ascii_uppercase) {
            &b[1..]
        } else {
            b
        };
        (2..=3).contains(&body.len()) && digits(body)
    };
    // The table scan last: the usual codes are decided by their form.
    let noise = || factor(code).is_some_and(|info| info.medium == Medium::Noise);
    form_2017() || facility() || (version == Version::V2005 && form_2005()) || noise()
}

/// The medium a factor code belongs to, from its first letter.
pub fn factor_medium(code: &str) -> Option<Medium> {
    match code.as_bytes() {
        [b'a', ..] => Some(Medium::Air),
        [b'w', ..] => Some(Medium::Water),
        _ => factor(code).map(|info| info.medium),
    }
}

/// Data flags (`-Flag`, Table 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFlag {
    /// N: normal.
    Normal,
    /// F: instrument stopped (停运).
    Stopped,
    /// M: maintenance (维护).
    Maintenance,
    /// S: manually entered set value (手工输入设定值).
    ManualValue,
    /// D: fault (故障).
    Fault,
    /// C: calibration (校准).
    Calibration,
    /// T: above the measuring upper limit (超测上限).
    OverRange,
    /// B: instrument ↔ data-logger communication failure (通讯异常).
    CommunicationFailure,
}

impl DataFlag {
    /// All flags of Table 8.
    pub const ALL: [DataFlag; 8] = [
        DataFlag::Normal,
        DataFlag::Stopped,
        DataFlag::Maintenance,
        DataFlag::ManualValue,
        DataFlag::Fault,
        DataFlag::Calibration,
        DataFlag::OverRange,
        DataFlag::CommunicationFailure,
    ];

    /// Reads a flag letter; `None` for codes outside Table 8 (the table is
    /// "extensible", so callers keep the raw text too).
    pub fn from_code(code: &str) -> Option<DataFlag> {
        DataFlag::ALL.into_iter().find(|flag| flag.code() == code)
    }

    /// The letter sent.
    pub fn code(self) -> &'static str {
        self.describe().0
    }

    /// Meaning in Chinese.
    pub fn meaning_zh(self) -> &'static str {
        self.describe().1
    }

    /// Meaning in English.
    pub fn meaning_en(self) -> &'static str {
        self.describe().2
    }

    fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            DataFlag::Normal => ("N", "正常", "normal"),
            DataFlag::Stopped => ("F", "停运", "instrument stopped"),
            DataFlag::Maintenance => ("M", "维护", "maintenance"),
            DataFlag::ManualValue => ("S", "手工输入设定值", "manually entered set value"),
            DataFlag::Fault => ("D", "故障", "fault"),
            DataFlag::Calibration => ("C", "校准", "calibration"),
            DataFlag::OverRange => ("T", "超测上限", "above measuring upper limit"),
            DataFlag::CommunicationFailure => (
                "B",
                "通讯异常",
                "instrument to data-logger communication failure",
            ),
        }
    }
}

/// A row of the ST or CN table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The code as sent.
    pub code: &'static str,
    /// Chinese name.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// For systems, the medium monitored, if one.
    pub medium: Option<Medium>,
}

const fn c(code: &'static str, name_zh: &'static str, name_en: &'static str) -> CodeInfo {
    CodeInfo {
        code,
        name_zh,
        name_en,
        medium: None,
    }
}

const fn s(
    code: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    medium: Medium,
) -> CodeInfo {
    CodeInfo {
        code,
        name_zh,
        name_en,
        medium: Some(medium),
    }
}

/// System codes ST (Table 5, from GB/T 16706-1996).
pub static SYSTEMS: &[CodeInfo] = &[
    s(
        "21",
        "地表水质量监测",
        "surface-water quality",
        Medium::Water,
    ),
    s("22", "空气质量监测", "ambient-air quality", Medium::Air),
    s(
        "23",
        "声环境质量监测",
        "acoustic-environment quality",
        Medium::Noise,
    ),
    s("24", "地下水质量监测", "groundwater quality", Medium::Water),
    c("25", "土壤质量监测", "soil quality"),
    s("26", "海水质量监测", "seawater quality", Medium::Water),
    s(
        "27",
        "挥发性有机物监测",
        "volatile organic compounds",
        Medium::Air,
    ),
    s(
        "31",
        "大气环境污染源",
        "atmospheric pollution source (flue gas)",
        Medium::Air,
    ),
    s(
        "32",
        "地表水体环境污染源",
        "surface-water pollution source (wastewater)",
        Medium::Water,
    ),
    s(
        "33",
        "地下水体环境污染源",
        "groundwater pollution source",
        Medium::Water,
    ),
    s(
        "34",
        "海洋环境污染源",
        "marine pollution source",
        Medium::Water,
    ),
    c("35", "土壤环境污染源", "soil pollution source"),
    s(
        "36",
        "声环境污染源",
        "noise pollution source",
        Medium::Noise,
    ),
    c("37", "振动环境污染源", "vibration pollution source"),
    c("38", "放射性环境污染源", "radioactive pollution source"),
    s(
        "39",
        "工地扬尘污染源",
        "construction-site dust",
        Medium::Air,
    ),
    c("41", "电磁环境污染源", "electromagnetic pollution source"),
    s(
        "51",
        "烟气排放过程监控",
        "flue-gas process monitoring",
        Medium::Air,
    ),
    s(
        "52",
        "污水排放过程监控",
        "wastewater process monitoring",
        Medium::Water,
    ),
    c("91", "系统交互", "system interaction"),
];

/// Command codes CN (Table 9, plus 2025 additions by number only).
pub static COMMANDS: &[CodeInfo] = &[
    c("1000", "设置超时时间及重发次数", "set timeout and retries"),
    c("1011", "提取现场机时间", "get field-unit time"),
    c("1012", "设置现场机时间", "set field-unit time"),
    c(
        "1013",
        "现场机时间校准请求",
        "field unit asks for time calibration",
    ),
    c("1061", "提取实时数据间隔", "get real-time data interval"),
    c("1062", "设置实时数据间隔", "set real-time data interval"),
    c("1063", "提取分钟数据间隔", "get minute data interval"),
    c("1064", "设置分钟数据间隔", "set minute data interval"),
    c("1072", "设置现场机访问密码", "set access password"),
    c("2011", "实时数据", "real-time data"),
    c("2012", "停止察看实时数据", "stop real-time data"),
    c(
        "2013",
        "HJ 212-2025 新增命令",
        "HJ 212-2025 command (name not verified)",
    ),
    c("2021", "设施运行状态", "facility run state"),
    c("2022", "停止察看设施运行状态", "stop facility run state"),
    c("2031", "日数据", "daily data"),
    c("2041", "设施日运行时间", "daily facility run time"),
    c("2051", "分钟数据", "minute data"),
    c("2061", "小时数据", "hourly data"),
    c(
        "2062",
        "HJ 212-2025 新增命令",
        "HJ 212-2025 command (name not verified)",
    ),
    c("2081", "数采仪开机时间", "data-logger restart time"),
    c("3011", "零点校准量程校准", "zero/span calibration"),
    c("3012", "即时采样", "immediate sample"),
    c("3013", "启动清洗/反吹", "clean / back-blow"),
    c("3014", "比对采样", "comparison sample"),
    c("3015", "超标留样", "over-limit sample retention"),
    c("3016", "设置采样时间周期", "set sampling period"),
    c("3017", "提取采样时间周期", "get sampling period"),
    c("3018", "提取出样时间", "get sample output time"),
    c("3019", "提取设备唯一标识", "get instrument serial number"),
    c("3020", "提取现场机信息", "get field-unit information"),
    c("3021", "设置现场机参数", "set field-unit parameters"),
    c(
        "3022",
        "HJ 212-2025 新增命令",
        "HJ 212-2025 command (name not verified)",
    ),
    c(
        "3024",
        "HJ 212-2025 新增命令",
        "HJ 212-2025 command (name not verified)",
    ),
    c("9011", "请求应答", "request reply"),
    c("9012", "执行结果", "execution result"),
    c("9013", "通知应答", "notification reply"),
    c("9014", "数据应答", "data reply"),
];

/// The ST table row of `code`.
pub fn system(code: &str) -> Option<&'static CodeInfo> {
    find_code(SYSTEMS, code)
}

/// The CN table row of `code`.
pub fn command(code: &str) -> Option<&'static CodeInfo> {
    find_code(COMMANDS, code)
}

/// The row of `code` in `table`, compared word-wise: every message looks up its ST and
/// CN, and a `memcmp` call per row cost more than the rest of the header.
fn find_code(table: &'static [CodeInfo], code: &str) -> Option<&'static CodeInfo> {
    table
        .iter()
        .find(|info| crate::text::same(info.code.as_bytes(), code.as_bytes()))
}

/// `QnRtn` of a 9011 request reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QnRtn {
    /// 1: ready to execute.
    Ready = 1,
    /// 2: rejected.
    Rejected = 2,
    /// 3: wrong password (PW).
    WrongPassword = 3,
    /// 4: wrong MN.
    WrongMn = 4,
    /// 5: wrong ST.
    WrongSt = 5,
    /// 6: wrong Flag.
    WrongFlag = 6,
    /// 7: wrong QN.
    WrongQn = 7,
    /// 8: wrong CN.
    WrongCn = 8,
    /// 9: CRC error.
    CrcError = 9,
    /// 100: unknown error.
    Unknown = 100,
}

/// `ExeRtn` of a 9012 execution result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExeRtn {
    /// 1: executed.
    Success = 1,
    /// 2: failed, cause unknown.
    Failed = 2,
    /// 3: request condition error.
    ConditionError = 3,
    /// 4: timeout.
    Timeout = 4,
    /// 5: busy.
    Busy = 5,
    /// 6: system fault.
    SystemFault = 6,
    /// 100: no data.
    NoData = 100,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_unique_codes() {
        for table in [SYSTEMS, COMMANDS] {
            for (i, a) in table.iter().enumerate() {
                assert!(
                    table[i + 1..].iter().all(|b| b.code != a.code),
                    "{}",
                    a.code
                );
            }
        }
        for (i, a) in FACTORS.iter().enumerate() {
            assert!(
                FACTORS[i + 1..].iter().all(|b| b.code != a.code),
                "{}",
                a.code
            );
            if let Some(old) = a.code_2005 {
                assert_eq!(code_2005_to_2017(old), Some(a.code));
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(factor("w01018").unwrap().name_zh, "化学需氧量");
        assert_eq!(code_2005_to_2017("011"), Some("w01018"));
        assert_eq!(code_2005_to_2017("S01"), Some("a19001"));
        assert_eq!(code_2005_to_2017("01"), Some("a34013"));
        assert_eq!(system("31").unwrap().medium, Some(Medium::Air));
        assert_eq!(command("9014").unwrap().name_zh, "数据应答");
        assert_eq!(command("9021"), None);
        assert_eq!(DataFlag::from_code("D"), Some(DataFlag::Fault));
        assert_eq!(DataFlag::Fault.meaning_zh(), "故障");
        assert_eq!(
            DataFlag::OverRange.meaning_en(),
            "above measuring upper limit"
        );
        assert_eq!(DataFlag::from_code("X"), None);
    }

    #[test]
    fn code_forms() {
        for ok in ["w01018", "a21026", "e01001", "i11001", "SB1", "LA", "Leq"] {
            assert!(is_standard_code(ok, Version::V2017), "{ok}");
        }
        for bad in ["O3", "a2106", "CONC", "PMD", "ele01", "011", "B01"] {
            assert!(!is_standard_code(bad, Version::V2017), "{bad}");
        }
        for ok in ["011", "B01", "S01", "01", "w01018"] {
            assert!(is_standard_code(ok, Version::V2005), "{ok}");
        }
        assert!(!is_standard_code("ele01", Version::V2005));
    }
}
