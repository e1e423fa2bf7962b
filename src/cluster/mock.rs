//! librdkafka's mock cluster as a [`Cluster`]: the whole pipeline without a
//! JVM, for tests.
//!
//! The mock (`rdkafka::mocking::MockCluster`) runs inside this process and
//! listens on loopback ports, so every librdkafka client of the suite (the
//! producer, the proxy in front of it, the checker's consumer) reaches it
//! as it would a broker. It is **not** a broker: it ignores `acks`, does
//! not check idempotent sequences and has no JIT to warm. A run on it
//! tests the suite, and its numbers are not results: they are recorded
//! with cluster kind [`ClusterKind::Mock`] and the report says so.
//!
//! It keeps the last 5 MiB of each partition and drops older records: a
//! cell that writes more finds its first records missing (losses). Keep
//! records few and small on it.
//!
//! The mock speaks neither CreateTopics nor DeleteTopics: topics are made
//! through its own API, and removing one is a no-op (they go with the
//! cluster). Its handle is not `Send`, so it lives on a thread of its own
//! that takes requests over a channel and drops it when the
//! [`MockCluster`] is dropped.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;

use rdkafka::config::ClientConfig;

use super::{client_config, Cluster, ClusterError, TopicSpec};
use crate::results::ClusterKind;

/// A request to the thread that owns the mock.
struct CreateTopic {
    spec: TopicSpec,
    reply: Sender<Result<(), String>>,
}

/// librdkafka's in-process mock cluster (see the module documentation).
pub struct MockCluster {
    bootstrap: String,
    brokers: u32,
    properties: Vec<(String, String)>,
    requests: Mutex<Option<Sender<CreateTopic>>>,
    owner: Option<JoinHandle<()>>,
}

impl MockCluster {
    /// Starts a mock cluster of `brokers` brokers; `properties` go to every
    /// client of the suite, as `-X` does for a real cluster.
    pub fn start(brokers: u32, properties: &[(String, String)]) -> Result<Self, ClusterError> {
        if !(1..=9).contains(&brokers) {
            return Err(ClusterError::InvalidOptions(format!(
                "{brokers} brokers; the mock cluster takes 1 to 9"
            )));
        }
        let (requests, inbox) = mpsc::channel();
        let (ready, started) = mpsc::channel();
        let owner = std::thread::Builder::new()
            .name("kob-mock-cluster".into())
            .spawn(move || own(brokers as i32, &ready, &inbox))
            .map_err(|e| mock_error("starting its thread", e.to_string()))?;
        let bootstrap = started
            .recv()
            .unwrap_or_else(|_| Err("its thread stopped".into()))
            .map_err(|m| mock_error("starting", m))?;
        // A metadata request that allows it makes the mock create a topic
        // with its default partition count, and then it refuses to create
        // the topic as the cell asks: a producer opened before its topic
        // exists would race it. `-X` may still say otherwise.
        let no_auto_create = ("allow.auto.create.topics".to_string(), "false".to_string());
        Ok(MockCluster {
            bootstrap,
            brokers,
            properties: std::iter::once(no_auto_create)
                .chain(properties.iter().cloned())
                .collect(),
            requests: Mutex::new(Some(requests)),
            owner: Some(owner),
        })
    }
}

fn mock_error(op: &str, message: String) -> ClusterError {
    ClusterError::Mock {
        op: op.to_string(),
        message,
    }
}

/// The owner thread: creates the mock, reports its bootstrap address, then
/// serves requests until the [`MockCluster`] hangs up.
fn own(brokers: i32, ready: &Sender<Result<String, String>>, inbox: &Receiver<CreateTopic>) {
    let mock = match rdkafka::mocking::MockCluster::new(brokers) {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let _ = ready.send(Ok(mock.bootstrap_servers()));
    for CreateTopic { spec, reply } in inbox {
        let made = mock
            .create_topic(&spec.name, spec.partitions, spec.replication_factor)
            .map_err(|e| e.to_string());
        let _ = reply.send(made);
    }
}

impl Cluster for MockCluster {
    fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }
    fn brokers(&self) -> u32 {
        self.brokers
    }
    fn broker_version(&self) -> Option<String> {
        None
    }
    fn kind(&self) -> ClusterKind {
        ClusterKind::Mock
    }
    fn client_config(&self) -> ClientConfig {
        client_config(&self.bootstrap, &self.properties)
    }
    fn needs_warm_up(&self) -> bool {
        false
    }
    fn make_topic(&self, spec: &TopicSpec) -> Result<(), ClusterError> {
        let failed = |m: String| mock_error(&format!("creating topic {:?}", spec.name), m);
        let (reply, answer) = mpsc::channel();
        let request = CreateTopic {
            spec: spec.clone(),
            reply,
        };
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let sent = requests.as_ref().map(|r| r.send(request).is_ok());
        drop(requests);
        if sent != Some(true) {
            return Err(failed("its thread stopped".into()));
        }
        answer
            .recv()
            .unwrap_or_else(|_| Err("its thread stopped".into()))
            .map_err(failed)
    }
    fn remove_topic(&self, _name: &str) -> Result<(), ClusterError> {
        Ok(())
    }
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        // Hanging up ends the owner's loop, which drops the mock.
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_makes_topics_and_stops() {
        let mock = MockCluster::start(3, &[]).unwrap();
        assert_eq!(mock.kind(), ClusterKind::Mock);
        assert_eq!(mock.brokers(), 3);
        assert!(!mock.needs_warm_up());
        assert!(
            mock.bootstrap().contains("127.0.0.1:"),
            "{}",
            mock.bootstrap()
        );
        let spec = super::super::create_topic(&mock, "kob-mock-t", 2).unwrap();
        assert_eq!((spec.partitions, spec.replication_factor), (2, 3));
        let state = super::super::partition_state(&mock, "kob-mock-t", 1)
            .unwrap()
            .expect("partition 1 exists");
        assert!(state.leader.is_some());
        super::super::delete_topic(&mock, "kob-mock-t").unwrap();
        assert!(super::super::create_topic(&mock, "orders", 1).is_err());
    }

    #[test]
    fn broker_count_is_checked() {
        let e = MockCluster::start(0, &[]).err().unwrap().to_string();
        assert!(e.contains("the mock cluster takes 1 to 9"), "{e}");
    }
}
