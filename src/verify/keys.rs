//! Per-key order: the records of one key on one stream (one producer × one
//! partition) must appear in the log in `send()` order, which the stream
//! sequence gives (see *Keys* in [`crate::record`]). Counts per key and the
//! keys with violations, in memory bounded by [`MAX_KEYS`].

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::verdict::{KeyCounts, KeyVerdict};

/// (stream, key) pairs tracked at most per checker; keyed records that
/// would open another are counted as `untracked` and not checked per key.
/// About 150 bytes each: 2^17 pairs cost some 20 MiB.
pub const MAX_KEYS: usize = 1 << 17;
/// Key bytes kept per key, to name it in the verdict.
pub const KEY_BYTES_KEPT: usize = 64;
/// Keys with violations listed in the verdict.
pub const MAX_KEY_REPORTS: usize = 100;

/// 64-bit FNV-1a of the key's bytes: a key's identity, checked against the
/// first [`KEY_BYTES_KEPT`] bytes kept, so two keys are confused only when
/// both their hashes and those bytes and their lengths agree.
#[inline]
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The map's hasher: its keys are hashes already, so mixing them once is enough.
#[derive(Default)]
struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(29) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// What is kept per (stream, key).
#[derive(Debug, Clone)]
struct KeyState {
    /// The stream's run id and id (verify mode tells runs apart).
    run_id: u64,
    stream: u32,
    hash: u64,
    key: Box<[u8]>,
    key_len: usize,
    /// The partition its first record was read from, and whether another
    /// partition held records of it too.
    partition: i32,
    several_partitions: bool,
    /// Highest stream sequence read with this key, valid when `distinct > 0`.
    max_seq: u64,
    distinct: u64,
    reorders: u64,
    log_duplicates: u64,
    /// Highest key sequence read, and whether every distinct record of the
    /// key carried one.
    max_key_seq: Option<u64>,
    all_key_seqs: bool,
}

impl KeyState {
    fn same_key(&self, key: &[u8]) -> bool {
        self.key_len == key.len() && *self.key == key[..key.len().min(KEY_BYTES_KEPT)]
    }

    /// Key sequences absent below the highest read, when judged.
    fn missing(&self) -> Option<u64> {
        match (self.all_key_seqs, self.max_key_seq) {
            (true, Some(m)) => Some((m + 1).saturating_sub(self.distinct)),
            _ => None,
        }
    }
}

/// What a keyed record was, for its key.
#[derive(Debug, Clone, Copy)]
pub(super) enum KeyEvent {
    /// A distinct record with this stream sequence and, if carried, key sequence.
    Distinct { seq: u64, key_seq: Option<u64> },
    /// A log duplicate.
    Duplicate,
}

/// The stream a key's record belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) struct StreamRef {
    /// The stream's index in its checker.
    pub(super) index: u32,
    pub(super) run_id: u64,
    pub(super) id: u32,
}

/// Every (stream, key) pair's state.
#[derive(Debug, Default)]
pub(super) struct KeyTable {
    keys: Vec<KeyState>,
    index: HashMap<(u32, u64), u32, BuildHasherDefault<Mix>>,
    keyed_records: u64,
    untracked: u64,
}

impl std::fmt::Debug for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mix")
    }
}

impl KeyTable {
    /// Counts a keyed record that is not a record of a checked stream
    /// (malformed, foreign or a redelivery): keyed, not checked per key.
    #[inline]
    pub(super) fn count_keyed(&mut self) {
        self.keyed_records += 1;
    }

    /// Classifies a keyed record of a checked stream for its key.
    #[inline]
    pub(super) fn observe(
        &mut self,
        stream: StreamRef,
        partition: i32,
        key: &[u8],
        what: KeyEvent,
    ) {
        self.keyed_records += 1;
        let hash = fnv1a(key);
        let i = match self.index.get(&(stream.index, hash)) {
            Some(&i) => i as usize,
            None => {
                if self.keys.len() >= MAX_KEYS {
                    self.untracked += 1;
                    return;
                }
                self.index
                    .insert((stream.index, hash), self.keys.len() as u32);
                self.keys.push(KeyState {
                    run_id: stream.run_id,
                    stream: stream.id,
                    hash,
                    key: key[..key.len().min(KEY_BYTES_KEPT)].into(),
                    key_len: key.len(),
                    partition,
                    several_partitions: false,
                    max_seq: 0,
                    distinct: 0,
                    reorders: 0,
                    log_duplicates: 0,
                    max_key_seq: None,
                    all_key_seqs: true,
                });
                self.keys.len() - 1
            }
        };
        let k = &mut self.keys[i];
        if !k.same_key(key) {
            // Two keys with one hash: the later one is not checked.
            self.untracked += 1;
            return;
        }
        if k.partition != partition {
            k.several_partitions = true;
        }
        match what {
            KeyEvent::Duplicate => k.log_duplicates += 1,
            KeyEvent::Distinct { seq, key_seq } => {
                if k.distinct > 0 && seq < k.max_seq {
                    k.reorders += 1;
                } else {
                    k.max_seq = seq;
                }
                k.distinct += 1;
                match key_seq {
                    Some(q) => k.max_key_seq = Some(k.max_key_seq.map_or(q, |m| m.max(q))),
                    None => k.all_key_seqs = false,
                }
            }
        }
    }

