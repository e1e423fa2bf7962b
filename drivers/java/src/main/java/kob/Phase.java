package kob;

/**
 * A timed phase (a round or a fixed-rate run) that completions are counted
 * into: it knows how many records it sends, counts them as they complete,
 * and lets the sending thread wait for the last one.
 */
abstract class Phase {
    private final long total;
    private long completed;

    Phase(long total) {
        this.total = total;
    }

    /** Records the phase sends. */
    final long total() {
        return total;
    }

    /**
     * One record of this phase completed at {@code nowNs}: acknowledged when
     * {@code ok}, else failed. {@code stampNs} is the time its stamp carries.
     * Called from the client's I/O thread, or from the sending thread when
     * {@code send()} fails synchronously.
     */
    final synchronized void complete(long nowNs, long stampNs, boolean ok) {
        long n = ++completed;
        completed(n, nowNs, stampNs, ok);
        if (n == total) {
            notifyAll();
        }
    }

    /** What the phase makes of its {@code n}-th completion (1-based), under its lock. */
    protected abstract void completed(long n, long nowNs, long stampNs, boolean ok);

    final synchronized long completedSoFar() {
        return completed;
    }

    /** Waits until every record of the phase completed; false on timeout. */
    final synchronized boolean await(long timeoutMs) throws InterruptedException {
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
}
