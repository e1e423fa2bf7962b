package kob;

import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * Window accounting of one round: W warm-up records, K windows of R records,
 * T tail records, sent without pause. Windows are delimited by completion
 * counts of the round: window i spans from the instant the (W + i·R)-th
 * record of the round completes to the instant the (W + (i+1)·R)-th does
 * (window 0 of a round without warm-up opens at the round's start). The
 * records whose completions are numbered W + i·R + 1 … W + (i+1)·R belong to
 * window i; the latency of those acknowledged goes into its histogram.
 * Completions count failures too, so a window always closes.
 */
final class RoundWindows extends Phase {
    /** One finished window. */
    static final class Window {
        final long records;
        final long failed;
        final long elapsedNs;
        final Histogram histogram;

        Window(long records, long failed, long elapsedNs, Histogram histogram) {
            this.records = records;
            this.failed = failed;
            this.elapsedNs = elapsedNs;
            this.histogram = histogram;
        }
    }

    private final long warmup;
    private final int windows;
    private final long perWindow;
    /** boundaryNs[i]: when window i opened; boundaryNs[windows]: when the last closed. */
    private final long[] boundaryNs;
    private final long[] failed;
    private final Histogram[] histograms;

    RoundWindows(long warmup, int windows, long perWindow, long tail, long startNs) {
        super(checkedTotal(warmup, windows, perWindow, tail));
        this.warmup = warmup;
        this.windows = windows;
        this.perWindow = perWindow;
        this.boundaryNs = new long[windows + 1];
        this.failed = new long[windows];
        this.histograms = new Histogram[windows];
        for (int k = 0; k < windows; k++) {
            histograms[k] = Histograms.create();
        }
        if (warmup == 0) {
            boundaryNs[0] = startNs;
        }
    }

    private static long checkedTotal(long warmup, int windows, long perWindow, long tail) {
        if (warmup < 0 || windows < 0 || perWindow < 0 || tail < 0) {
            throw new IllegalArgumentException("round counts must not be negative");
        }
        if (windows > 0 && perWindow == 0) {
            throw new IllegalArgumentException("records_per_window must be positive when windows > 0");
        }
        return warmup + windows * perWindow + tail;
    }

    @Override
    protected void completed(long n, long nowNs, long stampNs, boolean ok) {
        if (n > warmup && n <= warmup + windows * perWindow) {
            int w = (int) ((n - warmup - 1) / perWindow);
            if (ok) {
                Histograms.recordNs(histograms[w], nowNs - stampNs);
            } else {
                failed[w]++;
            }
        }
        long past = n - warmup;
        if (past == 0) {
            boundaryNs[0] = nowNs;
        } else if (past > 0 && perWindow > 0 && past % perWindow == 0 && past / perWindow <= windows) {
            boundaryNs[(int) (past / perWindow)] = nowNs;
        }
    }

    /** The windows; call after every record completed. */
    synchronized List<Window> windows() {
        List<Window> out = new ArrayList<>(windows);
        for (int k = 0; k < windows; k++) {
            out.add(new Window(perWindow, failed[k], boundaryNs[k + 1] - boundaryNs[k], histograms[k]));
        }
        return out;
    }
}
