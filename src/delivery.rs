//! The hand-off from [`librdkafka`](crate::librdkafka) (and the Java
//! [`driver`](crate::driver)) to [`verify`](crate::verify): what the client
//! reported about each record it was given, per stream. The producer fills
//! it from its delivery callbacks; the checker judges losses, gaps and
//! possibly persisted records against it.

/// A growable set of sequence numbers, one bit each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bitmap {
    words: Vec<u64>,
}

impl Bitmap {
    /// Sets bit `i`; returns whether it was already set.
    #[inline]
    pub fn set(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let mask = 1u64 << b;
        let was = self.words[w] & mask != 0;
        self.words[w] |= mask;
        was
    }

    #[inline]
    pub fn get(&self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        self.words
            .get(w)
            .is_some_and(|word| word & (1u64 << b) != 0)
    }

    /// Number of bits set.
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// The 64 bits starting at bit `64 * w`.
    #[inline]
    pub fn word(&self, w: u64) -> u64 {
        self.words.get(w as usize).copied().unwrap_or(0)
    }
}

/// What the producer was told about each record of one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamDeliveries {
    /// Records handed to `send()`, numbered 0..sent.
    pub sent: u64,
    /// Sequences the client reported delivered.
    pub acked: Bitmap,
    /// Sequences the client reported failed.
    pub failed: Bitmap,
}

/// Delivery reports of one cell, indexed by stream id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deliveries {
    pub streams: Vec<StreamDeliveries>,
}

impl Deliveries {
    /// The stream's reports, created on first use.
    pub fn stream_mut(&mut self, stream: u32) -> &mut StreamDeliveries {
        let i = stream as usize;
        if i >= self.streams.len() {
            self.streams.resize_with(i + 1, StreamDeliveries::default);
        }
        &mut self.streams[i]
    }
}
