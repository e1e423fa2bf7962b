//! `docker-compose.yml` describes the same 3-node KRaft cluster as the local
//! one: no Docker engine runs here, so the file itself is checked: services,
//! node ids, quorum voters, listeners, published ports and the Kafka version.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

fn compose() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml");
    let text = std::fs::read_to_string(path).expect("docker-compose.yml exists");
    serde_yaml::from_str(&text).expect("docker-compose.yml is valid YAML")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

/// `NAME://HOST:PORT,…` → {NAME: (HOST, PORT)}.
fn listeners(spec: &str) -> BTreeMap<String, (String, u16)> {
    spec.split(',')
        .map(|l| {
            let (name, addr) = l.split_once("://").expect("NAME://HOST:PORT");
            let (host, port) = addr.rsplit_once(':').expect("HOST:PORT");
            (
                name.to_string(),
                (host.to_string(), port.parse().expect("port")),
            )
        })
        .collect()
}

struct Broker {
    service: String,
    hostname: String,
    env: BTreeMap<String, String>,
    ports: Vec<String>,
    image: String,
}

fn brokers() -> Vec<Broker> {
    let doc = compose();
    let services = doc["services"].as_mapping().expect("services");
    services
        .iter()
        .map(|(name, s)| Broker {
            service: text(name),
            hostname: text(&s["hostname"]),
            image: text(&s["image"]),
            env: s["environment"]
                .as_mapping()
                .expect("environment is a map")
                .iter()
                .map(|(k, v)| (text(k), text(v)))
                .collect(),
            ports: s["ports"]
                .as_sequence()
                .expect("ports")
                .iter()
                .map(text)
                .collect(),
        })
        .collect()
}

#[test]
fn three_kraft_brokers_of_the_pinned_version() {
    let brokers = brokers();
    assert_eq!(brokers.len(), 3);
    let pom =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/kafka/pom.xml")).unwrap();
    let version = pom
        .split("<kafka.version>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("kafka.version in kafka/pom.xml");
    for b in &brokers {
        assert_eq!(b.image, format!("apache/kafka:{version}"), "{}", b.service);
        assert_eq!(
            b.env["KAFKA_PROCESS_ROLES"], "broker,controller",
            "{}",
            b.service
        );
        assert_eq!(b.env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"], "false");
        assert_eq!(b.env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], "3");
        assert_eq!(b.env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"], "2");
        assert_eq!(b.hostname, b.service);
    }
    let ids: BTreeSet<String> = brokers
        .iter()
        .map(|b| b.env["KAFKA_NODE_ID"].clone())
        .collect();
    assert_eq!(ids.len(), 3, "node ids are unique");
    let cluster_ids: BTreeSet<&String> = brokers.iter().map(|b| &b.env["CLUSTER_ID"]).collect();
    assert_eq!(cluster_ids.len(), 1, "one CLUSTER_ID");
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cluster_ids.iter().next().unwrap().as_bytes())
        .expect("CLUSTER_ID is a Kafka uuid (base64url)");
    assert_eq!(raw.len(), 16);
}

#[test]
fn quorum_voters_are_consistent_with_ids_and_controller_listeners() {
    let brokers = brokers();
    let voters: BTreeSet<&String> = brokers
        .iter()
        .map(|b| &b.env["KAFKA_CONTROLLER_QUORUM_VOTERS"])
        .collect();
    assert_eq!(voters.len(), 1, "every node names the same voters");
    let voters: BTreeSet<String> = voters
        .into_iter()
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let expected: BTreeSet<String> = brokers
        .iter()
        .map(|b| {
            let controller = b.env["KAFKA_CONTROLLER_LISTENER_NAMES"].clone();
            let port = listeners(&b.env["KAFKA_LISTENERS"])[&controller].1;
            format!("{}@{}:{port}", b.env["KAFKA_NODE_ID"], b.hostname)
        })
        .collect();
    assert_eq!(voters, expected);
}

#[test]
fn listeners_are_reachable_from_the_host_on_documented_ports() {
    let brokers = brokers();
    let mut host_ports = BTreeSet::new();
    for b in &brokers {
        let bound = listeners(&b.env["KAFKA_LISTENERS"]);
        let advertised = listeners(&b.env["KAFKA_ADVERTISED_LISTENERS"]);
        let protocols: BTreeMap<&str, &str> = b.env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
            .split(',')
            .map(|p| p.split_once(':').unwrap())
            .collect();
        for name in bound.keys() {
            assert!(
                protocols.contains_key(name.as_str()),
                "{}: {name} has no protocol",
                b.service
            );
        }
        // Every advertised listener is bound, on the same port.
        for (name, (_, port)) in &advertised {
            assert_eq!(bound[name].1, *port, "{}: {name}", b.service);
        }
        // Brokers reach each other by service name.
        let inter = &b.env["KAFKA_INTER_BROKER_LISTENER_NAME"];
        assert_eq!(advertised[inter].0, b.hostname);
        // The controller listener is not advertised to clients.
        assert!(!advertised.contains_key(&b.env["KAFKA_CONTROLLER_LISTENER_NAMES"]));
        // The host reaches the EXTERNAL listener through a published loopback port.
        let (host, port) = &advertised["EXTERNAL"];
        assert_eq!(host, "127.0.0.1");
        assert!(
            b.ports.contains(&format!("127.0.0.1:{port}:{port}")),
            "{}: port {port} is not published: {:?}",
            b.service,
            b.ports
        );
        host_ports.insert(*port);
    }
    assert_eq!(host_ports, BTreeSet::from([19092, 29092, 39092]));
    // The documented bootstrap line matches.
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
        .unwrap();
    assert!(text.contains("--bootstrap 127.0.0.1:19092,127.0.0.1:29092,127.0.0.1:39092"));
}
