package dev.owl2j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.tokenizer.DefaultTokenizerBuilder;
import dev.owl2j.runtime.cli.Owl2jCommand;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * owl2j batch in local[2] on the tiny fixture (with the project's own 32000-id tokenizer added, so that prompts
 * can be text): answers equal owl2j run / caption, scores equal owl2j score, the fixture's golden greedy tokens,
 * bad rows as errors, the same table from differently split inputs, one engine load per JVM. One SparkSession
 * for every test (starting Spark is most of the cost).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BatchJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int TOKENS = 10;

    @TempDir
    static Path tmp;
    static Path model;
    static Path image0;
    static Path image1;
    static SparkSession spark;
    static int jobs;

    @BeforeAll
    static void start() throws IOException {
        Path fixture = Path.of(System.getProperty("owl2j.testdata")).resolve("tiny-owl2-f16");
        model = Files.createDirectories(tmp.resolve("model"));
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors", "preprocessor_config.json")) {
            Files.copy(fixture.resolve(f), model.resolve(f));
        }
        DefaultTokenizerBuilder.write(32000, model.resolve("tokenizer.json"));
        image0 = fixture.resolve("image0.png");
        image1 = fixture.resolve("image1.jpg");
        spark = SparkSession.builder().master("local[2]").appName("owl2j-batch-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
    }

    static BatchSettings settings(BatchSettings.Task task, String prompt, List<String> candidates, int maxNew, int minNew,
                                  double temperature, String aspect, int maxBatch) {
        return new BatchSettings(task, new BatchSettings.ModelKey(model.toString(), "cpu", 0, null, null), prompt, false,
                candidates, maxNew, minNew, temperature, 50, null, 5, aspect, maxBatch);
    }

    static BatchSettings ask(double temperature) {
        return settings(BatchSettings.Task.ASK, null, List.of(), TOKENS, 0, temperature, "pad", 3);
    }

    /** Writes rows as a Parquet table split into {@code files} partitions and returns its path. */
    static String table(StructType schema, List<Row> rows, int files) {
        String path = tmp.resolve("in-" + (++jobs) + ".parquet").toString();
        spark.createDataFrame(rows, schema).repartition(files).write().parquet(path);
        return path;
    }

    static final StructType ASK = new StructType()
            .add("id", DataTypes.StringType).add("image", DataTypes.StringType).add("prompt", DataTypes.StringType);

    static List<Row> askRows() {
        return List.of(
                RowFactory.create("r1", image0.toString(), "What is in the picture?"),
                RowFactory.create("r2", image1.toString(), "What is in the picture?"),
                RowFactory.create("r3", image1.toString(), "<|image|>Is it daytime?"));
    }

    private static Map<String, Row> greedyAnswers;

    /** The greedy answers to {@link #askRows}, from one job shared by the tests that compare with them. */
    static synchronized Map<String, Row> greedyAnswers() {
        if (greedyAnswers == null) greedyAnswers = run(ask(0), table(ASK, askRows(), 2), 0);
        return greedyAnswers;
    }

    /** Runs a job and returns its output rows by id. */
    static Map<String, Row> run(BatchSettings s, String input, int partitions) {
        String out = tmp.resolve("out-" + (++jobs)).toString();
        BatchJob.run(spark, s, new BatchJob.Io(input, "auto", out, "parquet", "id", "image", "prompt", List.of(), partitions), null);
        Map<String, Row> byId = new TreeMap<>();
        for (Row r : spark.read().parquet(out).collectAsList()) byId.put(r.getString(0), r);
        return byId;
    }

    record Cli(int code, String out, String err) {}

    static synchronized Cli cli(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Owl2jCommand.execute(args);
            return new Cli(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void everyAnswerEqualsOwl2jRun() throws IOException {
        Map<String, Row> got = greedyAnswers();
        assertEquals(3, got.size());
        for (Row in : askRows()) {
            Row r = got.get(in.getString(0));
            assertNull(r.getAs("error"), in.getString(0));
            Cli c = cli("run", "--model", model.toString(), "--backend", "cpu", "--image", in.getString(1), "--prompt", in.getString(2),
                    "--temperature", "0", "--max-new-tokens", String.valueOf(TOKENS), "--output", "json");
            assertEquals(0, c.code(), c.err());
            JsonNode want = JSON.readTree(c.out());
            int[] wantIds = new int[want.get("ids").size()];
            for (int i = 0; i < wantIds.length; i++) wantIds[i] = want.get("ids").get(i).asInt();
            assertArrayEquals(wantIds, ints(r.getList(r.fieldIndex("tokens"))), in.getString(0) + " tokens");
            assertEquals(want.get("text").asText(), r.getAs("answer"), in.getString(0) + " text");
            assertEquals(want.get("finish_reason").asText(), r.getAs("finish_reason"));
        }
    }

    @Test
    void promptIdsGiveTheFixturesGoldenGreedyTokens() throws IOException {
        JsonNode manifest = JSON.readTree(Path.of(System.getProperty("owl2j.testdata")).resolve("tiny-owl2-f16/golden/manifest.json").toFile());
        JsonNode p0 = manifest.get("prompts").get(0);
        assertEquals("prompt0", p0.get("name").asText());
        assertEquals("image0", p0.get("images").get(0).asText());
        List<Integer> ids = new ArrayList<>();
        p0.get("ids").forEach(n -> ids.add(n.asInt()));
        int[] golden = new int[p0.get("greedy_tokens").size()];
        for (int i = 0; i < golden.length; i++) golden[i] = p0.get("greedy_tokens").get(i).asInt();
        StructType schema = new StructType().add("id", DataTypes.LongType).add("image", DataTypes.StringType)
                .add("prompt", DataTypes.createArrayType(DataTypes.IntegerType));
        String in = table(schema, List.of(RowFactory.create(7L, image0.toString(), ids.toArray(Integer[]::new))), 1);
        BatchSettings s = settings(BatchSettings.Task.ASK, null, List.of(), golden.length, 0, 0, "pad", 4);
        String out = tmp.resolve("out-golden").toString();
        BatchJob.run(spark, s, new BatchJob.Io(in, "parquet", out, "json", "id", "image", "prompt", List.of(), 0), null);
        Row r = spark.read().json(out).collectAsList().getFirst();
        assertEquals(7L, r.getLong(r.fieldIndex("id")), "the id keeps its type");
        List<Long> tokens = r.getList(r.fieldIndex("tokens"));
        assertArrayEquals(golden, tokens.stream().mapToInt(Long::intValue).toArray(), "golden greedy tokens of prompt0");
    }

    @Test
    void captionsEqualOwl2jCaption() {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("image", DataTypes.BinaryType);
        List<Row> rows = new ArrayList<>();
        try {
            rows.add(RowFactory.create("image0.png", Files.readAllBytes(image0)));
            rows.add(RowFactory.create("image1.jpg", Files.readAllBytes(image1)));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        BatchSettings s = settings(BatchSettings.Task.CAPTION, null, List.of(), 60, 8, 0, "resize", 16);
        Map<String, Row> got = run(s, table(schema, rows, 1), 0);
        Cli c = cli("caption", "--model", model.toString(), "--backend", "cpu", image0.toString(), image1.toString());
        assertEquals(0, c.code(), c.err());
        for (String line : c.out().strip().split("\n")) {
            String[] parts = line.split("\t", 2);
            Row r = got.get(parts[0]);
            assertNotNull(r, parts[0]);
            assertEquals(parts[1], r.getAs("answer"), parts[0]);
            assertTrue(r.getList(r.fieldIndex("tokens")).size() >= 8, "at least --min-new-tokens");
        }
    }

    @Test
    void scoresEqualOwl2jScore() throws IOException {
        List<String> candidates = List.of(" good", " poor", " excellent quality");
        BatchSettings s = settings(BatchSettings.Task.SCORE, "How is the quality of this image?", candidates, 1, 0, 0, "pad", 16);
        Map<String, Row> got = run(s, table(ASK, askRows().subList(0, 2), 1), 0);
        for (Row in : askRows().subList(0, 2)) {
            Cli c = cli("score", "--model", model.toString(), "--backend", "cpu", "--image", in.getString(1),
                    "--prompt", "How is the quality of this image?", "-c", " good", "-c", " poor", "-c", " excellent quality", "--output", "json");
            assertEquals(0, c.code(), c.err());
            JsonNode want = JSON.readTree(c.out()).get("scores");
            Row r = got.get(in.getString(0));
            assertNull(r.getAs("error"));
            List<Row> scores = r.getList(r.fieldIndex("scores"));
            assertEquals(candidates.size(), scores.size());
            for (int i = 0; i < candidates.size(); i++) {
                Row sc = scores.get(i);
                assertEquals(candidates.get(i), sc.getString(0));
                // the same engine calls in another JVM state: a JIT-compiled reduction may round the last bit differently
                assertEquals(want.get(i).get("logprob").asDouble(), sc.getDouble(1), 1e-5, candidates.get(i));
                List<Integer> ids = sc.getList(2);
                for (int k = 0; k < ids.size(); k++) assertEquals(want.get(i).get("token_ids").get(k).asInt(), ids.get(k));
                assertEquals(want.get(i).get("token_ids").size(), ids.size());
            }
        }
    }

    @Test
    void badRowsGetTheirErrorAndTheOthersTheirAnswer() throws IOException {
        Path corrupt = tmp.resolve("corrupt.png");
        byte[] png = Files.readAllBytes(image0);
        Files.write(corrupt, Arrays.copyOf(png, 100)); // a PNG cut short
        Path notImage = tmp.resolve("notes.jpg");
        Files.writeString(notImage, "not an image at all");
        List<Row> rows = new ArrayList<>(askRows().subList(0, 2));
        rows.add(RowFactory.create("bad-corrupt", corrupt.toString(), "What is in the picture?"));
        rows.add(RowFactory.create("bad-text", notImage.toString(), "What is in the picture?"));
        rows.add(RowFactory.create("bad-missing", tmp.resolve("missing.png").toString(), "What is in the picture?"));
        rows.add(RowFactory.create("bad-long", image0.toString(), "tell me more ".repeat(1500)));
        rows.add(RowFactory.create("bad-noprompt", image0.toString(), null));
        rows.add(RowFactory.create("bad-marker", image0.toString(), "<|image|><|image|>two?"));
        Map<String, Row> got = run(ask(0), table(ASK, rows, 2), 0);
        Map<String, Row> good = greedyAnswers();
        for (String id : List.of("r1", "r2")) {
            assertNull(got.get(id).getAs("error"), id);
            assertEquals(good.get(id).<String>getAs("answer"), got.get(id).getAs("answer"), id);
        }
        Map<String, String> expect = Map.of("bad-corrupt", "corrupt.png", "bad-text", "notes.jpg",
                "bad-missing", "image not found", "bad-long", "positions", "bad-noprompt", "no prompt", "bad-marker", "2 image placeholders");
        for (var e : expect.entrySet()) {
            Row r = got.get(e.getKey());
            String error = r.getAs("error");
            assertNotNull(error, e.getKey());
            assertTrue(error.contains(e.getValue()), e.getKey() + ": " + error);
            assertTrue(!error.contains("\n"), "one line");
            assertNull(r.getAs("answer"));
        }
    }

    @Test
    void theSameTableWhateverTheInputsSplitWithSampling() {
        BatchSettings s = ask(0.9); // sampled: each row draws from its own seeded generator
        Map<String, Row> one = run(s, table(ASK, askRows(), 1), 0);
        Map<String, Row> three = run(s, table(ASK, askRows(), 3), 0);
        assertEquals(one.keySet(), three.keySet());
        for (String id : one.keySet()) {
            assertEquals(one.get(id).<String>getAs("answer"), three.get(id).getAs("answer"), id);
            assertEquals(one.get(id).getList(one.get(id).fieldIndex("tokens")), three.get(id).getList(three.get(id).fieldIndex("tokens")), id);
        }
    }

    /** Last: counts the loads of every job of this class (ask, caption, score, the command line), in 1 to 3 partitions. */
    @Test
    @Order(Integer.MAX_VALUE)
    void oneEngineLoadPerJvmWhateverThePartitions() {
        run(ask(0), table(ASK, askRows(), 1), 3); // three partitions: local[2] runs two tasks at once
        assertEquals(1, ExecutorModels.loads(), "every task of every job in this JVM shares one engine");
    }

    @Test
    void theCommandLineWritesJsonLinesAndRefusesBadInputInOneLine() throws IOException {
        String in = tmp.resolve("cli-in.jsonl").toString();
        Files.writeString(Path.of(in), "{\"key\":\"x\",\"picture\":\"" + image0 + "\",\"note\":\"keep me\"}\n");
        String out = tmp.resolve("cli-out").toString();
        Cli c = cli("batch", "--model", model.toString(), "--backend", "cpu", "--task", "caption", "--input", in, "--output", out,
                "--format", "json", "--id-column", "key", "--image-column", "picture", "--keep", "note", "--max-new-tokens", "9");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains("1 rows (0 with an error)"), c.out());
        assertTrue(c.err().contains("owl2j batch: 1/1 rows, "), "the progress line: " + c.err());
        JsonNode row = JSON.readTree(Files.readString(Files.list(Path.of(out)).filter(p -> p.toString().endsWith(".json")).findFirst().orElseThrow()));
        assertEquals("x", row.get("key").asText());
        assertEquals("keep me", row.get("note").asText());
        assertEquals(9, row.get("tokens").size());

        Cli exists = cli("batch", "--model", model.toString(), "--task", "caption", "--input", in, "--output", out);
        assertEquals(1, exists.code());
        assertTrue(exists.err().startsWith("owl2j: --output " + out + " already exists"), exists.err());
        Cli noColumn = cli("batch", "--model", model.toString(), "--task", "caption", "--input", in, "--output", out + "2");
        assertEquals(1, noColumn.code());
        assertEquals("owl2j: the input has no column 'id' (it has key, note, picture): name the id column with --id-column",
                noColumn.err().strip());
        Cli noCandidates = cli("batch", "--task", "score", "--prompt", "ok?", "--input", in, "--output", out + "3");
        assertEquals("owl2j: --task score needs at least one --candidate", noCandidates.err().strip());
        assertTrue(spark.sparkContext().isStopped() == false, "the command leaves a session it did not start running");
    }
}