    /// Adds another checker's table; `stream_of` maps its stream indices to
    /// this checker's.
    pub(super) fn merge(&mut self, other: KeyTable, stream_of: impl Fn(u32) -> u32) {
        self.keyed_records += other.keyed_records;
        self.untracked += other.untracked;
        for ((their_stream, hash), j) in other.index {
            let theirs = &other.keys[j as usize];
            let at = (stream_of(their_stream), hash);
            match self.index.get(&at) {
                Some(&i) => {
                    let k = &mut self.keys[i as usize];
                    k.several_partitions |=
                        theirs.several_partitions || theirs.partition != k.partition;
                    k.max_seq = if k.distinct > 0 {
                        k.max_seq.max(theirs.max_seq)
                    } else {
                        theirs.max_seq
                    };
                    k.distinct += theirs.distinct;
                    k.reorders += theirs.reorders;
                    k.log_duplicates += theirs.log_duplicates;
                    k.all_key_seqs &= theirs.all_key_seqs;
                    k.max_key_seq = match (k.max_key_seq, theirs.max_key_seq) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                }
                None if self.keys.len() < MAX_KEYS => {
                    self.index.insert(at, self.keys.len() as u32);
                    self.keys.push(theirs.clone());
                }
                None => self.untracked += theirs.distinct + theirs.log_duplicates,
            }
        }
    }

    /// The per-key verdict; `None` when no record carried a key.
    pub(super) fn finish(self, verify_mode: bool) -> Option<KeyVerdict> {
        if self.keyed_records == 0 {
            return None;
        }
        let mut v = KeyVerdict {
            keyed_records: self.keyed_records,
            keys: self.keys.len() as u64,
            untracked: self.untracked,
            ..KeyVerdict::default()
        };
        // A key is on several partitions when any of its streams saw it on
        // more than one, or its streams are on different partitions.
        let mut partitions_of: HashMap<u64, (i32, bool)> = HashMap::new();
        let mut violating: Vec<KeyCounts> = Vec::new();
        for k in &self.keys {
            let e = partitions_of.entry(k.hash).or_insert((k.partition, false));
            e.1 |= k.several_partitions || e.0 != k.partition;
            let missing = k.missing();
            if missing.is_some() {
                v.keys_with_key_seq += 1;
            }
            v.reorders += k.reorders;
            v.log_duplicates += k.log_duplicates;
            v.missing += missing.unwrap_or(0);
            if k.reorders + k.log_duplicates + missing.unwrap_or(0) > 0 {
                v.keys_with_violations += 1;
                violating.push(KeyCounts {
                    key: key_text(&k.key, k.key_len),
                    partition: k.partition,
                    stream: k.stream,
                    run_id: verify_mode.then_some(k.run_id),
                    records: k.distinct,
                    reorders: k.reorders,
                    log_duplicates: k.log_duplicates,
                    missing,
                });
            }
        }
        v.keys_on_several_partitions = partitions_of.values().filter(|e| e.1).count() as u64;
        violating.sort_by(|a, b| {
            (a.partition, a.stream, &a.key, a.run_id).cmp(&(
                b.partition,
                b.stream,
                &b.key,
                b.run_id,
            ))
        });
        violating.truncate(MAX_KEY_REPORTS);
        v.violating = violating;
        Some(v)
    }
}

/// A key as text: itself when it is UTF-8, else `0x` and its hex; `…` marks
/// a key longer than the bytes kept.
fn key_text(kept: &[u8], len: usize) -> String {
    let mut s = match std::str::from_utf8(kept) {
        Ok(t) => t.to_string(),
        Err(_) => {
            let mut h = String::from("0x");
            for b in kept {
                h.push_str(&format!("{b:02x}"));
            }
            h
        }
    };
    if len > kept.len() {
        s.push('…');
    }
    s
}
