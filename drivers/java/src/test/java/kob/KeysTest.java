package kob;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class KeysTest {
    /** src/record.rs key_seed(42, 0). */
    private static final long SEED = 42L ^ 0x9E3779B97F4A7C15L;

    private static long[] draws(String distribution) {
        Keys k = new Keys(1000, distribution, SEED);
        long[] out = new long[8];
        for (int i = 0; i < out.length; i++) {
            out[i] = k.next();
        }
        return out;
    }

    /** The same values as record::tests::FIRST_UNIFORM and FIRST_ZIPF. */
    @Test
    void drawsMatchTheRustSide() {
        assertArrayEquals(new long[] {291, 858, 764, 250, 62, 925, 908, 5}, draws("uniform"));
        assertArrayEquals(new long[] {1, 4, 6, 0, 372, 2, 224, 6}, draws("zipf"));
    }

    @Test
    void splitmixFirstOutputFromZero() {
        assertEquals(0xE220A8397B1DCDAFL, Keys.splitmix64(0));
    }

    @Test
    void keySequencesCountPerKey() {
        Keys k = new Keys(10, "uniform", 1);
        assertEquals(0, k.nextKeySeq(3));
        assertEquals(0, k.nextKeySeq(4));
        assertEquals(1, k.nextKeySeq(3));
    }
}
