//! The import parsers on arbitrary bytes (an .xlsx, .xls or CSV upload, told by content):
//! the case ledger (`ledger_io::read`, then every row through `NewCase::validate`) and the
//! monitoring registry (`registry::parse_table`). Never a panic; a refused file always names
//! at least one problem, so an officer is never told "failed" without a reason.
#![no_main]

use std::sync::OnceLock;

use ecowarden::auth::Scope;
use ecowarden::ledger_io::{self, Upload};
use ecowarden::org::{self, Org};
use ecowarden::{registry, sheet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static ORG: OnceLock<Org> = OnceLock::new();
    let org = ORG.get_or_init(|| org::fujian_regions().into_iter().collect());
    let upload = Upload {
        name: "upload".to_owned(),
        bytes: data.to_vec(),
    };
    match ledger_io::read(&[upload]) {
        Ok(batch) => {
            for case in &batch.cases {
                if let Err(errors) = case.validate(org, &Scope::Province) {
                    assert!(!errors.is_empty());
                }
            }
        }
        Err(problems) => assert!(!problems.is_empty()),
    }
    if let Ok(table) = sheet::read_table(data)
        && let Err(problems) = registry::parse_table("upload", &table)
    {
        assert!(!problems.is_empty());
    }
});
