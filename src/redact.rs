//! Secrets never reach a message: the one place that decides which client
//! property values are secret and removes them from any text.
//!
//! Every message that can carry `-X` properties (errors, log and progress
//! lines, notes) passes through [`redact`] or [`scrub`] before it is printed
//! or written. A front end calls [`register`] once with its properties; code
//! that prints without the properties at hand then calls [`scrub`].
//!
//! Two kinds of value are removed:
//! - the value of every secret-looking key ([`is_secret_key`]), and every
//!   quoted piece of it (a `sasl.jaas.config` copied from a Java client holds
//!   `password="…"`; a message may quote just that part);
//! - the value of any property whose *key* the message names in quotes: that
//!   is how librdkafka reports a property it refuses (`No such configuration
//!   property: "sasl.pasword"`), and a refused key may be a misspelled secret.
//!
//! What reaches a results file is narrower still: a client's configuration
//! is recorded through an allowlist per client ([`recorded_config`]), the
//! keys that shape ordering, batching and retries, so no credential passed
//! with `-X`, however spelled, is ever written.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// What a removed value is replaced with.
pub const MASK: &str = "[redacted]";

/// The librdkafka configuration keys a results file records.
pub const RECORDED_LIBRDKAFKA_KEYS: &[&str] = &[
    "max.in.flight.requests.per.connection",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "retries",
    "message.send.max.retries",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "linger.ms",
    "queue.buffering.max.ms",
    "batch.size",
    "batch.num.messages",
    "compression.codec",
    "compression.type",
    "message.timeout.ms",
    "request.timeout.ms",
    "socket.timeout.ms",
    "enable.gapless.guarantee",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "max.in.flight",
    "security.protocol",
    "partitioner",
    "socket.nagle.disable",
];

/// The Java client's `ProducerConfig` keys a results file records: the
/// same concerns as [`RECORDED_LIBRDKAFKA_KEYS`], in the Java client's names.
pub const RECORDED_JAVA_KEYS: &[&str] = &[
    "max.in.flight.requests.per.connection",
    "enable.idempotence",
    "acks",
    "retries",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "delivery.timeout.ms",
    "request.timeout.ms",
    "linger.ms",
    "batch.size",
    "buffer.memory",
    "max.block.ms",
    "max.request.size",
    "compression.type",
    "partitioner.class",
    "partitioner.ignore.keys",
    "partitioner.adaptive.partitioning.enable",
    "metadata.max.age.ms",
    "send.buffer.bytes",
    "receive.buffer.bytes",
    "security.protocol",
];

/// The part of a client's configuration a results file may hold: the keys
/// of `allowed` ([`RECORDED_LIBRDKAFKA_KEYS`] or [`RECORDED_JAVA_KEYS`]),
/// never a secret-looking one even if listed.
pub fn recorded_config(
    config: BTreeMap<String, String>,
    allowed: &[&str],
) -> BTreeMap<String, String> {
    config
        .into_iter()
        .filter(|(k, _)| allowed.contains(&k.as_str()) && !is_secret_key(k))
        .collect()
}

/// True for keys whose values are credentials: `*password*`, `*secret*`,
/// `*token*`, `*credential*`, `sasl.jaas.config`, `sasl.oauthbearer.*`,
/// `ssl.key.*`, `*.key.pem`, `*private*key*`, `sasl.username` is *not* one.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    ["password", "passwd", "secret", "token", "credential"]
        .iter()
        .any(|w| k.contains(w))
        || k == "sasl.jaas.config"
        || k.ends_with(".jaas.config")
        || k.starts_with("sasl.oauthbearer.")
        || k.starts_with("ssl.key.")
        || k.ends_with(".key.pem")
        || k.ends_with("keystore.key")
        || (k.contains("private") && k.contains("key"))
}

