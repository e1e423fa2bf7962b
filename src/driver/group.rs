//! Several producers of one cell, each its own client instance on a thread
//! of its own, driven as one [`CellProducer`].
//!
//! Every phase runs on all of them at once: a round sends one round's
//! records from each, a fixed-rate phase splits the rate between them. A
//! cell's window is its producers' windows together: their records summed
//! over the longest of their durations (they start together; the longest
//! one bounds the time all of those records took, so the rate is a lower
//! bound on the cell's, never a sum of rates measured over different
//! spans).

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use hdrhistogram::Histogram;

use super::{CellProducer, Counter, ProducerError};
use crate::cpu::ClientProbe;
use crate::librdkafka::{merged, FixedRate, RoundSpec, SessionTotals};
use crate::results::{Latency, Sample};

type Job = Box<dyn FnOnce(&mut Option<Box<dyn CellProducer>>) + Send>;

/// One producer and the thread it lives on.
struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    fn start(index: usize, producer: Box<dyn CellProducer>) -> Worker {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name(format!("kob-producer-{index}"))
            .spawn(move || {
                let mut producer = Some(producer);
                for job in rx {
                    job(&mut producer);
                }
            })
            .expect("a producer thread starts");
        Worker {
            jobs: Some(tx),
            thread: Some(thread),
        }
    }

    /// Runs `f` on the producer's thread; its answer comes on the receiver.
    fn ask<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Option<Box<dyn CellProducer>>) -> T + Send + 'static,
    ) -> mpsc::Receiver<T> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |p| {
            let _ = tx.send(f(p));
        });
        self.jobs
            .as_ref()
            .expect("jobs are sent only while the worker lives")
            .send(job)
            .expect("a producer thread outlives its worker");
        rx
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Asks every worker at once and waits for every answer, in order.
fn all<T: Send + 'static>(
    workers: &[Worker],
    f: impl Fn(&mut Box<dyn CellProducer>) -> T + Send + Sync + Clone + 'static,
) -> Vec<T> {
    let answers: Vec<_> = workers
        .iter()
        .map(|w| {
            let f = f.clone();
            w.ask(move |p| f(p.as_mut().expect("a live producer")))
        })
        .collect();
    answers
        .into_iter()
        .map(|rx| rx.recv().expect("a producer thread answers"))
        .collect()
}

/// The first error of several answers, or all their values.
fn first_error<T>(answers: Vec<Result<T, ProducerError>>) -> Result<Vec<T>, ProducerError> {
    answers.into_iter().collect()
}

/// A cell's producers, driven as one.
pub struct Group {
    workers: Vec<Worker>,
    samples: Vec<Sample>,
    /// Latency of every window of every producer.
    latency: Vec<Histogram<u64>>,
    rounds: u32,
    sent: Counter,
    acked: Counter,
}

impl Group {
    /// Each producer on a thread of its own (at least two make a group).
    pub fn new(producers: Vec<Box<dyn CellProducer>>) -> Group {
        let sent = Counter::sum(producers.iter().map(|p| p.sent_counter()));
        let acked = Counter::sum(producers.iter().map(|p| p.acked_counter()));
        let workers = producers
            .into_iter()
            .enumerate()
            .map(|(i, p)| Worker::start(i, p))
            .collect();
        Group {
            workers,
            samples: Vec::new(),
            latency: Vec::new(),
            rounds: 0,
            sent,
            acked,
        }
    }
}

/// The cell's windows from its producers' windows of one round: window `i`
/// is every producer's window `i`, their records summed over the longest
/// of their durations; the latency percentiles are over all their records.
pub fn merge_windows(
    round: u32,
    per_producer: &[Vec<(Sample, Histogram<u64>)>],
) -> Vec<(Sample, Histogram<u64>)> {
    let windows = per_producer.iter().map(Vec::len).min().unwrap_or(0);
    (0..windows)
        .map(|i| {
            let latency = merged(per_producer.iter().map(|p| &p[i].1));
            let (mut records, mut bytes, mut elapsed_ns) = (0, 0, 1);
            for (s, _) in per_producer.iter().map(|p| &p[i]) {
                records += s.records;
                bytes += s.bytes;
                elapsed_ns = elapsed_ns.max(s.elapsed_ns);
            }
            let sample = Sample {
                round,
                records,
                bytes,
                elapsed_ns,
                p50_us: latency.value_at_quantile(0.5),
                p99_us: latency.value_at_quantile(0.99),
            };
            (sample, latency)
        })
        .collect()
}

impl CellProducer for Group {
    fn warm_up(&mut self, records: u64) -> Result<(), ProducerError> {
        first_error(all(&self.workers, move |p| p.warm_up(records))).map(|_| ())
    }

    fn round(&mut self, spec: &RoundSpec) -> Result<Vec<Sample>, ProducerError> {
        let spec = *spec;
        let per_producer = first_error(all(&self.workers, move |p| {
            p.round(&spec)?;
            Ok(p.last_windows(spec.windows as usize))
        }))?;
        let round = self.rounds;
        self.rounds += 1;
        let merged = merge_windows(round, &per_producer);
        let mut out = Vec::with_capacity(merged.len());
        for (sample, latency) in merged {
            self.samples.push(sample.clone());
            self.latency.push(latency);
            out.push(sample);
        }
        Ok(out)
    }

