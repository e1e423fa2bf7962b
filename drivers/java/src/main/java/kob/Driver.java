package kob;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.AppInfoParser;

/**
 * The Java producer driver: one KafkaProducer per session, driven over JSON
 * lines (requests on stdin, replies on stdout, logs on stderr). See
 * drivers/java/README.md for the protocol.
 *
 * Every record goes through one ordered send path ({@link #sendOne}, called
 * by the main thread only), so the order of send() calls is the order of
 * sequence numbers: a reorder the checker finds happened in the client's
 * retries or in the broker, never in the driver.
 */
public final class Driver {
    /** Client metrics (group producer-metrics) reported at finish. */
    static final List<String> METRICS = List.of(
            "record-send-total",
            "record-retry-total",
            "record-error-total",
            "requests-in-flight",
            "request-total",
            "response-total",
            "outgoing-byte-total",
            "batch-size-avg",
            "records-per-request-avg",
            "record-queue-time-avg",
            "request-latency-avg",
            "produce-throttle-time-avg",
            "bufferpool-wait-time-ns-total",
            "connection-creation-total",
            "connection-close-total");

    private final PrintStream out;
    private final Clock clock = new Clock();
    private final Outcomes outcomes = new Outcomes();
    private final AtomicLong sent = new AtomicLong();
    private volatile boolean phaseRunning;

    private KafkaProducer<byte[], byte[]> producer;
    private Map<String, String> effective;
    private String topic;
    private int partitions;
    private long runTag;
    private byte[] payload;
    private long[] nextSeq;
    private int cursor;
    /** This producer's first stream id (producer index × partitions). */
    private int firstStream;
    /** The key draw; null: records go round robin over the partitions. */
    private Keys keys;
    private long completionTimeoutMs;

