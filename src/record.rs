//! The record format: what every value this suite produces starts with.
//!
//! A record's value begins with a 32-byte header, all integers big-endian:
//!
//! | offset | size | field                                                   |
//! |-------:|-----:|---------------------------------------------------------|
//! | 0      | 4    | magic `KOB1` (ASCII)                                    |
//! | 4      | 8    | run id (u64): the same for every record of one run      |
//! | 12     | 4    | stream id (u32): one stream per producer and partition  |
//! | 16     | 8    | sequence number (u64): 0, 1, 2, … in `send()` order      |
//! | 24     | 8    | intended send time, nanoseconds since the Unix epoch    |
//!
//! Any bytes after the header are padding and are ignored, but for the
//! optional key extension below. A producer in another language that writes
//! this header can be checked by `kafka-order-bench verify`.
//!
//! # Keys
//!
//! A record may carry a Kafka key: any bytes, chosen by the producer (the
//! key's bytes are the key; a null key is no key). Order is promised per
//! partition, so per key only while the key maps to one partition, as with
//! the default partitioner. The checker then also checks order **per key**:
//! within one stream (one producer × one partition), the records of one key
//! must appear in the log in the order they were sent. That order needs no
//! field of its own: a producer's `send()` order of one key's records is
//! their order in the stream, so the stream sequence already gives it (a
//! record of key K whose sequence is below the highest sequence already read
//! for K on its stream is a per-key reorder).
//!
//! What the stream sequence cannot say is *which key* a record absent from
//! the log had. A producer that wants missing records counted per key
//! writes the **key extension** right after the header:
//!
//! | offset | size | field                                                   |
//! |-------:|-----:|---------------------------------------------------------|
//! | 32     | 4    | magic `KOBK` (ASCII)                                    |
//! | 36     | 8    | key sequence (u64): 0, 1, 2, … per key and stream, in `send()` order |
//!
//! i.e. the number of records with the same key the producer sent earlier
//! to the same partition. With it, key sequences absent below the highest
//! one read are **missing** for that key; without it, per-key missing
//! records are not judged (reorders and log duplicates still are).
//!
//! # The suite's own streams and keys
//!
//! A cell has `producers` producers, each its own client instance, writing
//! one topic of `partitions` partitions: producer `i` writes stream
//! `i × partitions + p` to partition `p` ([`Streams`]). Without keys, each
//! producer sends its records round robin over the partitions. With
//! `keys = K` (`--keys K[:zipf]`), each producer draws every record's key
//! index `k` in `0..K` from its own seeded draw ([`KeyChooser`]), sends it
//! to partition `k mod partitions` under the key `key-{k}` (ASCII) and
//! writes the key extension. The suite picks the partition itself, the
//! same way in both clients (the Java driver's `Keys.java` implements the
//! same draw; a test on each side holds the first draws to the same
//! values), so both send the same records to the same partitions; a
//! default partitioner's murmur2 hash spreads keys over partitions the same
//! way on average.
//!
//! The draw is SplitMix64 from the producer's seed ([`key_seed`]);
//! `uniform` takes `x mod K`; `zipf` (exponent 1: key `k` in proportion to
//! `1/(k+1)`) takes the first `k` whose cumulative weight, summed in key
//! order as `f64` and divided by the total, exceeds `(x >> 11) × 2⁻⁵³`.

/// Bytes of the stamped header at the start of every value.
pub const HEADER_BYTES: usize = 32;
/// The first four bytes of every value.
pub const MAGIC: [u8; 4] = *b"KOB1";

/// The first four bytes of the optional key extension, right after the header.
pub const KEY_MAGIC: [u8; 4] = *b"KOBK";
/// Bytes of the header and the key extension together.
pub const KEYED_HEADER_BYTES: usize = HEADER_BYTES + 12;

/// The key sequence of a value that carries the key extension (see
/// *Keys* in the module documentation); `None` otherwise. Never panics.
#[inline]
pub fn key_seq(value: &[u8]) -> Option<u64> {
    let ext = value.get(HEADER_BYTES..KEYED_HEADER_BYTES)?;
    if ext[0..4] != KEY_MAGIC {
        return None;
    }
    Some(u64::from_be_bytes(ext[4..12].try_into().expect("8 bytes")))
}

