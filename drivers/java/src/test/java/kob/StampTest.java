package kob;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class StampTest {
    @Test
    void headerIsBigEndianAtTheDocumentedOffsets() {
        byte[] buf = new byte[40];
        Stamp.write(buf, 1, 2, 3, 4);
        assertArrayEquals(new byte[] {'K', 'O', 'B', '1'}, java.util.Arrays.copyOf(buf, 4));
        assertEquals(1, buf[11]);
        assertEquals(2, buf[15]);
        assertEquals(3, buf[23]);
        assertEquals(4, buf[31]);
        assertEquals(0, buf[4]);
        assertEquals(0, buf[12]);
    }

    @Test
    void fullWidthValuesRoundTrip() {
        byte[] buf = new byte[32];
        Stamp.write(buf, 0xdeadbeef01020304L, 7, 123_456_789L, 1_700_000_000_000_000_000L);
        ByteBuffer b = ByteBuffer.wrap(buf);
        b.position(4);
        assertEquals(0xdeadbeef01020304L, b.getLong());
        assertEquals(7, b.getInt());
        assertEquals(123_456_789L, b.getLong());
        assertEquals(1_700_000_000_000_000_000L, b.getLong());
    }

    @Test
    void paddingIsTheRustRunnersSequence() {
        // The first bytes of run.rs's xorshift padding (seed 0x9e3779b9).
        byte[] p = Stamp.payload(36);
        int x = 0x9e3779b9;
        for (int k = 0; k < 36; k++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            assertEquals((byte) x, p[k]);
        }
        assertEquals(36, p.length);
    }

    @Test
    void recordsSmallerThanTheHeaderAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Stamp.payload(31));
        assertEquals("record_bytes 31 is smaller than the 32-byte header", e.getMessage());
    }
}
