//! A cell's settings in the Java client's names: what the driver passes to
//! `KafkaProducer`.

use std::collections::BTreeMap;

use crate::grid::{Fixed, ProducerSettings};

/// The Java client's configuration of a cell: the base (bootstrap and user
/// properties) plus the cell's settings and the run's fixed values, in the
/// Java client's names. `message_timeout_ms` is `delivery.timeout.ms`; since
/// the Java client refuses a delivery timeout below `linger.ms +
/// request.timeout.ms`, `request.timeout.ms` is lowered to fit when the
/// workload's timeout is shorter than its 30 s default.
pub fn java_config(
    base: &BTreeMap<String, String>,
    settings: &ProducerSettings,
    fixed: &Fixed,
) -> BTreeMap<String, String> {
    let mut c = base.clone();
    let mut set = |k: &str, v: String| {
        c.insert(k.to_string(), v);
    };
    set(
        "max.in.flight.requests.per.connection",
        settings.max_in_flight.to_string(),
    );
    set("acks", settings.acks.as_config().to_string());
    set("enable.idempotence", settings.idempotence.to_string());
    set("linger.ms", fixed.linger_ms.to_string());
    set("batch.size", fixed.batch_bytes.to_string());
    set(
        "compression.type",
        fixed.compression.as_config().to_string(),
    );
    set("delivery.timeout.ms", fixed.message_timeout_ms.to_string());
    let room = fixed.message_timeout_ms.saturating_sub(fixed.linger_ms);
    if room < 30_000 && !base.contains_key("request.timeout.ms") {
        set("request.timeout.ms", room.max(1).to_string());
    }
    c
}

/// The keys of an rdkafka configuration, for
/// [`JavaSession::create`](crate::driver::java::JavaSession::create)'s base:
/// `bootstrap.servers`, `security.protocol`, SASL and SSL settings share
/// their names between the clients.
pub fn base_from_rdkafka(config: &rdkafka::config::ClientConfig) -> BTreeMap<String, String> {
    config
        .config_map()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Acks;

    #[test]
    fn the_cell_config_in_java_names() {
        let base = BTreeMap::from([("bootstrap.servers".to_string(), "h:1".to_string())]);
        let s = ProducerSettings {
            max_in_flight: 5,
            acks: Acks::All,
            idempotence: true,
        };
        let fixed = Fixed::default();
        let c = java_config(&base, &s, &fixed);
        let expect = [
            ("acks", "all"),
            ("batch.size", "16384"),
            ("bootstrap.servers", "h:1"),
            ("compression.type", "none"),
            ("delivery.timeout.ms", "30000"),
            ("enable.idempotence", "true"),
            ("linger.ms", "5"),
            ("max.in.flight.requests.per.connection", "5"),
            // 30000 − linger 5: the client refuses delivery < linger + request timeout.
            ("request.timeout.ms", "29995"),
        ];
        let got: Vec<(&str, &str)> = c.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, expect);
        let long = Fixed {
            message_timeout_ms: 120_000,
            ..Fixed::default()
        };
        assert!(!java_config(&base, &s, &long).contains_key("request.timeout.ms"));
    }
}