/// Writes the key extension with `key_seq` into bytes
/// `HEADER_BYTES..KEYED_HEADER_BYTES` of `buf`.
///
/// # Panics
/// If `buf` is shorter than [`KEYED_HEADER_BYTES`].
pub fn write_key_seq(buf: &mut [u8], key_seq: u64) {
    let ext = &mut buf[HEADER_BYTES..KEYED_HEADER_BYTES];
    ext[0..4].copy_from_slice(&KEY_MAGIC);
    ext[4..12].copy_from_slice(&key_seq.to_be_bytes());
}

/// How a cell's records choose their keys: `uniform`, or `zipf` (a few
/// hot keys; see *The suite's own streams and keys*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyDistribution {
    #[default]
    Uniform,
    Zipf,
}

impl KeyDistribution {
    /// Every distribution, by name.
    pub const ALL: [(&'static str, KeyDistribution); 2] = [
        ("uniform", KeyDistribution::Uniform),
        ("zipf", KeyDistribution::Zipf),
    ];

    /// Its name, as workloads and the CLI spell it.
    pub fn name(self) -> &'static str {
        match self {
            KeyDistribution::Uniform => "uniform",
            KeyDistribution::Zipf => "zipf",
        }
    }
}

impl std::str::FromStr for KeyDistribution {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        KeyDistribution::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, d)| *d)
            .ok_or_else(|| format!("unknown key distribution {s:?} (known: uniform, zipf)"))
    }
}

/// SplitMix64's output function: a bijective 64-bit mixer (Steele, Lea and
/// Flood, 2014), the one hash behind every seeded draw of the suite: key
/// draws here, fault plans and failover schedules in [`crate::faults`].
/// Written out so the schedules never change under us.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of producer `producer`'s key draw in a run seeded `seed`.
pub fn key_seed(seed: u64, producer: u32) -> u64 {
    seed ^ (u64::from(producer) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// One producer's key draw (see *The suite's own streams and keys*).
#[derive(Debug, Clone)]
pub struct KeyChooser {
    seed: u64,
    distribution: KeyDistribution,
    state: u64,
    keys: u64,
    /// Zipf: cumulative weights over the total, in key order.
    cdf: Option<Vec<f64>>,
}

impl KeyChooser {
    /// A draw over `keys` keys (at least 1) from `seed`.
    pub fn new(keys: u64, distribution: KeyDistribution, seed: u64) -> KeyChooser {
        let keys = keys.max(1);
        let cdf = match distribution {
            KeyDistribution::Uniform => None,
            KeyDistribution::Zipf => {
                let mut sum = 0.0f64;
                let mut cdf: Vec<f64> = (0..keys)
                    .map(|k| {
                        sum += 1.0 / (k as f64 + 1.0);
                        sum
                    })
                    .collect();
                for c in cdf.iter_mut() {
                    *c /= sum;
                }
                Some(cdf)
            }
        };
        KeyChooser {
            seed,
            distribution,
            state: seed,
            keys,
            cdf,
        }
    }

    /// What the draw was made from: keys, distribution, seed.
    pub fn spec(&self) -> (u64, KeyDistribution, u64) {
        (self.keys, self.distribution, self.seed)
    }

    /// SplitMix64's next output.
    fn next_u64(&mut self) -> u64 {
        let out = splitmix64(self.state);
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        out
    }

    /// The next record's key index, in `0..keys`.
    pub fn next_key(&mut self) -> u64 {
        let x = self.next_u64();
        match &self.cdf {
            None => x % self.keys,
            Some(cdf) => {
                let u = (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                let k = cdf.partition_point(|&c| c <= u) as u64;
                k.min(self.keys - 1)
            }
        }
    }
}

/// Writes the Kafka key of key index `k`, `key-{k}`, over `buf`.
pub fn write_key(buf: &mut Vec<u8>, k: u64) {
    use std::io::Write;
    buf.clear();
    write!(buf, "key-{k}").expect("writing to a Vec never fails");
}

/// Where one producer's next record goes: its partition, its stream, and
/// its key (index and key sequence) when the cell has keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    pub partition: u32,
    pub stream: u32,
    pub seq: u64,
    pub key: Option<(u64, u64)>,
}

/// One producer's streams: which partition, stream and key each of its
/// records takes, and how many each stream was handed.
#[derive(Debug, Clone)]
pub struct Streams {
    first_stream: u32,
    partitions: u32,
    cursor: u32,
    /// Records handed to each partition's stream so far.
    next_seq: Vec<u64>,
    keys: Option<KeyChooser>,
    /// Records sent so far per key index (the key extension's sequence).
    key_seq: std::collections::HashMap<u64, u64>,
}

impl Streams {
    /// Producer `producer` of a cell with `partitions` partitions, keyed by
    /// `keys` when given.
    pub fn new(producer: u32, partitions: u32, keys: Option<KeyChooser>) -> Streams {
        let partitions = partitions.max(1);
        Streams {
            first_stream: producer * partitions,
            partitions,
            cursor: 0,
            next_seq: vec![0; partitions as usize],
            keys,
            key_seq: std::collections::HashMap::new(),
        }
    }

    /// The next record's place, counted as sent.
    #[inline]
    pub fn next_record(&mut self) -> Next {
        let (partition, key) = match &mut self.keys {
            None => {
                let p = self.cursor;
                self.cursor = (self.cursor + 1) % self.partitions;
                (p, None)
            }
            Some(chooser) => {
                let k = chooser.next_key();
                let ks = self.key_seq.entry(k).or_insert(0);
                let key_seq = *ks;
                *ks += 1;
                ((k % u64::from(self.partitions)) as u32, Some((k, key_seq)))
            }
        };
        let seq = self.next_seq[partition as usize];
        self.next_seq[partition as usize] = seq + 1;
        Next {
            partition,
            stream: self.first_stream + partition,
            seq,
            key,
        }
    }

    /// Per stream id, the records handed to it so far.
    pub fn sent(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.next_seq
            .iter()
            .enumerate()
            .map(|(p, &n)| (self.first_stream + p as u32, n))
    }

    /// Records handed to every stream so far.
    pub fn total(&self) -> u64 {
        self.next_seq.iter().sum()
    }

    /// The first stream id of this producer (`producer × partitions`).
    pub fn first_stream(&self) -> u32 {
        self.first_stream
    }

    /// The key draw, when records carry keys.
    pub fn keys(&self) -> Option<&KeyChooser> {
        self.keys.as_ref()
    }
}

/// The header of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub run_id: u64,
    pub stream: u32,
    pub seq: u64,
    pub intended_send_ns: u64,
}

/// Why a value is not a record of this format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Fewer than [`HEADER_BYTES`] bytes, or no value at all.
    TooShort,
    /// The value does not start with [`MAGIC`].
    BadMagic,
}

