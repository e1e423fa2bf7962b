package kob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class RoundWindowsTest {
    @Test
    void windowsAreDelimitedByCompletionCounts() {
        // W=2, K=3 windows of R=2, T=1: 9 records; completion n at time 100·n.
        RoundWindows rw = new RoundWindows(2, 3, 2, 1, 0);
        assertEquals(9, rw.total());
        for (int n = 1; n <= 9; n++) {
            // Latency 10 µs · n, so each window's records are identifiable.
            rw.complete(100_000L * n, 100_000L * n - 10_000L * n, true);
        }
        List<RoundWindows.Window> w = rw.windows();
        assertEquals(3, w.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(2, w.get(i).records);
            // From the (2 + 2i)-th completion to the (4 + 2i)-th.
            assertEquals(200_000L, w.get(i).elapsedNs);
            assertEquals(2, w.get(i).histogram.getTotalCount());
        }
        // Window 0 holds completions 3 and 4 (30 and 40 µs), window 2 holds 7 and 8.
        assertEquals(30, w.get(0).histogram.getMinValue());
        assertEquals(40, w.get(0).histogram.getMaxValue());
        assertEquals(70, w.get(2).histogram.getMinValue());
        assertEquals(80, w.get(2).histogram.highestEquivalentValue(w.get(2).histogram.getMaxValue()));
    }

    @Test
    void withoutWarmUpTheFirstWindowOpensAtTheRoundStart() {
        RoundWindows rw = new RoundWindows(0, 2, 3, 0, 1_000);
        long[] at = {1_500, 2_000, 4_000, 4_500, 5_000, 9_000};
        for (long t : at) {
            rw.complete(t, t - 1_000, true);
        }
        List<RoundWindows.Window> w = rw.windows();
        assertEquals(3_000, w.get(0).elapsedNs);
        assertEquals(5_000, w.get(1).elapsedNs);
    }

    @Test
    void failuresCloseWindowsButCarryNoLatency() {
        RoundWindows rw = new RoundWindows(1, 1, 3, 0, 0);
        rw.complete(10, 0, true);
        rw.complete(20, 0, false);
        rw.complete(30, 0, true);
        rw.complete(40, 0, false);
        RoundWindows.Window w = rw.windows().get(0);
        assertEquals(3, w.records);
        assertEquals(2, w.failed);
        assertEquals(1, w.histogram.getTotalCount());
        assertEquals(30, w.elapsedNs);
    }

    @Test
    void awaitReturnsOnceEveryRecordCompleted() throws InterruptedException {
        RoundWindows rw = new RoundWindows(0, 1, 2, 0, 0);
        assertEquals(false, rw.await(10));
        Thread t = new Thread(() -> {
            rw.complete(1, 0, true);
            rw.complete(2, 0, true);
        });
        t.start();
        assertEquals(true, rw.await(10_000));
        t.join();
        assertEquals(2, rw.completedSoFar());
    }

    @Test
    void nonsenseCountsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RoundWindows(0, 2, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new RoundWindows(-1, 1, 1, 0, 0));
    }

    @Test
    void fixedRateDueTimes() {
        assertEquals(1_000, FixedRatePhase.dueNs(1_000, 0, 1000));
        assertEquals(1_000 + 1_000_000, FixedRatePhase.dueNs(1_000, 1, 1000));
        assertEquals(1_000 + 2_500_000_000L, FixedRatePhase.dueNs(1_000, 5, 2));
    }
}
