package kob;

import org.HdrHistogram.Histogram;

/**
 * A fixed-rate phase: record i is due at start + i/rate and carries its due
 * time in the stamp, so latency counts from when it should have been sent
 * (coordinated omission corrected); how late send() got to it is recorded
 * apart, by the sending thread.
 */
final class FixedRatePhase extends Phase {
    private final Histogram latency = Histograms.create();
    private final Histogram sendDelay = Histograms.create();
    private long lastNs;

    FixedRatePhase(long records) {
        super(records);
    }

    @Override
    protected void completed(long n, long nowNs, long stampNs, boolean ok) {
        lastNs = Math.max(lastNs, nowNs);
        if (ok) {
            Histograms.recordNs(latency, nowNs - stampNs);
        }
    }

    /** Called by the sending thread only. */
    void sendDelay(long ns) {
        synchronized (sendDelay) {
            Histograms.recordNs(sendDelay, ns);
        }
    }

    synchronized long lastCompletionNs() {
        return lastNs;
    }

    synchronized Histogram latency() {
        return latency;
    }

    Histogram sendDelayHistogram() {
        synchronized (sendDelay) {
            return sendDelay;
        }
    }

    /** Record i's due time for a phase started at {@code startNs}. */
    static long dueNs(long startNs, long i, double ratePerSec) {
        return startNs + (long) (i * 1e9 / ratePerSec);
    }
}
