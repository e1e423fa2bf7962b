//! A node's configuration before its JVM starts: free ports, its
//! `server.properties` rendered from the template, and the files written to
//! its directory.

use std::net::TcpListener;
use std::path::Path;

use crate::cluster::{create_dir_and_write, ClusterError};

use super::Node;

/// `kafka/server.properties`: the template of every node's configuration.
const SERVER_PROPERTIES: &str = include_str!("../../../kafka/server.properties");
/// `kafka/log4j2.properties`: every node logs to stdout, i.e. its `server.log`.
const LOG4J2_PROPERTIES: &str = include_str!("../../../kafka/log4j2.properties");

/// The ports of one node.
pub(super) struct Listeners {
    /// Client (PLAINTEXT) port.
    pub(super) port: u16,
    pub(super) controller_port: u16,
    /// (REPLICATION listener port, advertised delay line port) when
    /// replication is emulated.
    pub(super) replication: Option<(u16, u16)>,
}

/// Fills the `kafka/server.properties` template for one node.
pub(super) fn render_config(
    id: i32,
    ports: &Listeners,
    voters: &str,
    log_dir: &Path,
    rf: i32,
    extra: &[(String, String)],
) -> String {
    let mut text = SERVER_PROPERTIES
        .replace("{{NODE_ID}}", &id.to_string())
        .replace("{{VOTERS}}", voters)
        .replace("{{PORT}}", &ports.port.to_string())
        .replace("{{CONTROLLER_PORT}}", &ports.controller_port.to_string())
        .replace("{{LOG_DIR}}", &log_dir.display().to_string())
        .replace("{{RF}}", &rf.to_string())
        .replace("{{MIN_ISR}}", &rf.min(2).to_string());
    let (listener, advertised, inter, protocol) = match ports.replication {
        Some((own, delayed)) => (
            format!(",REPLICATION://127.0.0.1:{own}"),
            format!(",REPLICATION://127.0.0.1:{delayed}"),
            "REPLICATION",
            ",REPLICATION:PLAINTEXT",
        ),
        None => (String::new(), String::new(), "PLAINTEXT", ""),
    };
    text = text
        .replace("{{REPLICATION_LISTENER}}", &listener)
        .replace("{{REPLICATION_ADVERTISED}}", &advertised)
        .replace("{{INTER_BROKER_LISTENER}}", inter)
        .replace("{{REPLICATION_PROTOCOL}}", protocol);
    if !extra.is_empty() {
        text.push_str("\n# Overrides (LocalOptions::broker_properties)\n");
        for (k, v) in extra {
            text.push_str(&format!("{k}={v}\n"));
        }
    }
    text
}

/// `n` distinct free ports on 127.0.0.1 (all bound at once, then released).
pub(super) fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// Writes `node-<id>/server.properties` and `node-<id>/log4j2.properties`
/// under `dir` for each of the `n` nodes. `ports` holds their client ports,
/// then their controller ports, then their REPLICATION listener ports;
/// `delayed` the ports of their replication delay lines (empty when
/// replication is not emulated). `rf`: the replication factor of the
/// internal topics; `extra`: lines that override the template.
pub(super) fn write_node_files(
    dir: &Path,
    n: usize,
    ports: &[u16],
    delayed: &[u16],
    rf: i32,
    extra: &[(String, String)],
) -> Result<Vec<Node>, ClusterError> {
    let voters: Vec<String> = (0..n)
        .map(|i| format!("{}@127.0.0.1:{}", i + 1, ports[n + i]))
        .collect();
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let id = i as i32 + 1;
        let node_dir = dir.join(format!("node-{id}"));
        let config = node_dir.join("server.properties");
        let listeners = Listeners {
            port: ports[i],
            controller_port: ports[n + i],
            replication: delayed.get(i).map(|&line| (ports[2 * n + i], line)),
        };
        let text = render_config(
            id,
            &listeners,
            &voters.join(","),
            &node_dir.join("data"),
            rf,
            extra,
        );
        create_dir_and_write(
            &node_dir,
            &[
                (&config, &text),
                (&node_dir.join("log4j2.properties"), LOG4J2_PROPERTIES),
            ],
        )?;
        nodes.push(Node {
            id,
            port: ports[i],
            controller_port: ports[n + i],
            log: node_dir.join("server.log"),
            config,
            child: None,
        });
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_template_is_filled_completely() {
        let text = render_config(
            2,
            &Listeners {
                port: 1000,
                controller_port: 2000,
                replication: None,
            },
            "1@127.0.0.1:2001,2@127.0.0.1:2000",
            Path::new("/d/node-2/data"),
            3,
            &[("log.retention.ms".into(), "1000".into())],
        );
        assert!(!text.contains("{{"), "{text}");
        assert!(text.contains("node.id=2\n"));
        assert!(text.contains("listeners=PLAINTEXT://127.0.0.1:1000,CONTROLLER://127.0.0.1:2000\n"));
        assert!(text.contains("advertised.listeners=PLAINTEXT://127.0.0.1:1000\n"));
        assert!(text.contains("controller.quorum.voters=1@127.0.0.1:2001,2@127.0.0.1:2000\n"));
        assert!(text.contains("offsets.topic.replication.factor=3\n"));
        assert!(text.contains("transaction.state.log.min.isr=2\n"));
        assert!(text.contains("inter.broker.listener.name=PLAINTEXT\n"));
        assert!(text
            .contains("listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"));
        assert!(text.contains("unclean.leader.election.enable=false\n"));
        assert!(text.contains("num.io.threads=2\n"));
        assert!(text.ends_with("log.retention.ms=1000\n"));
        let ports = Listeners {
            port: 1,
            controller_port: 2,
            replication: None,
        };
        let single = render_config(1, &ports, "1@127.0.0.1:2", Path::new("/d"), 1, &[]);
        assert!(single.contains("transaction.state.log.min.isr=1\n"));
    }

    #[test]
    fn emulated_replication_gets_its_own_listener_advertised_through_the_delay_line() {
        let ports = Listeners {
            port: 1000,
            controller_port: 2000,
            replication: Some((3000, 4000)),
        };
        let text = render_config(1, &ports, "1@127.0.0.1:2000", Path::new("/d"), 3, &[]);
        assert!(!text.contains("{{"), "{text}");
        assert!(text.contains(
            "listeners=PLAINTEXT://127.0.0.1:1000,REPLICATION://127.0.0.1:3000,CONTROLLER://127.0.0.1:2000\n"
        ));
        assert!(text.contains(
            "advertised.listeners=PLAINTEXT://127.0.0.1:1000,REPLICATION://127.0.0.1:4000\n"
        ));
        assert!(text.contains("inter.broker.listener.name=REPLICATION\n"));
        assert!(text.contains(
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT\n"
        ));
    }

    #[test]
    fn free_ports_are_distinct() {
        let mut p = free_ports(6).unwrap();
        p.sort_unstable();
        p.dedup();
        assert_eq!(p.len(), 6);
    }
}
