package kob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void parsesACreateRequest() {
        Map<String, Object> m = Json.parseObject(
                "{\"op\":\"create\",\"topic\":\"kob-1.x\",\"partitions\":3,\"record_bytes\":1024,"
                        + "\"run_tag\":18446744073709551,\"config\":{\"acks\":\"all\",\"linger.ms\":\"5\"},"
                        + "\"rate\":2.5,\"flag\":true,\"none\":null,\"list\":[1, \"a\\n\\u00e9\"]}");
        assertEquals("create", Json.getString(m, "op"));
        assertEquals(3L, Json.getLong(m, "partitions"));
        assertEquals(18446744073709551L, Json.getLong(m, "run_tag"));
        assertEquals(Map.of("acks", "all", "linger.ms", "5"), m.get("config"));
        assertEquals(2.5, Json.getDouble(m, "rate"));
        assertEquals(3.0, Json.getDouble(m, "partitions"));
        assertEquals(Boolean.TRUE, m.get("flag"));
        assertEquals(null, m.get("none"));
        assertEquals(List.of(1L, "a\n\u00e9"), m.get("list"));
    }

    @Test
    void brokenInputIsAnErrorNamingThePlace() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\":1"));
        assertEquals("bad JSON at character 6: expected '}'", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{} x"));
        assertThrows(IllegalArgumentException.class, () -> Json.parseObject("[1]"));
        IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
                () -> Json.getLong(Json.parseObject("{\"w\":\"5\"}"), "w"));
        assertEquals("field w: expected an integer, got 5", f.getMessage());
    }

    @Test
    void quotesAndNumbers() {
        assertEquals("\"a\\\"b\\\\c\\n\\u0001\"", Json.quote("a\"b\\c\n\u0001"));
        assertEquals("12", Json.number(12.0));
        assertEquals("0.5", Json.number(0.5));
        assertEquals("null", Json.number(Double.NaN));
        Map<String, String> m = new TreeMap<>(Map.of("b", "2", "a", "x\"y"));
        assertEquals("{\"a\":\"x\\\"y\",\"b\":\"2\"}", Json.object(m));
        // What we write, we read back.
        assertEquals(m, Json.parseObject(Json.object(m)));
    }
}
