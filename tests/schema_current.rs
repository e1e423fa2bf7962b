//! The current results schema, frozen by the committed example: a field
//! renamed, removed or retyped changes what `save` writes, and this test
//! fails until the example is run again under the new schema (as the README
//! asks whenever the measurement or the grid changes).

use std::path::Path;

use kafka_order_bench::results::{Results, SCHEMA_VERSION};

#[test]
fn the_committed_example_loads_and_saves_to_identical_bytes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/example/results.json");
    let original = std::fs::read(&path).expect("reports/example/results.json is committed");
    let results = Results::load(&path).expect("the example loads");
    assert_eq!(results.schema_version, SCHEMA_VERSION);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("results.json");
    results.save(&saved).unwrap();
    let saved = std::fs::read(&saved).unwrap();
    if saved != original {
        let (a, b) = (
            String::from_utf8_lossy(&original),
            String::from_utf8_lossy(&saved),
        );
        let line = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or_else(|| a.lines().count().min(b.lines().count()));
        panic!(
            "the example does not survive load and save: first difference at line {}:\n  committed: {}\n  saved:     {}",
            line + 1,
            a.lines().nth(line).unwrap_or("<end>"),
            b.lines().nth(line).unwrap_or("<end>")
        );
    }
}
