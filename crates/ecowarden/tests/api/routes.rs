//! Every route × every role: what each may reach, and that scope holds.
//!
//! The table names each route of `web::ROUTES`; a route added to the app without a row here
//! fails `every_route_is_in_the_table`.

use crate::helpers::{client, get_json, spawn_app};

/// Demo users, one per role (and two scopes of the same role).
const USERS: [&str; 8] = [
    "admin",
    "analyst",
    "fz_leader",
    "fz_officer",
    "gulou",
    "taijiang",
    "xm_leader",
    "auditor",
];

/// Expected status per user, in USERS order. 303 = redirected (to the login form).
struct Row {
    method: &'static str,
    /// The route template, as in `web::ROUTES`.
    route: &'static str,
    /// The concrete path; `{case}` is a case of 台江区 (350103), `{victim}` an account there.
    path: &'static str,
    /// Body for POSTs: form fields, or JSON when it starts with `{`.
    body: &'static str,
    anonymous: u16,
    expect: [u16; 8],
}

const ALL_OK: [u16; 8] = [200; 8];
/// Readable by the province, 福州 and the county itself; not by 鼓楼 or 厦门.
const TAIJIANG_SCOPED: [u16; 8] = [200, 200, 200, 200, 403, 200, 403, 200];
/// Changes to 台江's records: writers whose scope covers it (province, 福州, 台江 itself).
const TAIJIANG_WRITE: [u16; 8] = [303, 403, 303, 303, 403, 303, 403, 403];
/// 稽查 pages: the provincial administrator and the auditor.
const INSPECT_OK: [u16; 8] = [200, 403, 403, 403, 403, 403, 403, 200];
/// 稽查 changes: as reading, answered with a redirect.
const INSPECT_WRITE: [u16; 8] = [303, 403, 403, 403, 403, 403, 403, 303];
/// Deciding 台江's screening leads: as writing, and the provincial analyst too.
const TAIJIANG_LEADS: [u16; 8] = [303, 303, 303, 303, 403, 303, 403, 403];

