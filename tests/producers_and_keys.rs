//! Several producers per cell and keyed records, on a real local 3-node
//! cluster, with both clients: each producer numbers its own streams, both
//! clients draw the same keys and send them to the same partitions, and
//! the checker reads every stream and every (key, stream) back in order.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_order_bench::cluster::{
    create_topic, delete_topic, topic_name, Cluster, LocalCluster, LocalOptions,
};
use kafka_order_bench::driver::{Clients, Opened};
use kafka_order_bench::grid::{Acks, Cell, Client, Fixed, ProducerSettings};
use kafka_order_bench::librdkafka::RoundSpec;
use kafka_order_bench::record::KeyDistribution;
use kafka_order_bench::verify::{self, Checker, Verdict};

const PRODUCERS: u32 = 3;
const PARTITIONS: u32 = 4;
const KEYS: u64 = 40;
const SEED: u64 = 42;

/// One cell of `client` with three producers writing 40 zipf keys over
/// four partitions: a warm-up, one round; its totals and its checked log.
fn run_cell(cluster: &LocalCluster, clients: &Clients, client: Client) -> (u64, Verdict) {
    let fixed = Fixed {
        partitions: PARTITIONS,
        producers: PRODUCERS,
        keys: KEYS,
        key_distribution: KeyDistribution::Zipf,
        ..Fixed::default()
    };
    let cell = Cell {
        client,
        rtt_us: 0,
        settings: ProducerSettings {
            max_in_flight: 5,
            acks: Acks::All,
            idempotence: true,
        },
        faults: "none".parse().unwrap(),
    };
    let topic = topic_name(&[
        "producers-keys",
        &std::process::id().to_string(),
        &cell.id(),
    ]);
    let Opened::Producer(mut group) = clients
        .open(
            &cell,
            &cluster.client_config(),
            &fixed,
            &topic,
            0x6b65_7973,
            SEED,
        )
        .expect("the producers open")
    else {
        panic!("{} was rejected", cell.id());
    };
    create_topic(cluster, &topic, PARTITIONS as i32).unwrap();
    group.warm_up(300).unwrap();
    let spec = RoundSpec {
        warmup: 200,
        windows: 2,
        records_per_window: 500,
        tail: 100,
        burst: 0,
    };
    let windows = group.round(&spec).unwrap();
    assert_eq!(windows.len(), 2);
    for w in &windows {
        // A cell's window is its producers' windows together.
        assert_eq!(w.records, u64::from(PRODUCERS) * 500, "{w:?}");
    }
    let totals = group.finish().unwrap();
    let sent = u64::from(PRODUCERS) * (300 + spec.records());
    assert_eq!(totals.delivery.sent, sent);
    assert_eq!(totals.delivery.acked, sent);
    // Every producer's streams: 3 producers × 4 partitions.
    let with_records = totals
        .deliveries
        .streams
        .iter()
        .filter(|s| s.sent > 0)
        .count();
    assert_eq!(with_records, (PRODUCERS * PARTITIONS) as usize);
    let ends: BTreeMap<i32, i64> = totals.acked_end_offsets.clone();
    let checker = Checker::new(
        Some(0x6b65_7973),
        Some(&totals.deliveries),
        verify::permitted(&cell.settings),
    );
    let verdict = verify::read_topic(
        &cluster.client_config(),
        &topic,
        Some(&ends),
        checker,
        Duration::from_secs(60),
    )
    .unwrap();
    let _ = delete_topic(cluster, &topic);
    (sent, verdict)
}

#[test]
fn several_producers_with_keys_on_both_clients() {
    let cluster = LocalCluster::start(LocalOptions::default()).expect("local cluster starts");
    let java = Client::Java("4.1.1".into());
    let clients = Clients::prepare(&[Client::Librdkafka, java.clone()]).expect("clients prepare");
    let mut per_partition = Vec::new();
    for client in [Client::Librdkafka, java] {
        let (sent, v) = run_cell(&cluster, &clients, client.clone());
        let what = format!("{client:?}");
        assert_eq!(v.records_read, sent, "{what}");
        assert_eq!(v.streams, PRODUCERS * PARTITIONS, "{what}");
        assert_eq!(
            (
                v.reorders.count,
                v.log_duplicates.count,
                v.missing.count,
                v.foreign,
                v.malformed
            ),
            (0, 0, 0, 0, 0),
            "{what}"
        );
        let keys = v.keys.as_ref().expect("keyed records are checked per key");
        assert_eq!(keys.keyed_records, sent, "{what}");
        assert_eq!(
            keys.keys_on_several_partitions, 0,
            "{what}: a key keeps its partition"
        );
        // Order per key is per producer: (key, stream) pairs, each with
        // the key extension, so missing records are judged per key too.
        assert!(
            keys.keys > KEYS && keys.keys <= KEYS * u64::from(PRODUCERS),
            "{what}: {keys:?}"
        );
        assert_eq!(keys.keys_with_key_seq, keys.keys, "{what}");
        assert_eq!(
            (keys.reorders, keys.missing, keys.keys_with_violations),
            (0, 0, 0),
            "{what}"
        );
        per_partition.push(
            v.partitions
                .iter()
                .map(|(p, c)| (*p, c.records_read))
                .collect::<BTreeMap<_, _>>(),
        );
    }
    // The same seeded draw in both clients: the same records per partition.
    assert_eq!(per_partition[0], per_partition[1]);
    // Zipf: key 0 is the hottest, so partition 0 holds the most records.
    let p0 = per_partition[0][&0];
    assert!(
        per_partition[0].values().all(|&n| n <= p0),
        "{per_partition:?}"
    );
}
