package kob;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * A producer's key draw, as src/record.rs documents it ("The suite's own
 * streams and keys"): SplitMix64 from the producer's seed; {@code uniform}
 * takes {@code x mod count}, {@code zipf} (exponent 1) the first key whose
 * cumulative weight exceeds {@code (x >>> 11) * 2^-53}. Key {@code k} goes to
 * partition {@code k mod partitions} under the key {@code key-k}, and each
 * record carries its key sequence (the key extension). KeysTest holds the
 * first draws to the values the Rust side asserts.
 */
final class Keys {
    private static final long GAMMA = 0x9E3779B97F4A7C15L;

    private final long count;
    /** Zipf: cumulative weights over the total, in key order; null: uniform. */
    private final double[] cdf;
    private long state;
    private final Map<Long, Long> keySeq = new HashMap<>();

    Keys(long count, String distribution, long seed) {
        if (count < 1) {
            throw new IllegalArgumentException("keys: count must be at least 1");
        }
        this.count = count;
        this.state = seed;
        switch (distribution) {
            case "uniform":
                cdf = null;
                break;
            case "zipf":
                cdf = new double[Math.toIntExact(count)];
                double sum = 0.0;
                for (int k = 0; k < cdf.length; k++) {
                    sum += 1.0 / ((double) k + 1.0);
                    cdf[k] = sum;
                }
                for (int k = 0; k < cdf.length; k++) {
                    cdf[k] /= sum;
                }
                break;
            default:
                throw new IllegalArgumentException("unknown key distribution " + distribution);
        }
    }

    static long splitmix64(long x) {
        long z = x + GAMMA;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The next record's key index, in 0..count. */
    long next() {
        long x = splitmix64(state);
        state += GAMMA;
        if (cdf == null) {
            return Long.remainderUnsigned(x, count);
        }
        double u = (double) (x >>> 11) * (1.0 / (double) (1L << 53));
        int lo = 0;
        int hi = cdf.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] <= u) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return Math.min(lo, count - 1);
    }

    /** Records of key {@code k} sent before this one (the key extension's sequence). */
    long nextKeySeq(long k) {
        return keySeq.merge(k, 1L, Long::sum) - 1;
    }

    static byte[] keyBytes(long k) {
        return ("key-" + k).getBytes(StandardCharsets.US_ASCII);
    }
}
