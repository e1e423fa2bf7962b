package kob;

import java.time.Instant;

/**
 * A monotonic clock expressed in nanoseconds since the Unix epoch, so the
 * stamps mean something outside this process (the Rust runner's Clock).
 */
final class Clock {
    private final long baseNano = System.nanoTime();
    private final long baseEpochNs;

    Clock() {
        Instant now = Instant.now();
        baseEpochNs = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    long nowNs() {
        return baseEpochNs + (System.nanoTime() - baseNano);
    }
}
