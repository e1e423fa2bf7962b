package kob;

import org.HdrHistogram.Histogram;

/**
 * A fixed-rate phase: record i is due at start + i/rate and carries its due
 * time in the stamp, so latency counts from when it should have been sent
 * (coordinated omission corrected); how late send() got to it is recorded
 * apart, by the sending thread.
 */
final class FixedRatePhase implements Phase {
    private final long total;
    private final Histogram latency = Histograms.create();
    private final Histogram sendDelay = Histograms.create();
    private long completed;
    private long lastNs;

    FixedRatePhase(long records) {
        this.total = records;
    }

    long total() {
        return total;
    }

    @Override
    public synchronized void complete(long nowNs, long stampNs, boolean ok) {
        completed++;
        lastNs = Math.max(lastNs, nowNs);
        if (ok) {
            Histograms.recordNs(latency, nowNs - stampNs);
        }
        if (completed == total) {
            notifyAll();
        }
    }

    /** Called by the sending thread only. */
    void sendDelay(long ns) {
        synchronized (sendDelay) {
            Histograms.recordNs(sendDelay, ns);
        }
    }

    synchronized boolean await(long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (completed < total) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
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
