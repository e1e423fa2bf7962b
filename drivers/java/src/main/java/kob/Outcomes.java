package kob;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every record's delivery outcome, per stream: acknowledged, or failed with
 * the exception's class. Serialised as ranges of sequence numbers so a
 * million clean records are one pair.
 */
final class Outcomes {
    private final List<BitSet> acked = new ArrayList<>();
    /** Per stream: exception class → failed sequences. */
    private final List<Map<String, BitSet>> failed = new ArrayList<>();
    /** Per partition: highest acknowledged offset. */
    private final Map<Integer, Long> maxAckedOffset = new TreeMap<>();
    private long ackedTotal;
    private long failedTotal;

    private void ensure(int stream) {
        while (acked.size() <= stream) {
            acked.add(new BitSet());
            failed.add(new TreeMap<>());
        }
    }

    synchronized void acked(int stream, long seq, int partition, long offset) {
        ensure(stream);
        acked.get(stream).set(Math.toIntExact(seq));
        ackedTotal++;
        if (offset >= 0) {
            maxAckedOffset.merge(partition, offset, Math::max);
        }
    }

    synchronized void failed(int stream, long seq, String exception) {
        ensure(stream);
        failed.get(stream).computeIfAbsent(exception, k -> new BitSet()).set(Math.toIntExact(seq));
        failedTotal++;
    }

    synchronized long ackedTotal() {
        return ackedTotal;
    }

    synchronized long failedTotal() {
        return failedTotal;
    }

    /** Runs of set bits as [first, last] pairs, inclusive. */
    static List<long[]> ranges(BitSet b) {
        List<long[]> out = new ArrayList<>();
        int from = b.nextSetBit(0);
        while (from >= 0) {
            int to = b.nextClearBit(from);
            out.add(new long[] {from, to - 1L});
            from = b.nextSetBit(to);
        }
        return out;
    }

    /**
     * The "deliveries" array of the finish reply; {@code sent[s]} is how many
     * records local stream s (partition s) was handed; its stream id is
     * {@code firstStream + s}.
     */
    synchronized String deliveriesJson(long[] sent, int firstStream) {
        StringBuilder b = new StringBuilder("[");
        int streams = Math.max(sent.length, acked.size());
        for (int s = 0; s < streams; s++) {
            ensure(s);
            if (s > 0) {
                b.append(',');
            }
            b.append("{\"stream\":").append(firstStream + s).append(",\"sent\":").append(s < sent.length ? sent[s] : 0);
            b.append(",\"acked\":[");
            boolean first = true;
            for (long[] r : ranges(acked.get(s))) {
                b.append(first ? "" : ",").append('[').append(r[0]).append(',').append(r[1]).append(']');
                first = false;
            }
            b.append("],\"failed\":[");
            first = true;
            for (Map.Entry<String, BitSet> e : failed.get(s).entrySet()) {
                for (long[] r : ranges(e.getValue())) {
                    b.append(first ? "" : ",");
                    b.append("{\"first\":").append(r[0]).append(",\"last\":").append(r[1]);
                    b.append(",\"exception\":").append(Json.quote(e.getKey())).append('}');
                    first = false;
                }
            }
            b.append("]}");
        }
        return b.append(']').toString();
    }

    /** Per partition, one past the highest acknowledged offset. */
    synchronized String ackedEndOffsetsJson() {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<Integer, Long> e : maxAckedOffset.entrySet()) {
            b.append(first ? "" : ",").append('"').append(e.getKey()).append("\":").append(e.getValue() + 1);
            first = false;
        }
        return b.append('}').toString();
    }
}
