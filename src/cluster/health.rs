//! Is the cluster whole? Before a cell ([`check`]) and during it ([`Watch`]).
//!
//! A broker is *down* when the controller no longer lists it in the metadata
//! or when its listener refuses connections (a SIGKILLed broker refuses at
//! once, while KRaft keeps listing it until its session times out). A
//! partition is *under-replicated* when its ISR is smaller than its replica
//! set, *offline* when it has no leader.
//!
//! The expected brokers are the ones seen when the check or watch began (a
//! local cluster: all its nodes); their addresses name them in messages.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};

use super::Cluster;
use crate::results::Degradation;

/// How often [`Watch`] samples.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);

/// The cluster's state at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Health {
    /// Brokers the cluster should have.
    pub expected_brokers: u32,
    /// Broker ids the metadata lists, sorted.
    pub registered: Vec<i32>,
    /// Expected broker ids that are down (unlisted or refusing connections).
    pub missing: Vec<i32>,
    /// Expected brokers below `expected_brokers` whose ids are unknown
    /// (an external cluster seen short of brokers from the start).
    pub missing_unknown: u32,
    /// `host:port` of every broker seen, by id.
    pub addresses: BTreeMap<i32, String>,
    /// Partitions whose ISR is smaller than their replica set.
    pub under_replicated_partitions: u32,
    /// Partitions without a leader.
    pub offline_partitions: u32,
    /// A few of them, e.g. `kob-x/0 isr [1, 3] of [1, 2, 3]`.
    pub examples: Vec<String>,
    /// The metadata request failed (no broker answered): its error.
    pub metadata_error: Option<String>,
}

impl Health {
    /// Every expected broker up and every partition fully in sync.
    pub fn ok(&self) -> bool {
        self.missing.is_empty()
            && self.missing_unknown == 0
            && self.under_replicated_partitions == 0
            && self.offline_partitions == 0
            && self.metadata_error.is_none()
    }