/// The pieces of `value` that must not appear in a message: the value itself
/// and every quoted part of it (`password="p"` inside a JAAS line), trimmed.
fn secret_pieces(value: &str) -> Vec<String> {
    let mut pieces = vec![value.to_string(), value.trim().to_string()];
    for quote in ['"', '\''] {
        let parts: Vec<&str> = value.split(quote).collect();
        // Odd indexes are inside quotes.
        for inner in parts.iter().skip(1).step_by(2) {
            pieces.push((*inner).to_string());
        }
    }
    // `key=value` pairs without quotes (e.g. `password=p;`).
    for part in value.split([' ', ';', ',', '\n', '\t']) {
        if let Some((k, v)) = part.split_once('=') {
            if is_secret_key(k) {
                pieces.push(v.trim_matches(['"', '\'']).to_string());
            }
        }
    }
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// `message` with every secret value of `properties` replaced by [`MASK`],
/// and the value of every property whose key `message` names in quotes.
pub fn redact(message: &str, properties: &[(String, String)]) -> String {
    let mut pieces: Vec<String> = Vec::new();
    for (k, v) in properties {
        if is_secret_key(k) {
            pieces.extend(secret_pieces(v));
        } else if !k.is_empty() && message.contains(&format!("\"{k}\"")) {
            // A value the client echoes while naming its key. Very short
            // values ("1", "all") would garble the message and are no secret
            // on their own, unless quoted as the client quotes a value.
            let v = v.as_str();
            if v.chars().count() >= 3 {
                pieces.extend(secret_pieces(v));
            } else if !v.is_empty() {
                pieces.push(format!("\"{v}\""));
            }
        }
    }
    // Longest first, so a value containing another is removed whole.
    pieces.sort_by_key(|p| std::cmp::Reverse(p.len()));
    pieces.dedup();
    let mut out = message.to_string();
    for p in &pieces {
        // Pieces of one or two characters would mask unrelated text.
        if p.chars().count() < 3 && !p.starts_with('"') {
            continue;
        }
        if p.starts_with('"') && p.len() > 2 {
            out = out.replace(p.as_str(), &format!("\"{MASK}\""));
        } else {
            out = out.replace(p.as_str(), MASK);
        }
    }
    out
}

fn registry() -> &'static Mutex<Vec<(String, String)>> {
    static REGISTRY: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remembers `properties` for [`scrub`]; front ends call it once, as soon as
/// they have parsed their `-X` properties. Calling it again adds to them.
pub fn register(properties: &[(String, String)]) {
    let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
    for p in properties {
        if !r.contains(p) {
            r.push(p.clone());
        }
    }
}

/// [`redact`] with the properties given to [`register`].
pub fn scrub(message: &str) -> String {
    let r = registry().lock().unwrap_or_else(|p| p.into_inner());
    if r.is_empty() {
        return message.to_string();
    }
    redact(message, &r)
}

/// The properties as `key=value` lines safe to show: secret values masked.
pub fn display_properties(properties: &[(String, String)]) -> Vec<String> {
    properties
        .iter()
        .map(|(k, v)| {
            if is_secret_key(k) {
                format!("{k}={MASK}")
            } else {
                format!("{k}={v}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_config_keeps_only_listed_keys_and_never_a_secret() {
        let config: BTreeMap<String, String> = [
            ("acks", "-1"),
            ("linger.ms", "5"),
            ("bootstrap.servers", "broker.internal:9092"),
            ("sasl.jaas.config", "x required password=\"p\";"),
            ("ssl.truststore.password", "p"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let kept = recorded_config(config.clone(), RECORDED_JAVA_KEYS);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["acks", "linger.ms"]);
        // A secret-looking key is dropped even when a list names it.
        let kept = recorded_config(config, &["acks", "ssl.truststore.password"]);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["acks"]);
        // Neither list names a secret.
        for k in RECORDED_LIBRDKAFKA_KEYS.iter().chain(RECORDED_JAVA_KEYS) {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    fn props(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn secret_keys() {
        for k in [
            "sasl.password",
            "ssl.key.password",
            "ssl.keystore.password",
            "ssl.truststore.password",
            "sasl.jaas.config",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.config",
            "ssl.key.pem",
            "ssl_key.pem.key.pem",
            "SASL.PASSWORD",
            "my.api.token",
            "ssl.key.location",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "sasl.username",
            "security.protocol",
            "acks",
            "bootstrap.servers",
            "ssl.certificate.pem",
            "sasl.mechanism",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn secret_values_are_removed_wherever_they_appear() {
        let p = props(&[
            ("sasl.username", "alice"),
            ("sasl.password", "hunter2-pw"),
            ("acks", "all"),
        ]);
        let m = redact(
            "auth failed for alice with hunter2-pw (acks all), again hunter2-pw",
            &p,
        );
        assert_eq!(
            m,
            "auth failed for alice with [redacted] (acks all), again [redacted]"
        );
    }

    #[test]
    fn jaas_config_and_its_quoted_password_are_removed() {
        let jaas = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="s3cr3t-jaas";"#;
        let p = props(&[("sasl.jaas.config", jaas)]);
        let m = redact(
            &format!(
                "No such configuration property: \"sasl.jaas.config\" = \"{jaas}\"; also password=\"s3cr3t-jaas\""
            ),
            &p,
        );
        assert!(!m.contains("s3cr3t-jaas"), "{m}");
        assert!(m.contains("sasl.jaas.config"), "{m}");
    }

    #[test]
    fn a_refused_key_is_named_but_its_value_is_not() {
        let p = props(&[("sasl.pasword", "typo-secret-1")]);
        let m = redact(
            "Client creation error: No such configuration property: \"sasl.pasword\" (value typo-secret-1)",
            &p,
        );
        assert_eq!(
            m,
            "Client creation error: No such configuration property: \"sasl.pasword\" (value [redacted])"
        );
        // A property the message does not name is left alone.
        let p = props(&[("client.id", "my-client")]);
        assert_eq!(
            redact("connected as my-client", &p),
            "connected as my-client"
        );
    }

    #[test]
    fn short_values_of_named_keys_are_masked_only_when_quoted() {
        let p = props(&[("acks", "2")]);
        assert_eq!(
            redact(
                "Invalid value \"2\" for configuration property \"acks\" (2 brokers)",
                &p
            ),
            "Invalid value \"[redacted]\" for configuration property \"acks\" (2 brokers)"
        );
    }

    #[test]
    fn display_masks_secret_values() {
        let p = props(&[("sasl.password", "x1"), ("acks", "all")]);
        assert_eq!(
            display_properties(&p),
            vec!["sasl.password=[redacted]", "acks=all"]
        );
    }
}
