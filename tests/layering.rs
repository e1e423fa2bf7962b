//! The crate's modules import only modules listed before them in the
//! layout of `src/lib.rs`: the picture there is the dependency order, and
//! this check keeps it true. A module that needs one listed after it is a
//! cycle in the making; move the shared piece down, or the module up.
//!
//! What counts as an import: every `crate::<module>` path in code (a `use`,
//! a type, a call), `crate::{<module>, …}` groups, and `super::<module>`
//! where `super` is the crate root. Comments and doc links do not count: a
//! doc link to a later stage is a pointer, not a dependency.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The modules in the order `src/lib.rs`'s layout lists them: every bullet
/// of its `//!` comment that starts with a module name in backticks, as
/// `` - [`grid`]: … `` or `` - `ffi`: … ``.
fn declared_order(lib_rs: &str) -> Vec<String> {
    lib_rs
        .lines()
        .filter_map(|l| l.trim().strip_prefix("//! - "))
        .filter_map(|rest| {
            let rest = rest.strip_prefix('[').unwrap_or(rest);
            let rest = rest.strip_prefix('`')?;
            let name = &rest[..rest.find('`')?];
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
                .then(|| name.to_string())
        })
        .collect()
}

/// The modules `src/lib.rs` declares (`pub mod x;`, `mod x;`).
fn declared_modules(lib_rs: &str) -> Vec<String> {
    lib_rs
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.to_string())
        })
        .collect()
}

/// Every `.rs` file of module `name` under `src`, with its depth below the
/// crate root (`src/x.rs` and `src/x/mod.rs` are 1, `src/x/y.rs` is 2).
fn module_files(src: &Path, name: &str) -> Vec<(PathBuf, usize)> {
    let single = src.join(format!("{name}.rs"));
    if single.is_file() {
        return vec![(single, 1)];
    }
    let mut out = Vec::new();
    let mut dirs = vec![(src.join(name), 1usize)];
    while let Some((dir, depth)) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push((path, depth + 1));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let is_mod = path.file_name().is_some_and(|f| f == "mod.rs");
                out.push((path, if is_mod { depth } else { depth + 1 }));
            }
        }
    }
    out.sort();
    out
}

/// Code without its comments: `//` to the end of the line and `/* … */`.
/// Crude about strings, which is safe here: cutting a line short can only
/// hide a reference, never invent one, and no string of this crate holds
/// `crate::` followed by code.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let line_c = rest.find("//");
        let block_c = rest.find("/*");
        match (line_c, block_c) {
            (Some(l), b) if b.map_or(true, |b| l < b) => {
                out.push_str(&rest[..l]);
                rest = &rest[l..];
                rest = rest.find('\n').map_or("", |n| &rest[n..]);
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                rest = rest[b..].find("*/").map_or("", |e| &rest[b + e + 2..]);
            }
            _ => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    out
}

/// The crate modules one file names, with the line of each mention.
fn references(code: &str, depth: usize, modules: &[String]) -> Vec<(String, usize)> {
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    for root in ["crate::".to_string(), "super::".repeat(depth)] {
        for (start, _) in code.match_indices(root.as_str()) {
            // `super::super::x` must not also match as `super::x`.
            let before = &code[..start];
            if before.ends_with("::") || before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
            {
                continue;
            }
            let at = start + root.len();
            for (name, offset) in first_segments(code, at) {
                if modules.contains(&name) {
                    out.push((name, line_of(offset)));
                }
            }
        }
    }
    out
}

/// The first path segment(s) named at byte `at`: one for `x::…`, one per
/// top-level item for a group `{x::…, y, …}` (nested groups and line
/// breaks allowed), each with its offset.
fn first_segments(code: &str, at: usize) -> Vec<(String, usize)> {
    let ident = |from: usize| -> String {
        code[from..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    if !code[at..].starts_with('{') {
        return vec![(ident(at), at)];
    }
    let mut out = Vec::new();
    let (mut depth, mut item_start) = (0usize, at + 1);
    for (i, c) in code[at..].char_indices() {
        let i = at + i;
        match c {
            '{' => depth += 1,
            '}' | ',' if depth == 1 => {
                let lead = code[item_start..i].len() - code[item_start..i].trim_start().len();
                let from = item_start + lead;
                out.push((ident(from), from));
                item_start = i + 1;
                if c == '}' {
                    break;
                }
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    out
}

/// Every import of a module listed at or after the importer, as
/// `file:line: a imports b, listed after it`.
fn violations(src: &Path) -> Vec<String> {
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let order = declared_order(&lib_rs);
    let rank: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut problems = Vec::new();
    for m in declared_modules(&lib_rs) {
        let Some(&mine) = rank.get(m.as_str()) else {
            problems.push(format!("src/lib.rs: module {m} is not in the layout"));
            continue;
        };
        for (file, depth) in module_files(src, &m) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (target, line) in references(&strip_comments(&text), depth, &order) {
                if target != m && rank[target.as_str()] > mine {
                    problems.push(format!(
                        "{}:{line}: {m} imports {target}, which the layout lists after it",
                        file.display()
                    ));
                }
            }
        }
    }
    for m in &order {
        if order.iter().filter(|o| *o == m).count() > 1 {
            problems.push(format!("src/lib.rs: {m} is listed twice in the layout"));
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

#[test]
fn every_module_imports_only_modules_listed_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let order = declared_order(&lib_rs);
    let mut declared = declared_modules(&lib_rs);
    declared.sort();
    let mut listed = order.clone();
    listed.sort();
    assert_eq!(
        listed, declared,
        "the layout in src/lib.rs lists every module once"
    );
    let problems = violations(&src);
    assert!(
        problems.is_empty(),
        "{} upward import(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_check_catches_an_upward_import_and_ignores_comments() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        "//! - [`low`]: first.\n//! - `high`: second.\npub mod low;\nmod high;\n",
    )
    .unwrap();
    // A doc link and a comment up the order are fine; code is not.
    std::fs::write(
        src.join("low.rs"),
        "//! See [`crate::high`].\n// crate::high::x\npub fn f() {}\n",
    )
    .unwrap();
    std::fs::create_dir(src.join("high")).unwrap();
    std::fs::write(src.join("high/mod.rs"), "use super::low::f;\nmod inner;\n").unwrap();
    std::fs::write(src.join("high/inner.rs"), "use super::super::low;\n").unwrap();
    assert!(violations(src).is_empty(), "{:?}", violations(src));

    std::fs::write(
        src.join("low.rs"),
        "use crate::{\n    high::Thing,\n};\npub fn f() {}\n",
    )
    .unwrap();
    let v = violations(src);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].ends_with("low.rs:2: low imports high, which the layout lists after it"),
        "{v:?}"
    );

    std::fs::write(src.join("low.rs"), "fn g() { super::high::h() }\n").unwrap();
    assert_eq!(violations(src).len(), 1);
}
