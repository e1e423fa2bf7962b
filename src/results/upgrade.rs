//! Reading results files of earlier schema versions: each older layout is
//! brought up to the current one in its JSON form, before it is parsed, so
//! the structs carry no compatibility baggage.
//!
//! - Version 1 measured a cell as repeated samples (`records_per_cell`,
//!   `samples`), before steady-state windows in rounds, the network axis and
//!   the client axis. Its cells become one round of `samples` windows under
//!   no emulated network, with the librdkafka client.
//! - Version 2 is version 3 in JSON: version 3 types the strings (fault
//!   profiles, cluster kind, driver) and names `failed_by_error` keys by the
//!   client's error codes; a version-2 file keeps its old keys.

use serde_json::{json, Map, Value};

use crate::grid::Network;
use crate::results::{CellNetwork, Conditions};

/// Brings `value` (a results file of schema version `from`) to the current
/// layout. Returns false for a version it does not know.
pub fn upgrade(value: &mut Value, from: u64) -> bool {
    match from {
        1 => {
            v1_to_v2(value);
            true
        }
        2 | 3 => true,
        _ => false,
    }
}

fn obj(v: &mut Value) -> Option<&mut Map<String, Value>> {
    v.as_object_mut()
}

fn insert_missing(map: &mut Map<String, Value>, key: &str, value: impl FnOnce() -> Value) {
    if !map.contains_key(key) {
        map.insert(key.to_string(), value());
    }
}

fn v1_to_v2(value: &mut Value) {
    if let Some(workload) = value.pointer_mut("/run/workload").and_then(obj) {
        insert_missing(workload, "network", || {
            serde_json::to_value(Network::none()).expect("network serializes")
        });
        if let Some(axes) = workload.get_mut("axes").and_then(obj) {
            insert_missing(axes, "clients", || json!(["librdkafka"]));
        }
        if let Some(fixed) = workload.get_mut("fixed").and_then(obj) {
            fixed.remove("records_per_cell");
            let samples = fixed.remove("samples").unwrap_or(json!(1));
            insert_missing(fixed, "rounds", || json!(1));
            insert_missing(fixed, "windows", || samples);
        }
    }
    let Some(cells) = value.get_mut("cells").and_then(Value::as_array_mut) else {
        return;
    };
    for cell in cells.iter_mut().filter_map(obj) {
        insert_missing(cell, "network", || {
            serde_json::to_value(CellNetwork::default()).expect("network serializes")
        });
        if let Some(m) = cell.get_mut("outcome").and_then(obj) {
            if m.get("status").and_then(Value::as_str) == Some("measured") {
                v1_measurement(m);
            }
        }
    }
}

fn v1_measurement(m: &mut Map<String, Value>) {
    m.remove("send_delay");
    insert_missing(m, "conditions", || {
        serde_json::to_value(Conditions::default()).expect("conditions serialize")
    });
    if let Some(samples) = m.get_mut("samples").and_then(Value::as_array_mut) {
        for s in samples.iter_mut().filter_map(obj) {
            insert_missing(s, "round", || json!(0));
        }
    }
    if let Some(t) = m.get_mut("throughput").and_then(obj) {
        let f = |k: &str| t.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let (mid, lo, hi) = (
            f("records_per_sec"),
            f("records_per_sec_ci_low"),
            f("records_per_sec_ci_high"),
        );
        let half = if mid > 0.0 {
            (hi - lo) / 2.0 / mid * 100.0
        } else {
            0.0
        };
        insert_missing(t, "ci_half_width_pct", || json!(half));
    }
    if let Some(e) = m.get_mut("exposure").and_then(obj) {
        insert_missing(e, "failovers", || json!([]));
    }
    if let Some(v) = m.get_mut("verdict").and_then(obj) {
        insert_missing(v, "missing", || json!({"count": 0, "examples": []}));
    }
}
