package kob;

/**
 * The 32-byte header every value starts with (src/record.rs), big-endian:
 * magic "KOB1", run id u64, stream u32, sequence u64, intended send time in
 * nanoseconds since the Unix epoch u64. Bytes after it are padding.
 */
final class Stamp {
    static final int HEADER_BYTES = 32;

    private Stamp() {}

    /** Writes the header into the first 32 bytes of {@code buf}. */
    static void write(byte[] buf, long runId, int stream, long seq, long intendedNs) {
        buf[0] = 'K';
        buf[1] = 'O';
        buf[2] = 'B';
        buf[3] = '1';
        putLong(buf, 4, runId);
        buf[12] = (byte) (stream >>> 24);
        buf[13] = (byte) (stream >>> 16);
        buf[14] = (byte) (stream >>> 8);
        buf[15] = (byte) stream;
        putLong(buf, 16, seq);
        putLong(buf, 24, intendedNs);
    }

    /** Bytes of the header and the key extension together. */
    static final int KEYED_HEADER_BYTES = HEADER_BYTES + 12;

    /** Writes the key extension ("KOBK", key sequence u64) right after the header. */
    static void writeKeySeq(byte[] buf, long keySeq) {
        buf[32] = 'K';
        buf[33] = 'O';
        buf[34] = 'B';
        buf[35] = 'K';
        putLong(buf, 36, keySeq);
    }

    private static void putLong(byte[] b, int at, long v) {
        for (int k = 7; k >= 0; k--) {
            b[at + k] = (byte) v;
            v >>>= 8;
        }
    }

    /**
     * A value of {@code recordBytes} bytes whose padding is the same
     * xorshift sequence the Rust runner writes, so compression settings
     * measure the same bytes whichever client sends them.
     */
    static byte[] payload(int recordBytes) {
        if (recordBytes < HEADER_BYTES) {
            throw new IllegalArgumentException(
                    "record_bytes " + recordBytes + " is smaller than the " + HEADER_BYTES + "-byte header");
        }
        byte[] p = new byte[recordBytes];
        int x = 0x9e3779b9;
        for (int k = 0; k < p.length; k++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            p[k] = (byte) x;
        }
        return p;
    }
}