    Driver(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        // Anything a library prints goes to the log, never into the protocol.
        System.setOut(System.err);
        Driver d = new Driver(out);
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kob-progress");
            t.setDaemon(true);
            return t;
        });
        ticker.scheduleAtFixedRate(d::progress, 50, 50, TimeUnit.MILLISECONDS);
        int code;
        try {
            code = d.serve(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
        } catch (Throwable t) {
            t.printStackTrace();
            d.emit("{\"error\":" + Json.quote(t.toString()) + "}");
            code = 1;
        }
        out.flush();
        System.exit(code);
    }

    /** Serves requests until finish (0) or a broken request (non-zero). */
    int serve(BufferedReader in) throws Exception {
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            Map<String, Object> req;
            String op;
            try {
                req = Json.parseObject(line);
                op = Json.getString(req, "op");
            } catch (IllegalArgumentException e) {
                emit("{\"error\":" + Json.quote("bad request: " + e.getMessage()) + "}");
                return 2;
            }
            try {
                switch (op) {
                    case "create":
                        emit(create(req));
                        break;
                    case "round":
                        emit(round(req));
                        break;
                    case "fixed_rate":
                        emit(fixedRate(req));
                        break;
                    case "finish":
                        emit(finish());
                        return 0;
                    default:
                        emit("{\"error\":" + Json.quote("unknown op " + op) + "}");
                        return 2;
                }
            } catch (IllegalArgumentException | IllegalStateException e) {
                emit("{\"error\":" + Json.quote(op + ": " + e.getMessage()) + "}");
                return 2;
            }
        }
        // stdin closed without finish: the suite went away.
        if (producer != null) {
            producer.close(Duration.ZERO);
        }
        return 3;
    }

    synchronized void emit(String line) {
        out.print(line);
        out.print('\n');
        out.flush();
    }

    void progress() {
        if (phaseRunning) {
            emit("{\"progress\":{\"sent\":" + sent.get() + ",\"acked\":" + outcomes.ackedTotal()
                    + ",\"failed\":" + outcomes.failedTotal() + "}}");
        }
    }

    /** Keys whose values are never reported: credentials, however they are spelled. */
    static boolean secret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return k.contains("password") || k.contains("secret") || k.contains("token")
                || k.equals("sasl.jaas.config") || k.startsWith("ssl.key");
    }

    /** A config value as the string a user would have written. */
    static String render(Object v) {
        if (v instanceof Class) {
            return ((Class<?>) v).getName();
        }
        if (v instanceof Collection) {
            List<String> parts = new ArrayList<>();
            for (Object o : (Collection<?>) v) {
                parts.add(render(o));
            }
            return String.join(",", parts);
        }
        return String.valueOf(v);
    }

    /** Whether the client kept a requested value (acks "all" and "-1" are one value). */
    static boolean same(String key, String requested, String effective) {
        String r = requested.trim();
        if (r.equals(effective)) {
            return true;
        }
        if (key.equals("acks")) {
            return (r.equals("all") || r.equals("-1")) && (effective.equals("all") || effective.equals("-1"));
        }
        return false;
    }

    /** Effective values (secrets left out) of a parsed configuration. */
    static Map<String, String> effective(Map<String, ?> values) {
        Map<String, String> m = new TreeMap<>();
        for (Map.Entry<String, ?> e : values.entrySet()) {
            Object v = e.getValue();
            if (v == null || v instanceof Password || secret(e.getKey())) {
                continue;
            }
            m.put(e.getKey(), render(v));
        }
        return m;
    }

    /** The "adjusted" array: requested keys whose effective value differs. */
    static String adjustedJson(Map<String, String> requested, Map<String, String> effective) {
        StringBuilder b = new StringBuilder("[");
        boolean first = true;
        for (Map.Entry<String, String> e : requested.entrySet()) {
            String eff = effective.get(e.getKey());
            if (eff == null || secret(e.getKey()) || same(e.getKey(), e.getValue(), eff)) {
                continue;
            }
            b.append(first ? "" : ",");
            b.append("{\"key\":").append(Json.quote(e.getKey()));
            b.append(",\"requested\":").append(Json.quote(e.getValue()));
            b.append(",\"effective\":").append(Json.quote(eff)).append('}');
            first = false;
        }
        return b.append(']').toString();
    }

    /** The client's refusal to report: the cause behind the generic construction wrapper. */
    static Throwable refusal(KafkaException e) {
        Throwable t = e;
        while (t.getClass() == KafkaException.class && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    @SuppressWarnings("unchecked")
    String create(Map<String, Object> req) {
        if (producer != null) {
            throw new IllegalStateException("a producer already exists in this session");
        }
        topic = Json.getString(req, "topic");
        partitions = Math.toIntExact(Json.getLong(req, "partitions"));
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1");
        }
        int recordBytes = Math.toIntExact(Json.getLong(req, "record_bytes"));
        payload = Stamp.payload(recordBytes);
        runTag = Json.getLong(req, "run_tag");
        nextSeq = new long[partitions];
        firstStream = req.containsKey("first_stream") ? Math.toIntExact(Json.getLong(req, "first_stream")) : 0;
        Object k = req.get("keys");
        if (k instanceof Map) {
            Map<String, Object> spec = (Map<String, Object>) k;
            if (recordBytes < Stamp.KEYED_HEADER_BYTES) {
                throw new IllegalArgumentException("record_bytes must hold the key extension");
            }
            keys = new Keys(Json.getLong(spec, "count"), Json.getString(spec, "distribution"),
                    Json.getLong(spec, "seed"));
        } else if (k != null) {
            throw new IllegalArgumentException("field keys: expected an object");
        }
        Object cfg = req.get("config");
        if (!(cfg instanceof Map)) {
            throw new IllegalArgumentException("field config: expected an object");
        }
        Map<String, String> requested = new TreeMap<>();
        for (Map.Entry<String, Object> e : ((Map<String, Object>) cfg).entrySet()) {
            if (!(e.getValue() instanceof String)) {
                throw new IllegalArgumentException("config " + e.getKey() + ": values must be strings");
            }
            requested.put(e.getKey(), (String) e.getValue());
        }
        Map<String, Object> props = new TreeMap<>(requested);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        ProducerConfig parsed;
        try {
            producer = new KafkaProducer<>(props);
            parsed = producerConfig(producer, props);
        } catch (KafkaException e) {
            Throwable why = refusal(e);
            return "{\"rejected\":{\"message\":" + Json.quote(String.valueOf(why.getMessage()))
                    + ",\"exception\":" + Json.quote(why.getClass().getName()) + "}}";
        }
        effective = effective(parsed.values());
        long deliveryTimeout = Long.parseLong(effective.getOrDefault("delivery.timeout.ms", "120000"));
        long maxBlock = Long.parseLong(effective.getOrDefault("max.block.ms", "60000"));
        completionTimeoutMs = deliveryTimeout + maxBlock + 30_000;
        return "{\"created\":{\"client_version\":" + Json.quote(AppInfoParser.getVersion())
                + ",\"effective\":" + Json.object(effective)
                + ",\"adjusted\":" + adjustedJson(requested, effective) + "}}";
    }

    /**
     * The producer's own parsed configuration (after its adjustments), read
     * from its private field; a fresh parse of the same properties (which
     * applies the same adjustments) if a client version names it otherwise.
     */
    static ProducerConfig producerConfig(KafkaProducer<?, ?> p, Map<String, Object> props) {
        try {
            Field f = KafkaProducer.class.getDeclaredField("producerConfig");
            f.setAccessible(true);
            Object v = f.get(p);
            if (v instanceof ProducerConfig) {
                return (ProducerConfig) v;
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("kob: reading KafkaProducer.producerConfig failed (" + e + "); parsing again");
        }
        return new ProducerConfig(props);
    }

    private void requireProducer() {
        if (producer == null) {
            throw new IllegalStateException("no producer: send create first");
        }
    }

    String round(Map<String, Object> req) throws InterruptedException {
        requireProducer();
        long warmup = Json.getLong(req, "warmup_records");
        int windows = Math.toIntExact(Json.getLong(req, "windows"));
        long perWindow = Json.getLong(req, "records_per_window");
        long tail = Json.getLong(req, "tail_records");
        // Bursts (the article's experiment): every `burst` records, wait
        // until all are acknowledged before sending more; 0 sends freely.
        long burst = req.containsKey("burst_records") ? Json.getLong(req, "burst_records") : 0;
        RoundWindows rw = new RoundWindows(warmup, windows, perWindow, tail, clock.nowNs());
        phaseRunning = true;
        try {
            for (long i = 0; i < rw.total(); i++) {
                sendOne(clock.nowNs(), rw);
                if (burst > 0 && (i + 1) % burst == 0) {
                    producer.flush();
                }
            }
            if (!rw.await(completionTimeoutMs)) {
                throw new IllegalStateException("round: " + rw.completedSoFar() + " of " + rw.total()
                        + " records completed after " + completionTimeoutMs + " ms");
            }
        } finally {
            phaseRunning = false;
        }
        progress();
        StringBuilder b = new StringBuilder("{\"round\":{\"windows\":[");
        boolean first = true;
        for (RoundWindows.Window w : rw.windows()) {
            b.append(first ? "" : ",");
            b.append("{\"records\":").append(w.records);
            b.append(",\"bytes\":").append(w.records * payload.length);
            b.append(",\"failed\":").append(w.failed);
            b.append(",\"elapsed_ns\":").append(w.elapsedNs);
            b.append(",\"histogram\":\"").append(Histograms.encode(w.histogram)).append("\"}");
            first = false;
        }
        return b.append("]}}").toString();
    }

    String fixedRate(Map<String, Object> req) throws InterruptedException {
        requireProducer();
        double rate = Json.getDouble(req, "rate_per_sec");
        long records = Json.getLong(req, "records");
        if (!(rate > 0)) {
            throw new IllegalArgumentException("rate_per_sec must be positive");
        }
        FixedRatePhase fp = new FixedRatePhase(records);
        phaseRunning = true;
        long start = clock.nowNs();
        try {
            for (long i = 0; i < records; i++) {
                long due = FixedRatePhase.dueNs(start, i, rate);
                waitUntil(due);
                sendOne(due, fp);
                fp.sendDelay(clock.nowNs() - due);
            }
            if (!fp.await(completionTimeoutMs)) {
                throw new IllegalStateException("fixed_rate: records still incomplete after "
                        + completionTimeoutMs + " ms");
            }
        } finally {
            phaseRunning = false;
        }
        progress();
        long elapsed = records == 0 ? 0 : fp.lastCompletionNs() - start;
        return "{\"fixed_rate\":{\"records\":" + records + ",\"elapsed_ns\":" + elapsed
                + ",\"histogram\":\"" + Histograms.encode(fp.latency())
                + "\",\"send_delay\":\"" + Histograms.encode(fp.sendDelayHistogram()) + "\"}}";
    }

    private void waitUntil(long dueNs) {
        while (true) {
            long left = dueNs - clock.nowNs();
            if (left <= 0) {
                return;
            }
            if (left > 200_000) {
                LockSupport.parkNanos(left - 100_000);
            } else {
                Thread.onSpinWait();
            }
        }
    }

    /** One completion callback per record: its partition's stream (local index), sequence and stamp. */
    private final class Completion implements Callback {
        private final int stream;
        private final long seq;
        private final long stampNs;
        private final Phase phase;

        Completion(int stream, long seq, long stampNs, Phase phase) {
            this.stream = stream;
            this.seq = seq;
            this.stampNs = stampNs;
            this.phase = phase;
        }

        @Override
        public void onCompletion(RecordMetadata md, Exception e) {
            long now = clock.nowNs();
            if (e == null) {
                outcomes.acked(stream, seq, md.partition(), md.offset());
            } else {
                outcomes.failed(stream, seq, e.getClass().getName());
            }
            phase.complete(now, stampNs, e == null);
        }
    }

    /**
     * Stamps and sends the next record: to the next partition round robin,
     * or to its key's partition (src/record.rs, "The suite's own streams and
     * keys"); its stream is {@code firstStream + partition}. The only path by
     * which the driver produces. The value buffer is reused: send() copies it
     * into the batch before it returns.
     */
    private void sendOne(long stampNs, Phase phase) {
        int partition;
        byte[] key = null;
        if (keys == null) {
            partition = cursor;
            cursor = (cursor + 1) % partitions;
        } else {
            long k = keys.next();
            partition = (int) Long.remainderUnsigned(k, partitions);
            Stamp.writeKeySeq(payload, keys.nextKeySeq(k));
            key = Keys.keyBytes(k);
        }
        long seq = nextSeq[partition]++;
        Stamp.write(payload, runTag, firstStream + partition, seq, stampNs);
        sent.lazySet(sent.get() + 1);
        Completion cb = new Completion(partition, seq, stampNs, phase);
        try {
            producer.send(new ProducerRecord<>(topic, partition, key, payload), cb);
        } catch (KafkaException | IllegalStateException e) {
            // Refused before it reached the client's queue: a failure the
            // checker must see as such.
            cb.onCompletion(null, e);
        }
    }

    /** Client metrics of group producer-metrics named in {@link #METRICS}. */
    static Map<String, Double> metrics(Map<MetricName, ? extends Metric> all) {
        Map<String, Double> m = new TreeMap<>();
        for (Map.Entry<MetricName, ? extends Metric> e : all.entrySet()) {
            MetricName n = e.getKey();
            if (!n.group().equals("producer-metrics") || !METRICS.contains(n.name())) {
                continue;
            }
            Object v = e.getValue().metricValue();
            if (v instanceof Number) {
                m.put(n.name(), ((Number) v).doubleValue());
            }
        }
        return m;
    }

    String finish() {
        StringBuilder b = new StringBuilder("{\"finish\":{");
        if (producer == null) {
            b.append("\"deliveries\":[],\"metrics\":{},\"effective\":{},\"acked_end_offsets\":{}");
            return b.append("}}").toString();
        }
        producer.flush();
        Map<String, Double> metrics = metrics(producer.metrics());
        b.append("\"deliveries\":").append(outcomes.deliveriesJson(nextSeq, firstStream));
        b.append(",\"metrics\":{");
        boolean first = true;
        for (Map.Entry<String, Double> e : metrics.entrySet()) {
            b.append(first ? "" : ",").append(Json.quote(e.getKey())).append(':').append(Json.number(e.getValue()));
            first = false;
        }
        b.append("},\"effective\":").append(Json.object(effective));
        b.append(",\"acked_end_offsets\":").append(outcomes.ackedEndOffsetsJson());
        producer.close(Duration.ofSeconds(5));
        producer = null;
        return b.append("}}").toString();
    }
}