const TABLE: &[Row] = &[
    Row {
        method: "GET",
        route: "/login",
        path: "/login",
        body: "",
        anonymous: 200,
        expect: ALL_OK,
    },
    // Without the login form's double-submit cookie a login is refused, signed in or not.
    Row {
        method: "POST",
        route: "/login",
        path: "/login",
        body: "username={me}&password=Demo-2024!",
        anonymous: 403,
        expect: [403; 8],
    },
    Row {
        method: "GET",
        route: "/healthz",
        path: "/healthz",
        body: "",
        anonymous: 200,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/assets/{file}",
        path: "/assets/vendor/echarts.min.js",
        body: "",
        anonymous: 200,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/",
        path: "/",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/cases",
        path: "/cases?year=2023",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/cases",
        path: "/cases?region=350103",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/cases/{id}",
        path: "/cases/{case}",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/org",
        path: "/org",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    // The officer roster: leaders and administrators.
    Row {
        method: "GET",
        route: "/org/officers",
        path: "/org/officers",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 403, 403, 403, 200, 403],
    },
    Row {
        method: "GET",
        route: "/users",
        path: "/users",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 403, 403, 403, 200, 403],
    },
    Row {
        method: "POST",
        route: "/users",
        path: "/users",
        body: "username=new_{me}&display_name=测试&password=Test-Passw0rd!&role=county_officer&region_code=350103",
        anonymous: 303,
        expect: [200, 403, 200, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST",
        route: "/users/{id}/disable",
        path: "/users/{victim}/disable",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST",
        route: "/users/{id}/enable",
        path: "/users/{victim}/enable",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST",
        route: "/users/{id}/password",
        path: "/users/{victim}/password",
        body: "password=Another-Pass1!",
        anonymous: 303,
        expect: [200, 403, 200, 403, 403, 403, 403, 403],
    },
    Row {
        method: "GET",
        route: "/audit",
        path: "/audit",
        body: "",
        anonymous: 303,
        expect: [200, 403, 403, 403, 403, 403, 403, 200],
    },
    Row {
        method: "GET",
        route: "/modules/{name}",
        path: "/modules/contests",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/api/docs",
        path: "/api/docs",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "POST",
        route: "/logout",
        path: "/logout",
        body: "",
        anonymous: 303,
        expect: [303; 8],
    },
    Row {
        method: "GET",
        route: "/api/v1/openapi.json",
        path: "/api/v1/openapi.json",
        body: "",
        anonymous: 200,
        expect: ALL_OK,
    },
    Row {
        method: "POST",
        route: "/api/v1/session",
        path: "/api/v1/session",
        body: "{\"username\":\"{me}\",\"password\":\"Demo-2024!\"}",
        anonymous: 401,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/api/v1/me",
        path: "/api/v1/me",
        body: "",
        anonymous: 401,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/api/v1/regions",
        path: "/api/v1/regions",
        body: "",
        anonymous: 401,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/api/v1/dashboard",
        path: "/api/v1/dashboard?year=2023",
        body: "",
        anonymous: 401,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/api/v1/cases",
        path: "/api/v1/cases?region=350103",
        body: "",
        anonymous: 401,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/api/v1/cases/{id}",
        path: "/api/v1/cases/{case}",
        body: "",
        anonymous: 401,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/api/v1/cases/{id}/history",
        path: "/api/v1/cases/{case}/history",
        body: "",
        anonymous: 401,
        expect: TAIJIANG_SCOPED,
    },
    // A version nobody saw: refused as stale (409, a conflict with the case as it stands) where the caller may write.
    Row {
        method: "POST",
        route: "/api/v1/cases/{id}/transitions",
        path: "/api/v1/cases/{case}/transitions",
        body: r#"{"to":"suspended","on":"2024-12-31","version":0}"#,
        anonymous: 401,
        expect: [409, 403, 409, 409, 403, 409, 403, 403],
    },
    Row {
        method: "GET",
        route: "/api/v1/users",
        path: "/api/v1/users",
        body: "",
        anonymous: 401,
        expect: [200, 403, 200, 403, 403, 403, 200, 403],
    },
    Row {
        method: "POST",
        route: "/api/v1/users",
        path: "/api/v1/users",
        body: "{\"username\":\"api_{me}\",\"display_name\":\"测试\",\"password\":\"Test-Passw0rd!\",\"role\":\"county_officer\",\"region_code\":\"350103\"}",
        anonymous: 401,
        expect: [201, 403, 201, 403, 403, 403, 403, 403],
    },
    Row {
        method: "GET",
        route: "/api/v1/audit-log",
        path: "/api/v1/audit-log",
        body: "",
        anonymous: 401,
        expect: [200, 403, 403, 403, 403, 403, 403, 200],
    },
    // The template holds no data: any signed-in user.
    Row {
        method: "GET",
        route: "/monitoring/registry/template.xlsx",
        path: "/monitoring/registry/template.xlsx",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/cases/template.xlsx",
        path: "/cases/template.xlsx",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/cases/import",
        path: "/cases/import",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 200, 200, 200, 200, 403],
    },
    // Writers get past role and CSRF checks, then 400: an import must be a file upload
    // (tests/api/ledger_io.rs sends real ones).
    Row {
        method: "POST",
        route: "/cases/import",
        path: "/cases/import",
        body: "",
        anonymous: 303,
        expect: [400, 403, 400, 400, 400, 400, 400, 403],
    },
    Row {
        method: "GET",
        route: "/cases/export.xlsx",
        path: "/cases/export.xlsx?region=350103&year=2023",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/stats/export.xlsx",
        path: "/stats/export.xlsx?year=2023",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/stats/export.xlsx",
        path: "/stats/export.xlsx?year=2023&half=1&region=350103",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    // The ledger's pages. Writers inside 台江's scope act on its case (303 back to the case
    // page, with the result as a message); the rest are refused.
    Row {
        method: "GET",
        route: "/cases/new",
        path: "/cases/new",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 200, 200, 200, 200, 403],
    },
    Row {
        method: "POST",
        route: "/cases/new",
        path: "/cases/new",
        body: "violation=x",
        anonymous: 303,
        expect: [422, 403, 422, 422, 422, 422, 422, 403],
    },
    // A stage the case cannot take (or a stale version): writers in scope get the page again
    // with the form as sent (422); nothing changes for the next row.
    Row {
        method: "POST",
        route: "/cases/{id}/transition",
        path: "/cases/{case}/transition",
        body: "to=suspended&on=2024-12-31&version=1",
        anonymous: 303,
        expect: [422, 403, 422, 422, 403, 422, 403, 403],
    },
    // Correcting 台江's case: the form for writers in scope; a stale version (0 never is
    // current) is refused inside the page after the scope check.
    Row {
        method: "GET",
        route: "/cases/{id}/edit",
        path: "/cases/{case}/edit",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 200, 403, 200, 403, 403],
    },
    Row {
        method: "POST",
        route: "/cases/{id}/edit",
        path: "/cases/{case}/edit",
        body: "version=0&reason=%E5%BD%95%E5%85%A5%E9%94%99%E8%AF%AF&violation=x",
        anonymous: 303,
        expect: [422, 403, 422, 422, 403, 422, 403, 403],
    },
    Row {
        method: "POST",
        route: "/cases/{id}/documents",
        path: "/cases/{case}/documents",
        body: "doc_type=4&doc_no=询问笔录1&signed_on=2024-12-31",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "POST",
        route: "/cases/{id}/records",
        path: "/cases/{case}/records",
        body: "kind=inspection&started_at=2024-12-30T09:00&ended_at=2024-12-30T10:30&place=厂区&officers=闽3501030001、闽3501030002",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "POST",
        route: "/cases/{id}/approvals",
        path: "/cases/{case}/approvals",
        body: "kind=filing&approved_on=2024-12-31&approver=王局长",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "POST",
        route: "/cases/{id}/evidence",
        path: "/cases/{case}/evidence",
        body: "kind=physical&description=废水样品&collected_on=2024-12-31&collected_by=闽3501030001",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "POST",
        route: "/cases/{id}/provisions",
        path: "/cases/{case}/provisions",
        body: "role=violated&provisions=《中华人民共和国水污染防治法》第三十九条",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "POST",
        route: "/cases/{id}/hearing",
        path: "/cases/{case}/hearing",
        body: "notice_kind=hearing&discretion_item=水-12",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "POST",
        route: "/cases/{id}/measures",
        path: "/cases/{case}/measures",
        body: "kind=seal_and_seize&decided_on=2024-12-31&items=设备",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "POST",
        route: "/cases/{id}/referrals",
        path: "/cases/{case}/referrals",
        body: "kind=detention&agency=公安局&referred_on=2024-12-31",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "POST",
        route: "/referrals/{id}/outcome",
        path: "/referrals/{referral}/outcome",
        body: "persons_detained=1&arrest_review_persons=0&arrest_approved_persons=0&prosecution_persons=0&guilty_plea_persons=0",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "GET",
        route: "/campaigns",
        path: "/campaigns",
        body: "",
        anonymous: 303,
        expect: [303; 8],
    },
    Row {
        method: "GET",
        route: "/campaigns/{tag}",
        path: "/campaigns/third_party_fraud",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/third-parties",
        path: "/third-parties",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/third-parties/{id}",
        path: "/third-parties/1",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/cooperation",
        path: "/cooperation",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/stats",
        path: "/stats?year=2023",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/stats",
        path: "/stats?year=2023&region=350103",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/stats/figure",
        path: "/stats/figure?year=2023&half=&region=&key=clear_water.cases",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    // 节假日安排: the provincial administrator only (every legal check of the province reads it).
    Row {
        method: "GET",
        route: "/admin/holidays",
        path: "/admin/holidays",
        body: "",
        anonymous: 303,
        expect: [200, 403, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST",
        route: "/admin/holidays",
        path: "/admin/holidays",
        body: "year=2031&days=2031-10-01,holiday,国庆节,测试",
        anonymous: 303,
        expect: [200, 403, 403, 403, 403, 403, 403, 403],
    },
    // 案卷检查: every reader, inside their scope.
    Row {
        method: "GET",
        route: "/checks",
        path: "/checks?year=2023&check=C5",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/checks",
        path: "/checks?year=2023&region=350103",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/checks/export.xlsx",
        path: "/checks/export.xlsx?year=2023&region=350103",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    }, // 在线监控: 台江's outlet is read by the scopes that cover it and changed by their writers.
    Row {
        method: "GET",
        route: "/monitoring",
        path: "/monitoring",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/monitoring",
        path: "/monitoring?region=350103",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/monitoring/receiver",
        path: "/monitoring/receiver",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/monitoring/outlets/new",
        path: "/monitoring/outlets/new",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 200, 200, 200, 200, 403],
    },
    Row {
        method: "POST",
        route: "/monitoring/outlets",
        path: "/monitoring/outlets",
        body: "mn=ROUTEMN01&password=123456&st=32&outlet_name=测试排口&facility_name=福建台江路由测试有限公司&credit_code=91350103MA2YK8LQ14&region_code=350103&industry=电镀&factors=w01018,50,mg/L,0-500,4,",
        anonymous: 303,
        expect: TAIJIANG_WRITE,
    },
    Row {
        method: "GET",
        route: "/monitoring/outlets/{id}",
        path: "/monitoring/outlets/{outlet}",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    // Only a provincial administrator decides which CRC a logger's frames may carry.
    Row {
        method: "POST",
        route: "/monitoring/outlets/{id}/crc",
        path: "/monitoring/outlets/{outlet}/crc",
        body: "crc_variant=hj212",
        anonymous: 303,
        expect: [303, 403, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "GET",
        route: "/monitoring/outlets/{id}/edit",
        path: "/monitoring/outlets/{outlet}/edit",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 200, 403, 200, 403, 403],
    },
    Row {
        method: "GET",
        route: "/monitoring/registry/import",
        path: "/monitoring/registry/import",
        body: "",
        anonymous: 303,
        expect: [200, 403, 200, 200, 200, 200, 200, 403],
    },
    // Writers get past role and CSRF checks, then 400: an import must be a file upload.
    Row {
        method: "POST",
        route: "/monitoring/registry/import",
        path: "/monitoring/registry/import",
        body: "",
        anonymous: 303,
        expect: [400, 403, 400, 400, 400, 400, 400, 403],
    },
    Row {
        method: "GET",
        route: "/api/v1/monitoring/outlets",
        path: "/api/v1/monitoring/outlets?region=350103",
        body: "",
        anonymous: 401,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/api/v1/monitoring/outlets/{id}/data",
        path: "/api/v1/monitoring/outlets/{outlet}/data",
        body: "",
        anonymous: 401,
        expect: TAIJIANG_SCOPED,
    },
    Row {
        method: "GET",
        route: "/api/v1/monitoring/receiver",
        path: "/api/v1/monitoring/receiver",
        body: "",
        anonymous: 401,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/leads",
        path: "/leads?status=all",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/leads/{id}",
        path: "/leads/{lead}",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    // Without officers no case is made: the lead page comes back with the reason, and the
    // lead stays open for the next row.
    Row {
        method: "POST",
        route: "/leads/{id}/accept",
        path: "/leads/{lead}/accept",
        body: "officers=",
        anonymous: 303,
        expect: TAIJIANG_LEADS,
    },
    Row {
        method: "POST",
        route: "/leads/{id}/dismiss",
        path: "/leads/{lead}/dismiss",
        body: "reason=",
        anonymous: 303,
        expect: TAIJIANG_LEADS,
    },
    Row {
        method: "GET",
        route: "/leads/suppressions",
        path: "/leads/suppressions",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    // 启动筛查: the provincial administrator and analyst only. A reversed period is refused
    // with the form as typed, so the table starts no run.
    Row {
        method: "GET",
        route: "/leads/screening",
        path: "/leads/screening",
        body: "",
        anonymous: 303,
        expect: [200, 200, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST",
        route: "/leads/screening",
        path: "/leads/screening",
        body: "from=2026-11-20&to=2026-11-10",
        anonymous: 303,
        expect: [422, 422, 403, 403, 403, 403, 403, 403],
    },
    // Without a reason nothing is lifted: the page comes back with the reason, and the
    // suppression stays for the next row.
    Row {
        method: "POST",
        route: "/leads/suppressions/{id}/lift",
        path: "/leads/suppressions/{suppression}/lift",
        body: "reason=",
        anonymous: 303,
        expect: TAIJIANG_LEADS,
    },
    Row {
        method: "GET",
        route: "/api/v1/leads/suppressions",
        path: "/api/v1/leads/suppressions",
        body: "",
        anonymous: 401,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/api/v1/leads",
        path: "/api/v1/leads",
        body: "",
        anonymous: 401,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/api/v1/leads/{id}",
        path: "/api/v1/leads/{lead}",
        body: "",
        anonymous: 401,
        expect: TAIJIANG_SCOPED,
    },
    // An individual run's sheets (个人考核): each reader gets the sheets they may read
    // (`individual.rs` tests which); a run that does not exist is not found for anyone.
    Row {
        method: "GET",
        route: "/api/v1/assessment/runs/{id}/officers",
        path: "/api/v1/assessment/runs/999999/officers",
        body: "",
        anonymous: 401,
        expect: [404; 8],
    },
    // 案卷评查: every reader sees the plans and results of their scope; plans and the sheet
    // are the provincial administrator's; a sheet is read and filled by its reviewer only
    // ({assignment} is 鼓楼's, of a 台江 dossier).
    Row {
        method: "GET",
        route: "/review",
        path: "/review",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "POST",
        route: "/review/plans",
        path: "/review/plans",
        body: "year={year}&region=350103&size=1&seed=9",
        anonymous: 303,
        expect: [303, 403, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "GET",
        route: "/review/plans/{id}",
        path: "/review/plans/{plan}",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/review/plans/{id}/export.xlsx",
        path: "/review/plans/{plan}/export.xlsx",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    // Reviewers' units put dossiers forward; a case number not in the plan is refused (422).
    Row {
        method: "POST",
        route: "/review/plans/{id}/chosen",
        path: "/review/plans/{plan}/chosen",
        body: "case_no=不存在的案号",
        anonymous: 303,
        expect: [422, 403, 422, 422, 422, 422, 422, 403],
    },
    Row {
        method: "GET",
        route: "/review/assignments/{id}",
        path: "/review/assignments/{assignment}",
        body: "",
        anonymous: 303,
        expect: [200, 403, 403, 403, 200, 403, 403, 403],
    },
    // Only the assigned reviewer submits; a deduction above the item's points is refused.
    Row {
        method: "POST",
        route: "/review/assignments/{id}",
        path: "/review/assignments/{assignment}",
        body: "d_L1=9&c_L1=超分",
        anonymous: 303,
        expect: [403, 403, 403, 403, 422, 403, 403, 403],
    },
    Row {
        method: "GET",
        route: "/review/sheet",
        path: "/review/sheet",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "POST",
        route: "/review/sheet",
        path: "/review/sheet",
        body: "sheet=not json",
        anonymous: 303,
        expect: [422, 403, 403, 403, 403, 403, 403, 403],
    },
    // 稽查: the provincial administrator and auditors; an auditor reaches their team's audits
    // ({audit}'s team is the auditor).
    Row {
        method: "GET",
        route: "/audits",
        path: "/audits",
        body: "",
        anonymous: 303,
        expect: INSPECT_OK,
    },
    Row {
        method: "POST",
        route: "/audits",
        path: "/audits",
        body: "region=350103&scope=案卷&period_from=2023-01-01&period_to=2023-12-31&team=auditor&starts_on=2024-01-02&ends_on=2024-01-05",
        anonymous: 303,
        expect: INSPECT_WRITE,
    },
    Row {
        method: "GET",
        route: "/audits/{id}",
        path: "/audits/{audit}",
        body: "",
        anonymous: 303,
        expect: INSPECT_OK,
    },
    Row {
        method: "POST",
        route: "/audits/{id}/checklist/{item}",
        path: "/audits/{audit}/checklist/{audit_item}",
        body: "done=1&note=已查阅",
        anonymous: 303,
        expect: INSPECT_WRITE,
    },
    Row {
        method: "POST",
        route: "/audits/{id}/findings",
        path: "/audits/{audit}/findings",
        body: "grade=improvement&title=线索未跟进&evidence=线索清单",
        anonymous: 303,
        expect: INSPECT_WRITE,
    },
    Row {
        method: "POST",
        route: "/audits/{id}/rectifications",
        path: "/audits/{audit}/rectifications",
        body: "finding={finding}&item=补办&owner=台江大队&deadline=2024-02-01",
        anonymous: 303,
        expect: INSPECT_WRITE,
    },
    // Closing without evidence is refused (422) for those who reach the audit.
    Row {
        method: "POST",
        route: "/audits/{id}/rectifications/{rid}",
        path: "/audits/{audit}/rectifications/{rectification}",
        body: "progress=进行中&close=1",
        anonymous: 303,
        expect: [422, 403, 403, 403, 403, 403, 403, 422],
    },
    Row {
        method: "GET",
        route: "/api/v1/audits",
        path: "/api/v1/audits",
        body: "",
        anonymous: 401,
        expect: INSPECT_OK,
    },
    Row {
        method: "GET",
        route: "/api/v1/audits/{id}",
        path: "/api/v1/audits/{audit}",
        body: "",
        anonymous: 401,
        expect: INSPECT_OK,
    },
    // Closing the audit with its checklist undone is refused (422) for those who reach it.
    Row {
        method: "POST",
        route: "/audits/{id}/close",
        path: "/audits/{audit}/close",
        body: "",
        anonymous: 303,
        expect: [422, 403, 403, 403, 403, 403, 403, 422],
    },
    // 效能评估: everyone reads the rules and the board; the provincial administrator keeps the
    // rules, decomposes indicators and runs evaluations. A run's ranking and comparisons are
    // for everyone but officers (a city leader sees their city's units), a sheet for those
    // whose scope covers the unit and an officer's own unit, the downloads (every unit) for
    // those whose scope covers the run's area. Uploads are multipart: a urlencoded body is a
    // bad request (400) once the caller may send it. {task} is 台江's.
    Row {
        method: "GET",
        route: "/assessment",
        path: "/assessment",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/assessment/rules",
        path: "/assessment/rules?template=county&year=2024",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "POST",
        route: "/assessment/rules",
        path: "/assessment/rules",
        body: "text=name",
        anonymous: 303,
        expect: [400, 403, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "GET",
        route: "/assessment/rules/{id}",
        path: "/assessment/rules/{rule_set}",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/assessment/rules/{id}/export.toml",
        path: "/assessment/rules/{rule_set}/export.toml",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "GET",
        route: "/assessment/tasks",
        path: "/assessment/tasks?by=owner",
        body: "",
        anonymous: 303,
        expect: ALL_OK,
    },
    Row {
        method: "POST",
        route: "/assessment/tasks",
        path: "/assessment/tasks",
        body: "indicator={rule_set}/1&title=补充台账&owner=350103&deadline=2024-06-30",
        anonymous: 303,
        expect: [303, 403, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "POST",
        route: "/assessment/tasks/{id}",
        path: "/assessment/tasks/{task}",
        body: "progress=50",
        anonymous: 303,
        expect: [400, 403, 403, 403, 403, 400, 403, 403],
    },
    Row {
        method: "GET",
        route: "/assessment/tasks/{id}/evidence",
        path: "/assessment/tasks/{task}/evidence",
        body: "",
        anonymous: 303,
        expect: TAIJIANG_SCOPED,
    },
    // 手工填报: listed for those who read rankings (in their scope), entered by the provincial
    // administrator; {entry} is 台江's, with a file.
    Row {
        method: "GET",
        route: "/assessment/entries",
        path: "/assessment/entries?year=2023&half=",
        body: "",
        anonymous: 303,
        expect: [200, 200, 200, 403, 403, 403, 200, 200],
    },
    Row {
        method: "POST",
        route: "/assessment/entries",
        path: "/assessment/entries",
        body: "year=2023&unit=350103&metric=manual.innovation&value=1&justification=创新",
        anonymous: 303,
        expect: [400, 403, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "GET",
        route: "/assessment/entries/{id}/file",
        path: "/assessment/entries/{entry}/file",
        body: "",
        anonymous: 303,
        expect: [200, 200, 200, 403, 403, 403, 403, 200],
    },
    Row {
        method: "POST",
        route: "/assessment/runs",
        path: "/assessment/runs",
        body: "rule_set={rule_set}&year=2023&half=2&region=350100",
        anonymous: 303,
        expect: [303, 403, 403, 403, 403, 403, 403, 403],
    },
    Row {
        method: "GET",
        route: "/assessment/runs/{id}",
        path: "/assessment/runs/{run}",
        body: "",
        anonymous: 303,
        expect: [200, 200, 200, 403, 403, 403, 200, 200],
    },
    Row {
        method: "GET",
        route: "/assessment/runs/{id}/units/{code}",
        path: "/assessment/runs/{run}/units/350103",
        body: "",
        anonymous: 303,
        expect: [200, 200, 200, 403, 403, 200, 403, 200],
    },
    Row {
        method: "GET",
        route: "/assessment/runs/{id}/export.xlsx",
        path: "/assessment/runs/{run}/export.xlsx",
        body: "",
        anonymous: 303,
        expect: [200, 200, 403, 403, 403, 403, 403, 200],
    },
    Row {
        method: "GET",
        route: "/assessment/runs/{id}/bulletin.pdf",
        path: "/assessment/runs/{run}/bulletin.pdf",
        body: "",
        anonymous: 303,
        expect: [200, 200, 403, 403, 403, 403, 403, 200],
    },
    Row {
        method: "GET",
        route: "/assessment/compare",
        path: "/assessment/compare?a={run}&b={run}",
        body: "",
        anonymous: 303,
        expect: [200, 200, 200, 403, 403, 403, 200, 200],
    },
];

#[test]
fn every_route_is_in_the_table() {
    for (method, route) in ecowarden_web::ROUTES {
        assert!(
            TABLE
                .iter()
                .any(|r| r.method == *method && r.route == *route),
            "route {method} {route} has no row in the route × role table"
        );
    }
}

#[tokio::test]
async fn every_route_for_every_role() {
    let app = spawn_app().await;
    let case = app.case_in("350103").await.to_string();
    let outlet = app.outlet_in("350103").await.to_string();
    let lead = app.lead_in("350103").await.to_string();
    let suppression = app.suppression_in("350103").await.to_string();
    let org = app.org.clone();
    let victim = ecowarden_core::auth::create_user(
        &app.db,
        &org,
        "test",
        &ecowarden_core::auth::NewUser {
            username: "victim".into(),
            display_name: "被操作账户".into(),
            password: "Victim-Passw0rd!".into(),
            role: ecowarden_core::auth::Role::CountyOfficer,
            region_code: "350103".into(),
        },
    )
    .await
    .unwrap()
    .to_string();
    let referral = ecowarden_ledger::cases::workflow::add_referral(
        &app.db,
        &ecowarden_core::scope::Scope::Province,
        "test",
        case.parse().unwrap(),
        ecowarden_ledger::cases::vocab::ReferralKind::Criminal,
        "福州市公安局台江分局",
        chrono::NaiveDate::from_ymd_opt(2024, 12, 1).unwrap(),
    )
    .await
    .unwrap()
    .to_string();
    let review = review_fixtures(&app).await;
    let mut failures = Vec::new();
    for who in std::iter::once(None).chain(USERS.iter().map(Some)) {
        for row in TABLE {
            // A fresh session per request: logout must not end the session of the next row.
            let (c, csrf) = match who {
                Some(u) => app.login(u).await,
                None => (client(), String::new()),
            };
            let me = who.copied().unwrap_or("nobody");
            let path = row
                .path
                .replace("{case}", &case)
                .replace("{victim}", &victim)
                .replace("{referral}", &referral)
                .replace("{outlet}", &outlet)
                .replace("{lead}", &lead)
                .replace("{suppression}", &suppression);
            let path = review.fill(&path);
            let url = format!("{}{path}", app.base);
            let body = review.fill(&row.body.replace("{me}", me));
            let req = match row.method {
                "GET" => c.get(&url),
                _ if body.starts_with('{') => c
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-csrf-token", &csrf)
                    .body(body),
                _ => {
                    let mut form: Vec<(String, String)> = url_pairs(&body);
                    form.push(("csrf".into(), csrf.clone()));
                    c.post(&url).form(&form)
                }
            };
            let status = req.send().await.unwrap().status().as_u16();
            let expected = match who {
                None => row.anonymous,
                Some(u) => row.expect[USERS.iter().position(|x| x == u).unwrap()],
            };
            if status != expected {
                failures.push(format!(
                    "{me:>10} {} {path}: got {status}, expected {expected}",
                    row.method
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "route × role mismatches:\n{}",
        failures.join("\n")
    );
}

fn url_pairs(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|s| !s.is_empty())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Lists are filtered by scope, not only single records: a county officer's list, dashboard
/// and region list hold nothing of another county.
#[tokio::test]
async fn lists_hold_only_the_callers_scope() {
    let app = spawn_app().await;
    for (user, check) in [
        ("gulou", "350102"),
        ("fz_leader", "350100"),
        ("xm_leader", "350200"),
    ] {
        let (c, _) = app.login(user).await;
        for page in 1..=3 {
            let v: serde_json::Value =
                get_json(&c, format!("{}/api/v1/cases?page={page}", app.base)).await;
            for item in v["items"].as_array().unwrap() {
                let (region, city) = (
                    item["region_code"].as_str().unwrap(),
                    item["city_code"].as_str().unwrap(),
                );
                let ok = if check.ends_with("00") {
                    city == check
                } else {
                    region == check
                };
                assert!(ok, "{user} sees a case of {region}/{city}");
            }
        }
        let regions: Vec<serde_json::Value> =
            get_json(&c, format!("{}/api/v1/regions", app.base)).await;
        assert!(!regions.is_empty());
        for r in &regions {
            let code = r["code"].as_str().unwrap();
            assert!(
                code == check || r["city_code"] == check,
                "{user} sees region {code}"
            );
        }
        let d: serde_json::Value =
            get_json(&c, format!("{}/api/v1/dashboard?year=2023", app.base)).await;
        let n: i64 = if check.ends_with("00") {
            sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE city_code = $1 AND year = 2023")
        } else {
            sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE region_code = $1 AND year = 2023")
        }
        .bind(check)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        assert_eq!(d["cases"].as_i64().unwrap(), n, "{user} dashboard count");
    }
    // 平潭综合实验区 reports to the province, not to 福州: a 福州 leader does not see it.
    let (c, _) = app.login("fz_leader").await;
    let r = c
        .get(format!("{}/api/v1/cases?region=350128", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// The OpenAPI document puts each parameter where the handler reads it: `{…}` segments are
/// required path parameters, every list filter an optional query parameter (utoipa's
/// `IntoParams` otherwise describes a filter struct as required path parameters).
#[tokio::test]
async fn openapi_filters_are_optional_query_parameters() {
    let app = spawn_app().await;
    let doc: serde_json::Value =
        get_json(&client(), format!("{}/api/v1/openapi.json", app.base)).await;
    let mut queries = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let want = if path.contains(&format!("{{{name}}}")) {
                    ("path", true)
                } else {
                    queries += 1;
                    ("query", false)
                };
                let got = (
                    p["in"].as_str().unwrap(),
                    p["required"].as_bool().unwrap_or(false),
                );
                assert_eq!(got, want, "{method} {path}: {name}");
            }
        }
    }
    assert!(queries > 20, "only {queries} query parameters described");
    let region = doc["paths"]["/api/v1/cases"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "region")
        .expect("/api/v1/cases describes its region filter");
    assert_eq!(region["in"], "query");
    assert_ne!(region["required"], true);
}

/// A refused out-of-scope request is in the security log.
#[tokio::test]
async fn out_of_scope_attempt_is_logged() {
    let app = spawn_app().await;
    let case = app.case_in("350103").await;
    let (c, _) = app.login("gulou").await;
    let before = app.security_events("forbidden").await;
    let r = c
        .get(format!("{}/cases/{case}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("无权访问其他地区的数据"));
    assert_eq!(app.security_events("forbidden").await, before + 1);
}

/// A review plan of one 台江 dossier (reviewed by 鼓楼 and 厦门, the only eligible reviewers of
/// the demo), and an audit of 台江 whose team is the auditor, with a finding and a
/// rectification item; a rule set, a county run of the province with it, and a task of 台江
/// with an evidence file: the ids the table's paths name.
struct ReviewFixtures(Vec<(&'static str, String)>);

impl ReviewFixtures {
    fn fill(&self, s: &str) -> String {
        self.0
            .iter()
            .fold(s.to_owned(), |s, (k, v)| s.replace(k, v))
    }
}

async fn review_fixtures(app: &crate::helpers::TestApp) -> ReviewFixtures {
    let (plan, year) = crate::review::plan_of_one(app, 10.0).await;
    let assignment = ecowarden_assessment::review::assignments_of(&app.db, "gulou")
        .await
        .unwrap()[0]
        .id;
    let (audit, item, finding, rectification) = crate::review::audit_of_taijiang(app).await;
    let rule_set = crate::assess_pages::save_rules(app, crate::assess::RULES).await;
    let run = crate::assess_pages::run_from_page(app, rule_set, "2023", "").await;
    let task = crate::assess_pages::task_of_taijiang(app, rule_set).await;
    let entry = crate::assess_pages::entry_of_taijiang(app).await;
    ReviewFixtures(vec![
        ("{rule_set}", rule_set.to_string()),
        ("{run}", run.to_string()),
        ("{task}", task.to_string()),
        ("{entry}", entry.to_string()),
        ("{year}", year.to_string()),
        ("{plan}", plan.to_string()),
        ("{assignment}", assignment.to_string()),
        ("{audit_item}", item.to_string()),
        ("{audit}", audit.to_string()),
        ("{finding}", finding.to_string()),
        ("{rectification}", rectification.to_string()),
    ])
}
