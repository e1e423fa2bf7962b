package kob;

import java.nio.ByteBuffer;
import java.util.Base64;
import org.HdrHistogram.Histogram;

/** Latency histograms: microseconds from 1 µs to one hour, 3 significant digits (as in Rust). */
final class Histograms {
    static final long HIGHEST_US = 3_600_000_000L;

    private Histograms() {}

    static Histogram create() {
        return new Histogram(1, HIGHEST_US, 3);
    }

    /** Records a latency in nanoseconds as whole microseconds, clamped to the trackable range. */
    static void recordNs(Histogram h, long ns) {
        long us = ns / 1_000;
        h.recordValue(Math.max(1, Math.min(HIGHEST_US, us)));
    }

    /** The V2 compressed encoding (what Rust's hdrhistogram Deserializer reads), in base64. */
    static String encode(Histogram h) {
        ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
        int n = h.encodeIntoCompressedByteBuffer(buf);
        byte[] out = new byte[n];
        buf.flip();
        buf.get(out, 0, n);
        return Base64.getEncoder().encodeToString(out);
    }
}
