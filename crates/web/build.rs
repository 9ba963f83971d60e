//! Installs the front-end libraries from the npm registry (by name and version in
//! `web/package.json`) and embeds them in the binary, so a bureau intranet with no internet gets
//! every script from ecowarden itself and no third-party file is committed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (name served under /assets/vendor/, path inside web/node_modules, MIME type)
const VENDOR: &[(&str, &str, &str)] = &[
    (
        "echarts.min.js",
        "echarts/dist/echarts.min.js",
        "text/javascript",
    ),
    (
        "htmx.min.js",
        "htmx.org/dist/htmx.min.js",
        "text/javascript",
    ),
    (
        "swagger-ui-bundle.js",
        "swagger-ui-dist/swagger-ui-bundle.js",
        "text/javascript",
    ),
    (
        "swagger-ui.css",
        "swagger-ui-dist/swagger-ui.css",
        "text/css",
    ),
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let web = manifest.join("../../web");
    println!(
        "cargo:rerun-if-changed={}",
        web.join("package.json").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        web.join("package-lock.json").display()
    );
    let modules = web.join("node_modules");
    if VENDOR.iter().any(|(_, p, _)| !modules.join(p).exists()) {
        npm_install(&web);
    }
    let mut out = String::from(
        "/// Front-end libraries installed from npm at build time.\npub static VENDOR: &[(&str, &str, &[u8])] = &[\n",
    );
    for (name, path, mime) in VENDOR {
        let file = modules.join(path).canonicalize().unwrap_or_else(|e| {
            panic!(
                "{} missing after npm install: {e}",
                modules.join(path).display()
            )
        });
        println!("cargo:rerun-if-changed={}", file.display());
        out.push_str(&format!(
            "    ({name:?}, {mime:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("vendor_assets.rs");
    std::fs::write(dest, out).unwrap();
}

fn npm_install(web: &Path) {
    let sub = if web.join("package-lock.json").exists() {
        "ci"
    } else {
        "install"
    };
    let status = Command::new("npm")
        .args([sub, "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(web)
        .status()
        .unwrap_or_else(|e| {
            panic!("ecowarden needs Node.js/npm to install its front-end libraries (web/package.json): {e}")
        });
    assert!(
        status.success(),
        "`npm {sub}` in {} failed: {status}",
        web.display()
    );
}
