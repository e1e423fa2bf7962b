package kob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class DriverTest {
    @Test
    void secretsAreNeverReported() {
        for (String k : List.of("sasl.jaas.config", "ssl.key.password", "ssl.keystore.password",
                "ssl.truststore.password", "sasl.oauthbearer.token.endpoint.url", "basic.auth.user.secret",
                "ssl.keystore.key", "ssl.keystore.location", "ssl.key.whatever")) {
            assertTrue(Driver.secret(k), k);
        }
        for (String k : List.of("acks", "bootstrap.servers", "ssl.truststore.location", "security.protocol")) {
            assertFalse(Driver.secret(k), k);
        }
        Map<String, Object> values = new TreeMap<>();
        values.put("acks", "-1");
        values.put("sasl.jaas.config", "hunter2");
        values.put("retries", 2147483647);
        values.put("bootstrap.servers", List.of("a:1", "b:2"));
        values.put("key.serializer", String.class);
        values.put("client.id", null);
        assertEquals(Map.of("acks", "-1", "retries", "2147483647", "bootstrap.servers", "a:1,b:2",
                "key.serializer", "java.lang.String"), Driver.effective(values));
    }

    @Test
    void adjustedListsOnlyRealChanges() {
        Map<String, String> requested = new TreeMap<>(Map.of("acks", "all", "enable.idempotence", "true",
                "linger.ms", " 5", "unknown.key", "x", "ssl.key.password", "a"));
        Map<String, String> effective = Map.of("acks", "-1", "enable.idempotence", "false", "linger.ms", "5",
                "ssl.key.password", "b");
        assertEquals("[{\"key\":\"enable.idempotence\",\"requested\":\"true\",\"effective\":\"false\"}]",
                Driver.adjustedJson(requested, effective));
        assertTrue(Driver.same("acks", "-1", "all"));
        assertFalse(Driver.same("acks", "1", "-1"));
    }

    @Test
    void theRefusalIsTheCauseBehindTheConstructionWrapper() {
        ConfigException cause = new ConfigException("Must set acks to all in order to use the idempotent producer.");
        Throwable t = Driver.refusal(new KafkaException("Failed to construct kafka producer", cause));
        assertEquals(cause, t);
        ConfigException direct = new ConfigException("direct");
        assertEquals(direct, Driver.refusal(direct));
        KafkaException bare = new KafkaException("no cause");
        assertEquals(bare, Driver.refusal(bare));
    }

    @Test
    void outcomesAreRangesPerStreamAndException() {
        BitSet b = new BitSet();
        b.set(0, 4);
        b.set(6);
        b.set(9, 11);
        List<long[]> r = Outcomes.ranges(b);
        assertEquals(3, r.size());
        assertEquals(List.of(0L, 3L, 6L, 6L, 9L, 10L),
                List.of(r.get(0)[0], r.get(0)[1], r.get(1)[0], r.get(1)[1], r.get(2)[0], r.get(2)[1]));

        Outcomes o = new Outcomes();
        o.acked(0, 0, 0, 10);
        o.acked(0, 1, 0, 11);
        o.failed(0, 2, "org.apache.kafka.common.errors.TimeoutException");
        o.acked(1, 0, 1, -1);
        assertEquals("[{\"stream\":0,\"sent\":3,\"acked\":[[0,1]],\"failed\":[{\"first\":2,\"last\":2,"
                + "\"exception\":\"org.apache.kafka.common.errors.TimeoutException\"}]},"
                + "{\"stream\":1,\"sent\":1,\"acked\":[[0,0]],\"failed\":[]},"
                + "{\"stream\":2,\"sent\":0,\"acked\":[],\"failed\":[]}]", o.deliveriesJson(new long[] {3, 1, 0}, 0));
        assertEquals("[{\"stream\":8,\"sent\":3,\"acked\":[[0,1]],\"failed\":[{\"first\":2,\"last\":2,"
                + "\"exception\":\"org.apache.kafka.common.errors.TimeoutException\"}]},"
                + "{\"stream\":9,\"sent\":1,\"acked\":[[0,0]],\"failed\":[]},"
                + "{\"stream\":10,\"sent\":0,\"acked\":[],\"failed\":[]}]", o.deliveriesJson(new long[] {3, 1, 0}, 8),
                "a second producer's streams start at its first stream id");
        assertEquals("{\"0\":12}", o.ackedEndOffsetsJson());
        assertEquals(3, o.ackedTotal());
        assertEquals(1, o.failedTotal());
    }

    @Test
    void histogramsEncodeToTheCompressedV2Format() throws Exception {
        Histogram h = Histograms.create();
        Histograms.recordNs(h, 1_500_000);
        Histograms.recordNs(h, 0);
        Histograms.recordNs(h, Long.MAX_VALUE);
        byte[] raw = Base64.getDecoder().decode(Histograms.encode(h));
        // The V2 compressed cookie (0x1c849304, word-size bits 0x10), as HdrHistogram_rust's Deserializer expects.
        assertEquals(0x1c849314, ByteBuffer.wrap(raw).getInt());
        Histogram back = Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(raw), 0);
        assertEquals(3, back.getTotalCount());
        assertEquals(1, back.getMinValue());
        assertEquals(1500, back.getValueAtPercentile(50), 1);
        assertTrue(back.getMaxValue() >= Histograms.HIGHEST_US);
    }

    private static String serve(String input) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Driver d = new Driver(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        int code = d.serve(new BufferedReader(new StringReader(input)));
        return code + "\n" + bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void protocolErrorsAreOneLineAndNonZero() throws Exception {
        assertEquals("2\n{\"error\":\"unknown op fly\"}\n", serve("{\"op\":\"fly\"}\n"));
        assertEquals("2\n{\"error\":\"round: no producer: send create first\"}\n",
                serve("{\"op\":\"round\",\"warmup_records\":0,\"windows\":1,\"records_per_window\":1,\"tail_records\":0}\n"));
        assertTrue(serve("not json\n").startsWith("2\n{\"error\":\"bad request: bad JSON at character 0"));
        // No finish: the suite went away.
        assertEquals("3\n", serve(""));
    }

    @Test
    void aRefusedConfigurationIsRejectedWithTheClientsMessage() throws Exception {
        String out = serve("{\"op\":\"create\",\"topic\":\"t\",\"partitions\":1,\"record_bytes\":64,\"run_tag\":1,"
                + "\"config\":{\"bootstrap.servers\":\"127.0.0.1:1\",\"enable.idempotence\":\"true\","
                + "\"acks\":\"1\"}}\n{\"op\":\"finish\"}\n");
        String[] lines = out.split("\n");
        assertEquals("0", lines[0]);
        assertTrue(lines[1].startsWith("{\"rejected\":{\"message\":\""), lines[1]);
        assertTrue(lines[1].contains("acks"), lines[1]);
        assertTrue(lines[1].endsWith("\"exception\":\"org.apache.kafka.common.config.ConfigException\"}}"), lines[1]);
        assertEquals("{\"finish\":{\"deliveries\":[],\"metrics\":{},\"effective\":{},\"acked_end_offsets\":{}}}", lines[2]);
    }
}