    /// "broker 2 (127.0.0.1:40123) is down", one clause per missing broker.
    pub fn down_message(&self) -> Option<String> {
        let mut parts: Vec<String> = self
            .missing
            .iter()
            .map(|id| broker_down(*id, self.addresses.get(id)))
            .collect();
        if self.missing_unknown > 0 {
            parts.push(format!(
                "{} of {} brokers are not registered",
                self.missing_unknown, self.expected_brokers
            ));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

fn broker_down(id: i32, address: Option<&String>) -> String {
    format!("{} is down", crate::results::broker_name(id, address))
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.metadata_error {
            return write!(f, "no broker answered a metadata request: {e}");
        }
        if self.ok() {
            return write!(
                f,
                "all {} brokers up, every partition in sync",
                self.expected_brokers
            );
        }
        let mut parts = Vec::new();
        if let Some(d) = self.down_message() {
            parts.push(d);
        }
        if self.under_replicated_partitions > 0 {
            parts.push(format!(
                "{} partition(s) under-replicated",
                self.under_replicated_partitions
            ));
        }
        if self.offline_partitions > 0 {
            parts.push(format!(
                "{} partition(s) without a leader",
                self.offline_partitions
            ));
        }
        write!(f, "{}", parts.join(", "))?;
        if !self.examples.is_empty() {
            write!(f, " (e.g. {})", self.examples.join("; "))?;
        }
        Ok(())
    }
}

/// The cluster's health now; never fails (a failed request is in the result).
pub fn check(cluster: &dyn Cluster) -> Health {
    let Ok(client) = client(cluster.client_config()) else {
        return Health {
            expected_brokers: cluster.brokers(),
            metadata_error: Some("cannot create a metadata client".into()),
            ..Health::default()
        };
    };
    let mut expected = expected_from(cluster);
    sample(&client, cluster.brokers(), &mut expected)
}

/// The brokers a cluster should have: a local cluster's nodes, else none
/// known yet (filled from the first metadata seen).
fn expected_from(cluster: &dyn Cluster) -> BTreeMap<i32, String> {
    match cluster.local() {
        Some(local) => local
            .status()
            .into_iter()
            .map(|n| (n.id, format!("127.0.0.1:{}", n.port)))
            .collect(),
        None => BTreeMap::new(),
    }
}

fn client(mut cfg: ClientConfig) -> Result<BaseProducer, rdkafka::error::KafkaError> {
    cfg.set("reconnect.backoff.max.ms", "500");
    cfg.create()
}

/// One sample. `expected` (id → address) grows with every broker seen.
fn sample(
    client: &BaseProducer,
    expected_brokers: u32,
    expected: &mut BTreeMap<i32, String>,
) -> Health {
    let mut h = Health {
        expected_brokers,
        ..Health::default()
    };
    let md = match client.client().fetch_metadata(None, METADATA_TIMEOUT) {
        Ok(md) => md,
        Err(e) => {
            h.metadata_error = Some(e.to_string());
            h.missing = expected.keys().copied().collect();
            h.addresses = expected.clone();
            return h;
        }
    };
    for b in md.brokers() {
        expected
            .entry(b.id())
            .or_insert_with(|| format!("{}:{}", b.host(), b.port()));
        h.registered.push(b.id());
    }
    h.registered.sort_unstable();
    for (id, addr) in expected.iter() {
        if !h.registered.contains(id) || !accepts(addr) {
            h.missing.push(*id);
        }
    }
    h.missing_unknown = expected_brokers.saturating_sub(expected.len() as u32);
    h.addresses = expected.clone();
    for t in md.topics() {
        for p in t.partitions() {
            let under = p.isr().len() < p.replicas().len();
            let offline = p.leader() < 0;
            if under {
                h.under_replicated_partitions += 1;
            }
            if offline {
                h.offline_partitions += 1;
            }
            if (under || offline) && h.examples.len() < 3 {
                h.examples.push(format!(
                    "{}/{} isr {:?} of {:?}",
                    t.name(),
                    p.id(),
                    p.isr(),
                    p.replicas()
                ));
            }
        }
    }
    h
}

/// True when a TCP connection to `addr` succeeds within a short timeout.
fn accepts(addr: &str) -> bool {
    let Some(sa) = addr.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return true; // cannot tell: trust the metadata
    };
    TcpStream::connect_timeout(&sa, CONNECT_TIMEOUT).is_ok()
}

#[derive(Default)]
struct WatchState {
    open: BTreeMap<i32, u64>,
    /// Brokers missing from one sample only, and since when: a broker is
    /// down once two consecutive samples miss it (a single sample taken
    /// while another broker died can miss them all for a moment).
    suspect: BTreeMap<i32, u64>,
    closed: Vec<Degradation>,
    addresses: BTreeMap<i32, String>,
    last: Option<Health>,
}

/// Samples the cluster's health every [`WATCH_INTERVAL`] in a background
/// thread until [`Watch::stop`].
pub struct Watch {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<WatchState>>,
    started: Instant,
    thread: Option<JoinHandle<()>>,
}

impl Watch {
    /// Starts watching `cluster`; the first sample is taken at once.
    pub fn start(cluster: &dyn Cluster) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(WatchState::default()));
        let started = Instant::now();
        let cfg = cluster.client_config();
        let brokers = cluster.brokers();
        let mut expected = expected_from(cluster);
        let (s2, st2) = (stop.clone(), state.clone());
        let thread = std::thread::Builder::new()
            .name("kob-health".into())
            .spawn(move || {
                let Ok(client) = client(cfg) else { return };
                while !s2.load(Ordering::SeqCst) {
                    let t0 = Instant::now();
                    let h = sample(&client, brokers, &mut expected);
                    let at = started.elapsed().as_millis() as u64;
                    {
                        let mut st = st2.lock().unwrap_or_else(|p| p.into_inner());
                        // A sample whose metadata request failed (a broker
                        // dying mid-request) says nothing about which
                        // brokers are down: seen as all three down for a
                        // few ms when one was killed. Keep it as the last
                        // health, but not as evidence.
                        if h.metadata_error.is_some() {
                            st.last = Some(h);
                            drop(st);
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        }
                        st.addresses = h.addresses.clone();
                        let suspects = std::mem::take(&mut st.suspect);
                        for id in &h.missing {
                            if st.open.contains_key(id) {
                                continue;
                            }
                            match suspects.get(id) {
                                Some(&since) => {
                                    st.open.insert(*id, since);
                                }
                                None => {
                                    st.suspect.insert(*id, at);
                                }
                            }
                        }
                        let back: Vec<i32> = st
                            .open
                            .keys()
                            .filter(|id| !h.missing.contains(id))
                            .copied()
                            .collect();
                        for id in back {
                            let from_ms = st.open.remove(&id).unwrap_or(at);
                            let address = st.addresses.get(&id).cloned();
                            st.closed.push(Degradation {
                                broker: id,
                                address,
                                from_ms,
                                to_ms: at,
                            });
                        }
                        st.last = Some(h);
                    }
                    let rest = WATCH_INTERVAL.saturating_sub(t0.elapsed());
                    // Sleep in slices so stop() returns quickly.
                    let until = Instant::now() + rest;
                    while Instant::now() < until && !s2.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
            .ok();
        Watch {
            stop,
            state,
            started,
            thread,
        }
    }

    /// The latest sample, if one was taken.
    pub fn last(&self) -> Option<Health> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last
            .clone()
    }

    /// Stops sampling; every stretch a broker was down, in order of start.
    /// A broker still down is reported up to now.
    pub fn stop(mut self) -> Vec<Degradation> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let now = self.started.elapsed().as_millis() as u64;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let open = std::mem::take(&mut st.open);
        for (id, from_ms) in open {
            let address = st.addresses.get(&id).cloned();
            st.closed.push(Degradation {
                broker: id,
                address,
                from_ms,
                to_ms: now,
            });
        }
        let mut out = std::mem::take(&mut st.closed);
        out.sort_by_key(|d| (d.from_ms, d.broker));
        out
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_message_names_broker_and_address() {
        let mut addresses = BTreeMap::new();
        addresses.insert(2, "127.0.0.1:40123".to_string());
        let h = Health {
            expected_brokers: 3,
            registered: vec![1, 3],
            missing: vec![2],
            addresses,
            under_replicated_partitions: 4,
            ..Health::default()
        };
        assert!(!h.ok());
        assert_eq!(
            h.down_message().unwrap(),
            "broker 2 (127.0.0.1:40123) is down"
        );
        assert_eq!(
            h.to_string(),
            "broker 2 (127.0.0.1:40123) is down, 4 partition(s) under-replicated"
        );
        let d = Degradation {
            broker: 2,
            address: Some("127.0.0.1:40123".into()),
            from_ms: 1500,
            to_ms: 4000,
        };
        assert_eq!(
            d.to_string(),
            "broker 2 (127.0.0.1:40123) was down from 1.5 s to 4.0 s"
        );
    }

    #[test]
    fn unreachable_cluster_is_reported_not_panicked() {
        let c = super::super::ExternalCluster::unchecked("127.0.0.1:1", &[], 3);
        let h = check(&c);
        assert!(!h.ok());
        assert!(h.metadata_error.is_some());
        assert!(h.to_string().starts_with("no broker answered"), "{h}");
    }

    #[test]
    fn watch_on_an_unreachable_cluster_stops_promptly() {
        let c = super::super::ExternalCluster::unchecked("127.0.0.1:1", &[], 1);
        let w = Watch::start(&c);
        std::thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        // No broker was ever seen, so none is reported down by id.
        assert!(w.stop().is_empty());
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