    /// The rate split evenly between the producers, each sending its share
    /// of the records; latency over all of them.
    fn fixed_rate(&mut self, rate: u64, records: u64) -> Result<FixedRate, ProducerError> {
        let n = self.workers.len() as u64;
        let (share_rate, share_records) = ((rate / n).max(1), records.div_ceil(n));
        let start = Instant::now();
        let runs = first_error(all(&self.workers, move |p| {
            p.fixed_rate(share_rate, share_records)
        }))?;
        let mut runs = runs.into_iter();
        let mut total = runs.next().expect("a group has producers");
        for r in runs {
            total.records += r.records;
            let _ = total.latency.add(&r.latency);
            let _ = total.send_delay.add(&r.send_delay);
        }
        total.rate_per_sec = share_rate * n;
        total.elapsed_ns = start.elapsed().as_nanos() as u64;
        Ok(total)
    }

    fn samples(&self) -> &[Sample] {
        &self.samples
    }

    fn sample_latency(&self) -> &[Histogram<u64>] {
        &self.latency
    }

    fn sent_counter(&self) -> Counter {
        self.sent.clone()
    }

    fn acked_counter(&self) -> Counter {
        self.acked.clone()
    }

    /// Every producer's own reading (each asked on its own thread, where
    /// its records are sent), as one client.
    fn cpu_probe(&self) -> ClientProbe {
        ClientProbe::merge(all(&self.workers, |p| p.cpu_probe()))
    }

    fn wakeups_per_sec(&self, from: Instant, to: Instant) -> Option<f64> {
        let each = all(&self.workers, move |p| p.wakeups_per_sec(from, to));
        each.into_iter().sum()
    }

    /// Every producer's totals together: windows as the group merged them,
    /// delivery reports per stream (each producer's streams are its own),
    /// counts and client counters summed, the highest acknowledged offset
    /// per partition.
    fn finish(self: Box<Self>) -> Result<SessionTotals, ProducerError> {
        let Group {
            workers,
            samples,
            latency,
            ..
        } = *self;
        let answers: Vec<_> = workers
            .iter()
            .map(|w| w.ask(|p| p.take().expect("a live producer").finish()))
            .collect();
        let totals = first_error(
            answers
                .into_iter()
                .map(|rx| rx.recv().expect("a producer thread answers"))
                .collect(),
        )?;
        drop(workers);
        let all_latency = merged(&latency);
        let mut totals = totals.into_iter();
        let mut out = totals.next().expect("a group has producers");
        for t in totals {
            for (i, s) in t.deliveries.streams.into_iter().enumerate() {
                if s.sent > 0 || s.acked.count() > 0 || s.failed.count() > 0 {
                    *out.deliveries.stream_mut(i as u32) = s;
                }
            }
            out.delivery.add(&t.delivery);
            out.client.add(&t.client);
            for (p, o) in t.acked_end_offsets {
                let e = out.acked_end_offsets.entry(p).or_insert(o);
                *e = (*e).max(o);
            }
        }
        out.samples = samples;
        out.latency = Latency::from_histogram(&all_latency);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::librdkafka::new_histogram;

    fn window(records: u64, elapsed_ms: u64, latency_us: &[u64]) -> (Sample, Histogram<u64>) {
        let mut h = new_histogram();
        for &v in latency_us {
            h.record(v).unwrap();
        }
        let s = Sample {
            round: 9,
            records,
            bytes: records * 1024,
            elapsed_ns: elapsed_ms * 1_000_000,
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
        };
        (s, h)
    }

    #[test]
    fn a_cells_window_is_its_producers_records_over_the_longest_of_their_spans() {
        let a = vec![window(1_000, 100, &[10, 10, 10]), window(1_000, 120, &[10])];
        let b = vec![
            window(1_000, 200, &[1_000, 1_000, 1_000]),
            window(1_000, 100, &[20]),
        ];
        let merged = merge_windows(3, &[a, b]);
        assert_eq!(merged.len(), 2);
        let (w0, h0) = &merged[0];
        assert_eq!((w0.round, w0.records, w0.bytes), (3, 2_000, 2_000 * 1024));
        // 2,000 records in the longer span (200 ms): 10,000 records/s, not
        // the 15,000 a sum of the two rates would claim.
        assert_eq!(w0.elapsed_ns, 200_000_000);
        assert_eq!(h0.len(), 6);
        assert_eq!(w0.p99_us, h0.value_at_quantile(0.99));
        assert!(w0.p99_us >= 1_000 && w0.p50_us <= 11, "{w0:?}");
        assert_eq!(merged[1].0.elapsed_ns, 120_000_000);
        // A producer with fewer windows (one failed before a boundary)
        // limits the cell to the windows all of them completed.
        let short = merge_windows(0, &[vec![window(5, 1, &[1])], vec![window(5, 1, &[1]); 2]]);
        assert_eq!(short.len(), 1);
    }
}
