package kob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The recorded exchange (exchange.jsonl, also read by the Rust side's
 * src/driver/java/protocol.rs): the requests the Rust side writes, and what
 * this driver wrote back. Sessions that need no broker are served again here
 * and must give the recorded replies byte for byte; every request reads with
 * the accessors the driver reads it with, and every line the driver wrote
 * parses.
 */
class ExchangeTest {
    /** One driver process's lines: requests ("> ") and output ("< "). */
    static final class Session {
        final List<String> requests = new ArrayList<>();
        final List<String> output = new ArrayList<>();
    }

    static List<Session> sessions() throws Exception {
        List<Session> out = new ArrayList<>();
        try (InputStream in = ExchangeTest.class.getResourceAsStream("/exchange.jsonl")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            for (String line : text.split("\n")) {
                if (line.startsWith("# session")) {
                    out.add(new Session());
                } else if (line.startsWith("> ")) {
                    out.get(out.size() - 1).requests.add(line.substring(2));
                } else if (line.startsWith("< ")) {
                    out.get(out.size() - 1).output.add(line.substring(2));
                }
            }
        }
        return out;
    }

    @Test
    void sessionsWithoutABrokerGiveTheRecordedRepliesExactly() throws Exception {
        List<Session> all = sessions();
        assertEquals(3, all.size());
        // 2: a configuration the client refuses, then finish; 3: a round
        // before any create. Neither reaches a broker.
        for (Session s : all.subList(1, 3)) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Driver d = new Driver(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            d.serve(new BufferedReader(new StringReader(String.join("\n", s.requests) + "\n")));
            List<String> got = List.of(bytes.toString(StandardCharsets.UTF_8).split("\n"));
            assertEquals(s.output, got);
        }
    }

    @Test
    void everyRequestReadsAsTheDriverReadsItAndEveryReplyParses() throws Exception {
        int requests = 0;
        for (Session s : sessions()) {
            for (String line : s.requests) {
                Map<String, Object> req = Json.parseObject(line);
                switch (Json.getString(req, "op")) {
                    case "create":
                        Json.getString(req, "topic");
                        Json.getLong(req, "partitions");
                        Json.getLong(req, "record_bytes");
                        // The stamp's run id: 64 bits, read as a signed long.
                        assertTrue(Json.getLong(req, "run_tag") < 0);
                        assertTrue(req.get("config") instanceof Map);
                        break;
                    case "round":
                        for (String k : List.of("warmup_records", "windows", "records_per_window",
                                "tail_records", "burst_records")) {
                            Json.getLong(req, k);
                        }
                        break;
                    case "fixed_rate":
                        assertEquals(500.0, Json.getDouble(req, "rate_per_sec"));
                        Json.getLong(req, "records");
                        break;
                    case "finish":
                        break;
                    default:
                        throw new AssertionError("unknown op in " + line);
                }
                requests++;
            }
            for (String line : s.output) {
                Map<String, Object> reply = Json.parseObject(line);
                assertEquals(1, reply.size(), line);
                assertFalse(reply.containsKey("op"), line);
            }
        }
        assertEquals(7, requests);
    }
}
