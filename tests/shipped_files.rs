//! Every XML, SVG and TOML file the project ships parses. A comment holding
//! `--` in `kafka/pom.xml` (commit 067f134) made Maven refuse the pom, so
//! every cold start failed while CI, with warm caches, stayed green.

use std::path::{Path, PathBuf};

/// The pom of commit 067f134, cut to the comment that broke it.
const POM_067F134: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!--
  Another release by name (`--kafka-version`, resolve_kafka_version in
  src/cluster/dist.rs) adds -Dkafka.version=<version>.
-->
<project><modelVersion>4.0.0</modelVersion></project>
"#;

/// Files under the repository root with one of `extensions`, skipping
/// build output and version control.
fn shipped(extensions: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "node_modules") {
                    walk(&path, extensions, out);
                }
            } else if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
                if extensions.contains(&ext) {
                    out.push(path);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(env!("CARGO_MANIFEST_DIR")), extensions, &mut out);
    out
}

fn xml_error(text: &str) -> Option<String> {
    roxmltree::Document::parse(text)
        .err()
        .map(|e| e.to_string())
}

#[test]
fn the_check_catches_the_pom_that_broke_every_cold_start() {
    let e = xml_error(POM_067F134).expect("a comment holding `--` is not XML");
    assert!(e.contains("comment"), "{e}");
}

#[test]
fn every_xml_and_svg_file_parses() {
    let files = shipped(&["xml", "svg"]);
    for must in [
        "kafka/pom.xml",
        "drivers/java/pom.xml",
        "kafka/peers/pom.xml",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(must)),
            "{must} not found among {files:?}"
        );
    }
    let bad: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            xml_error(&text).map(|e| format!("{}: {e}", f.display()))
        })
        .collect();
    assert!(bad.is_empty(), "not well-formed:\n{}", bad.join("\n"));
}

#[test]
fn every_toml_file_parses() {
    let files = shipped(&["toml"]);
    assert!(files.iter().any(|f| f.ends_with("Cargo.toml")));
    assert!(files.iter().any(|f| f.ends_with("workloads/default.toml")));
    let bad: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            toml::from_str::<toml::Value>(&text)
                .err()
                .map(|e| format!("{}: {e}", f.display()))
        })
        .collect();
    assert!(bad.is_empty(), "not valid TOML:\n{}", bad.join("\n"));
}

/// Every workload the README and the Makefile name loads as a workload and
/// passes validation, not only as TOML: a misspelt field in a study's file
/// would otherwise surface minutes into `make bench-…`.
#[test]
fn every_workload_file_loads_and_validates() {
    let files: Vec<PathBuf> = shipped(&["toml"])
        .into_iter()
        .filter(|f| f.parent().is_some_and(|p| p.ends_with("workloads")))
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        kafka_order_bench::grid::Workload::from_file(f)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

/// Every relative link in the README names a file the repository holds
/// (tracked by git where git is there: an untracked report directory
/// exists here and nowhere else).
#[test]
fn every_readme_link_is_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let tracked: Option<Vec<String>> = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        });
    let mut links = Vec::new();
    for piece in readme.split("](").skip(1) {
        let Some(end) = piece.find(')') else { continue };
        let link = piece[..end].split('#').next().unwrap();
        if link.is_empty() || link.contains("://") {
            continue;
        }
        links.push(link.trim_start_matches("./").to_string());
    }
    assert!(
        links.iter().any(|l| l == "reports/example/REPORT.md"),
        "{links:?}"
    );
    let missing: Vec<&String> = links
        .iter()
        .filter(|l| match &tracked {
            Some(files) => !files
                .iter()
                .any(|f| f == *l || f.starts_with(&format!("{l}/"))),
            None => !root.join(l).exists(),
        })
        .collect();
    assert!(
        missing.is_empty(),
        "README links to files not in the repository: {missing:?}"
    );
}