impl Stamp {
    /// Writes the header into the first [`HEADER_BYTES`] of `buf`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`HEADER_BYTES`]; the workload validation
    /// guarantees it is not.
    #[inline]
    pub fn write(&self, buf: &mut [u8]) {
        let h = &mut buf[..HEADER_BYTES];
        h[0..4].copy_from_slice(&MAGIC);
        h[4..12].copy_from_slice(&self.run_id.to_be_bytes());
        h[12..16].copy_from_slice(&self.stream.to_be_bytes());
        h[16..24].copy_from_slice(&self.seq.to_be_bytes());
        h[24..32].copy_from_slice(&self.intended_send_ns.to_be_bytes());
    }

    /// Reads the header of a value; never panics.
    #[inline]
    pub fn read(value: Option<&[u8]>) -> Result<Stamp, Malformed> {
        let v = value.ok_or(Malformed::TooShort)?;
        if v.len() < HEADER_BYTES {
            return Err(Malformed::TooShort);
        }
        if v[0..4] != MAGIC {
            return Err(Malformed::BadMagic);
        }
        let u64_at = |i: usize| u64::from_be_bytes(v[i..i + 8].try_into().expect("8 bytes"));
        Ok(Stamp {
            run_id: u64_at(4),
            stream: u32::from_be_bytes(v[12..16].try_into().expect("4 bytes")),
            seq: u64_at(16),
            intended_send_ns: u64_at(24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = Stamp {
            run_id: 0xdead_beef_0102_0304,
            stream: 7,
            seq: 123_456_789,
            intended_send_ns: 1_700_000_000_000_000_000,
        };
        let mut buf = vec![0xAA; 1024];
        s.write(&mut buf);
        assert_eq!(&buf[..4], b"KOB1");
        assert_eq!(Stamp::read(Some(&buf)), Ok(s));
    }

    #[test]
    fn header_layout_is_big_endian_at_documented_offsets() {
        let s = Stamp {
            run_id: 1,
            stream: 2,
            seq: 3,
            intended_send_ns: 4,
        };
        let mut buf = [0u8; HEADER_BYTES];
        s.write(&mut buf);
        assert_eq!(buf[11], 1);
        assert_eq!(buf[15], 2);
        assert_eq!(buf[23], 3);
        assert_eq!(buf[31], 4);
    }

    #[test]
    fn key_extension_round_trips_and_is_optional() {
        let mut buf = vec![0u8; 64];
        assert_eq!(key_seq(&buf), None);
        write_key_seq(&mut buf, 0x0102);
        assert_eq!(&buf[32..36], b"KOBK");
        assert_eq!(buf[43], 2);
        assert_eq!(key_seq(&buf), Some(0x0102));
        assert_eq!(key_seq(&buf[..KEYED_HEADER_BYTES - 1]), None);
        assert_eq!(key_seq(&[]), None);
    }

    #[test]
    fn malformed_values_are_classified_not_panicked_on() {
        assert_eq!(Stamp::read(None), Err(Malformed::TooShort));
        assert_eq!(Stamp::read(Some(b"KOB1")), Err(Malformed::TooShort));
        assert_eq!(Stamp::read(Some(&[0u8; 40])), Err(Malformed::BadMagic));
    }

    #[test]
    fn producers_number_their_own_streams() {
        let mut s = Streams::new(2, 4, None);
        let firsts: Vec<(u32, u32, u64)> = (0..6)
            .map(|_| s.next_record())
            .map(|n| (n.partition, n.stream, n.seq))
            .collect();
        assert_eq!(
            firsts,
            vec![
                (0, 8, 0),
                (1, 9, 0),
                (2, 10, 0),
                (3, 11, 0),
                (0, 8, 1),
                (1, 9, 1)
            ]
        );
        assert_eq!(s.total(), 6);
        assert_eq!(
            s.sent().collect::<Vec<_>>(),
            vec![(8, 2), (9, 2), (10, 1), (11, 1)]
        );
    }

    #[test]
    fn a_key_keeps_its_partition_and_counts_its_own_sequence() {
        let mut s = Streams::new(
            1,
            8,
            Some(KeyChooser::new(
                100,
                KeyDistribution::Uniform,
                key_seed(42, 1),
            )),
        );
        let mut per_key: std::collections::HashMap<u64, (u32, u64)> = Default::default();
        for _ in 0..5_000 {
            let n = s.next_record();
            let (k, ks) = n.key.expect("keyed");
            assert!(k < 100);
            assert_eq!(n.partition as u64, k % 8);
            assert_eq!(n.stream, 8 + n.partition);
            let e = per_key.entry(k).or_insert((n.partition, 0));
            assert_eq!((e.0, e.1), (n.partition, ks), "key {k}'s sequence");
            e.1 += 1;
        }
        assert_eq!(
            per_key.len(),
            100,
            "5,000 uniform draws reach every one of 100 keys"
        );
    }

    /// The first draws of each distribution. `drivers/java/src/test/java/kob/KeysTest.java`
    /// asserts the same values: both clients send the same keys.
    #[test]
    fn the_draw_is_the_documented_splitmix64_and_the_java_driver_agrees() {
        let draws = |d| {
            let mut c = KeyChooser::new(1000, d, key_seed(42, 0));
            (0..8).map(|_| c.next_key()).collect::<Vec<_>>()
        };
        assert_eq!(draws(KeyDistribution::Uniform), FIRST_UNIFORM);
        assert_eq!(draws(KeyDistribution::Zipf), FIRST_ZIPF);
        // SplitMix64's published first output from seed 0.
        let mut c = KeyChooser::new(u64::MAX, KeyDistribution::Uniform, 0);
        assert_eq!(c.next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    /// Computed apart, by a Python rendering of the documented draw.
    const FIRST_UNIFORM: [u64; 8] = [291, 858, 764, 250, 62, 925, 908, 5];
    const FIRST_ZIPF: [u64; 8] = [1, 4, 6, 0, 372, 2, 224, 6];

    #[test]
    fn zipf_is_skewed_and_uniform_is_not() {
        let share_of_key_0 = |d| {
            let mut c = KeyChooser::new(1000, d, 7);
            (0..100_000).filter(|_| c.next_key() == 0).count() as f64 / 100_000.0
        };
        // 1/H(1000) = 0.1336; 1/1000 uniform.
        let z = share_of_key_0(KeyDistribution::Zipf);
        assert!((0.125..0.142).contains(&z), "zipf share of key 0: {z}");
        let u = share_of_key_0(KeyDistribution::Uniform);
        assert!(u < 0.002, "uniform share of key 0: {u}");
    }

    #[test]
    fn unknown_distributions_are_refused_by_name() {
        assert_eq!("zipf".parse::<KeyDistribution>(), Ok(KeyDistribution::Zipf));
        let e = "pareto".parse::<KeyDistribution>().unwrap_err();
        assert!(
            e.contains("\"pareto\"") && e.contains("uniform, zipf"),
            "{e}"
        );
    }
}
