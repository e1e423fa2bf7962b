//! The error convention of `src/error.rs`, checked over the source: no
//! `#[error("…")]` message quotes the field its error exposes as its source
//! (a field named `source`, or one marked `#[source]` or `#[from]`), since
//! the one printer of causes (`error::chain`) would then print that cause
//! twice. A message that quotes its cause keeps it in a field named `cause`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `#[error(...)]` attribute of `text` with the variant it labels:
/// the text up to the next `#[error(` or the end of the enum.
fn variants(text: &str) -> Vec<(usize, &str, &str)> {
    let starts: Vec<usize> = text.match_indices("#[error(").map(|(i, _)| i).collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| {
            let attr_end = text[start..]
                .find(")]")
                .map_or(text.len(), |e| start + e + 2);
            let next = starts.get(k + 1).copied().unwrap_or(text.len());
            let enum_end = text[attr_end..]
                .find("\n}")
                .map_or(text.len(), |e| attr_end + e);
            let line = text[..start].matches('\n').count() + 1;
            (
                line,
                &text[start..attr_end],
                &text[attr_end..next.min(enum_end)],
            )
        })
        .collect()
}

/// The names a variant exposes as its source: `source`, a field after
/// `#[source]` or `#[from]` (its name, or `0` in a tuple variant).
fn sources(variant: &str) -> Vec<String> {
    let mut out = Vec::new();
    if variant.contains("source:") {
        out.push("source".to_string());
    }
    for marker in ["#[source]", "#[from]"] {
        for (i, _) in variant.match_indices(marker) {
            let rest = variant[i + marker.len()..].trim_start();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let after = rest[name.len()..].trim_start();
            let is_field = after.starts_with(':') && !after.starts_with("::");
            out.push(if is_field { name } else { "0".to_string() });
        }
    }
    out
}

fn violations(files: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, attr, variant) in variants(&text) {
            if attr.contains("transparent") {
                continue;
            }
            for name in sources(variant) {
                if attr.contains(&format!("{{{name}}}")) || attr.contains(&format!("{{{name}:")) {
                    out.push(format!(
                        "{}:{line}: the message quotes {{{name}}}, which the error also exposes as its source",
                        file.display()
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn no_message_quotes_its_own_source() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files.sort();
    assert!(files.len() > 50, "read {} files", files.len());
    let v = violations(&files);
    assert!(v.is_empty(), "{}", v.join("\n"));
}

#[test]
fn the_check_catches_a_message_that_quotes_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.rs");
    let write = |s: &str| std::fs::write(&file, s).unwrap();
    let check = || violations(std::slice::from_ref(&file));
    write(
        "enum E {\n    #[error(\"cannot read {path}: {cause} (hint: …)\")]\n    Read { path: String, cause: io::Error },\n    #[error(\"reading {topic}\")]\n    Marks { topic: String, source: KafkaError },\n    #[error(transparent)]\n    Io(#[from] io::Error),\n}\n",
    );
    assert!(check().is_empty(), "{:?}", check());
    write("enum E {\n    #[error(\"cannot read {path}: {source}\")]\n    Read { path: String, source: io::Error },\n}\n");
    assert_eq!(check().len(), 1);
    write("enum E {\n    #[error(\"frame: {0}\")]\n    Io(#[from] io::Error),\n}\n");
    assert_eq!(check().len(), 1);
    write("enum E {\n    #[error(\"x: {inner}\")]\n    X {\n        #[source]\n        inner: Y,\n    },\n}\n");
    assert_eq!(check().len(), 1);
}
