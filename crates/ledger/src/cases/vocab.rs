//! The ledger's controlled vocabularies: each with its code name (glossary.md) and the
//! Chinese label users see and type. Imports accept either.

use serde::{Deserialize, Serialize};

/// Declares a vocabulary enum with `as_str`, `label`, `ALL` and a `parse` that accepts the
/// code name or the Chinese label.
macro_rules! vocab {
    ($(#[$m:meta])* $name:ident { $($v:ident => $code:literal, $label:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $code),+ }
            }
            pub fn label(self) -> &'static str {
                match self { $($name::$v => $label),+ }
            }
            /// The code name or the Chinese label, trimmed.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.as_str() == s || v.label() == s)
            }
            /// Every label, for error messages that list what is allowed.
            pub fn labels() -> String {
                Self::ALL.iter().map(|v| v.label()).collect::<Vec<_>>().join("、")
            }
        }
    };
}

vocab! {
    /// Campaign tags: each has its own ledger view and statistics.
    Tag {
        HazardousWaste => "hazardous_waste", "两打·危险废物";
        MonitoringFraud => "monitoring_fraud", "两打·自动监测数据造假";
        ThirdPartyFraud => "third_party_fraud", "第三方弄虚作假";
        ClearWaterBlueSky => "clear_water_blue_sky", "清水蓝天";
        TransferredDuties => "transferred_duties", "划转职能";
    }
}

vocab! {
    /// Sub-types of third-party fraud, as the article counts them.
    ThirdPartySubtype {
        Testing => "testing", "检测";
        AutomaticMonitoring => "automatic_monitoring", "自动监控";
        VehicleEmissionTesting => "vehicle_emission_testing", "机动车尾气检测";
        CompletionAcceptance => "completion_acceptance", "竣工验收";
        Eia => "eia", "环评";
        Other => "other", "其他";
    }
}

vocab! {
    /// Kinds of administrative penalty (行政处罚法 Art. 9).
    PenaltyKind {
        Warning => "warning", "警告";
        Fine => "fine", "罚款";
        Confiscation => "confiscation", "没收违法所得";
        PermitSuspension => "permit_suspension", "暂扣许可证件";
        ProductionSuspension => "production_suspension", "责令停产停业";
        Closure => "closure", "责令关闭";
        NoPenalty => "no_penalty", "不予处罚";
    }
}

vocab! {
    /// Supporting measures other than referrals (配套办法).
    MeasureKind {
        SealAndSeize => "seal_and_seize", "查封扣押";
        ProductionRestriction => "production_restriction", "限产停产";
        DailyPenalty => "daily_penalty", "按日连续处罚";
    }
}

vocab! {
    /// Referrals out of the bureau.
    ReferralKind {
        Detention => "detention", "移送行政拘留";
        Criminal => "criminal", "移送涉嫌犯罪";
        MarketRegulator => "market_regulator", "移送市场监管部门";
    }
}

vocab! {
    /// Periods excluded from the 90-day decision deadline (办法 Art. 57).
    SuspensionKind {
        Suspension => "suspension", "中止";
        Hearing => "hearing", "听证";
        Announcement => "announcement", "公告";
        Monitoring => "monitoring", "监测检测";
        Appraisal => "appraisal", "评估鉴定认定";
        Service => "service", "送达";
    }
}

vocab! {
    /// Approvals a dossier keeps with the approver (办法 Arts 18, 35, 36, 57; 结案审批表).
    ApprovalKind {
        Filing => "filing", "立案";
        FilingExtension => "filing_extension", "立案延期";
        TermExtension => "term_extension", "办案期限延长";
        TermCollective => "term_collective", "继续延期（集体讨论）";
        Suspension => "suspension", "中止调查";
        Termination => "termination", "终止调查";
        Closure => "closure", "结案";
    }
}

vocab! {
    /// Kinds of evidence (行政处罚法 Art 46).
    EvidenceKind {
        Documentary => "documentary", "书证";
        Physical => "physical", "物证";
        Audiovisual => "audiovisual", "视听资料";
        Electronic => "electronic", "电子数据";
        Testimony => "testimony", "证人证言";
        Statement => "statement", "当事人的陈述";
        ExpertOpinion => "expert_opinion", "鉴定意见";
        InspectionRecord => "inspection_record", "勘验笔录、现场笔录";
    }
}

vocab! {
    /// The prior notice served (行政处罚法 Art 44): of the penalty only, or of the penalty
    /// with the right to ask for a hearing (Art 63).
    NoticeKind {
        Penalty => "penalty", "行政处罚事先告知";
        Hearing => "hearing", "行政处罚听证告知";
    }
}

vocab! {
    /// What a provision is cited for in a decision (行政处罚法 Art 59).
    ProvisionRole {
        Violated => "violated", "违反条款";
        Penalty => "penalty", "处罚依据条款";
    }
}

/// The items of a list separated by 、 , ， ; ； or spaces.
pub fn items(s: &str) -> impl Iterator<Item = &str> {
    s.split(['、', ',', '，', ';', '；', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
}

/// Parses a list separated by 、 , ， ; ； or spaces.
pub fn parse_list<T>(s: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    items(s)
        .map(|x| parse(x).ok_or_else(|| x.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_by_code_or_label() {
        assert_eq!(Tag::parse("清水蓝天"), Some(Tag::ClearWaterBlueSky));
        assert_eq!(
            Tag::parse(" third_party_fraud "),
            Some(Tag::ThirdPartyFraud)
        );
        assert_eq!(
            ThirdPartySubtype::parse("环评"),
            Some(ThirdPartySubtype::Eia)
        );
        assert_eq!(Tag::parse("扫黑除恶"), None);
        assert_eq!(
            parse_list("罚款、警告", PenaltyKind::parse).unwrap(),
            vec![PenaltyKind::Fine, PenaltyKind::Warning]
        );
        assert_eq!(
            parse_list("罚款;拘留", PenaltyKind::parse).unwrap_err(),
            "拘留"
        );
    }
}
