package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The figures of the native C yardstick ({@code scripts/native-ceiling/run.sh}, which writes them as a TSV file) for
 * {@code owl2j bench --native FILE}: the same machine's decode and prefill schemes in C, so a run of the Java
 * engine can be read against them. The format, written by run.sh: a first line
 * {@code # owl2j native yardstick 1<TAB>date<TAB>CPU<TAB>avx512f=..<TAB>avx512_vnni=..}, then one figure per
 * line, seven tab-separated columns: part (decode, prefill, read), quant (q4_0, q8_0 or -), scheme, vector bits,
 * threads, value, unit (GB/s of weights from DRAM for decode and read, GFLOP/s by the wall clock for prefill).
 * A hand-written reader: seven columns need no library, and a file that is not this format is refused with the
 * line that is wrong.
 *
 * @param about   the header's date and CPU, for the printed comparison
 * @param figures the figures in file order
 */
record NativeYardstick(String about, List<Figure> figures) {
    /** One measured figure of one scheme. */
    record Figure(String part, String quant, String scheme, int bits, int threads, double value, String unit) {}

    private static final String MAGIC = "# owl2j native yardstick 1";
    /** The yardstick writes a few dozen lines; anything much larger is not its file. */
    private static final int MAX_BYTES = 1 << 20;

    static NativeYardstick read(Path file) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException e) {
            throw new Owl2jException("--native " + file + ": cannot read it (" + e.getMessage() + ")");
        }
        if (bytes.length > MAX_BYTES) {
            throw new Owl2jException("--native " + file + ": larger than " + MAX_BYTES + " bytes, not a yardstick file from scripts/native-ceiling/run.sh");
        }
        String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\r?\n");
        if (lines.length == 0 || !lines[0].startsWith(MAGIC)) {
            throw new Owl2jException("--native " + file + ": the first line is not '" + MAGIC + " ...' (write the file with scripts/native-ceiling/run.sh)");
        }
        String[] head = lines[0].split("\t");
        String about = head.length >= 3 ? head[1].strip() + ", " + head[2].strip() : "no date or CPU in the header";
        List<Figure> figures = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] c = line.split("\t", -1);
            String where = "--native " + file + ": line " + (i + 1) + ": ";
            if (c.length != 7) {
                throw new Owl2jException(where + "expected 7 tab-separated columns (part, quant, scheme, bits, threads, value, unit), got " + c.length);
            }
            int bits = positiveInt(c[3], where + "vector bits");
            int threads = positiveInt(c[4], where + "threads");
            double value;
            try {
                value = Double.parseDouble(c[5]);
            } catch (NumberFormatException e) {
                throw new Owl2jException(where + "value '" + shortened(c[5]) + "' is not a number");
            }
            if (!(value > 0) || !Double.isFinite(value)) {
                throw new Owl2jException(where + "value " + c[5] + " is not a positive rate");
            }
            figures.add(new Figure(c[0].strip().toLowerCase(Locale.ROOT), c[1].strip().toLowerCase(Locale.ROOT),
                    c[2].strip(), bits, threads, value, c[6].strip()));
        }
        if (figures.isEmpty()) {
            throw new Owl2jException("--native " + file + ": no figures after the header");
        }
        return new NativeYardstick(about, List.copyOf(figures));
    }

    /**
     * The figures of one part and quant (null: any) measured with this many threads, in file order: those at the
     * given vector width where the file has any, else those at every width.
     */
    List<Figure> of(String part, String quant, int threads, int bits) {
        List<Figure> all = figures.stream()
                .filter(f -> f.part().equals(part) && (quant == null || f.quant().equals(quant)) && f.threads() == threads)
                .toList();
        List<Figure> width = all.stream().filter(f -> f.bits() == bits).toList();
        return width.isEmpty() ? all : width;
    }

    /**
     * "scheme/bits value unit (Owl2J x.xx×)" for each figure, Owl2J's rate divided by the scheme's; or a note that
     * the file has none for these threads.
     */
    static String against(List<Figure> figures, double owl2j, int threads) {
        if (figures.isEmpty()) {
            return "no figures for " + threads + " thread" + (threads == 1 ? "" : "s") + " in the file";
        }
        List<String> cells = new ArrayList<>();
        for (Figure f : figures) {
            // the decode part's own "read" streams the quantized matrix; the read part is a plain 1 GiB read
            String name = f.part().equals("read") ? "memory-read" : f.scheme();
            cells.add(name + "/" + f.bits() + " " + significant(f.value()) + " " + f.unit() + " (Owl2J "
                    + significant(owl2j / f.value()) + "x)");
        }
        return String.join(", ", cells);
    }

    /** Three significant digits, never in exponent form: 370, 41.2, 0.724, 0.00361. */
    static String significant(double v) {
        if (!(v > 0) || !Double.isFinite(v)) {
            return String.valueOf(v);
        }
        return new java.math.BigDecimal(v).round(new java.math.MathContext(3)).stripTrailingZeros().toPlainString();
    }

    private static int positiveInt(String s, String what) {
        try {
            int v = Integer.parseInt(s.strip());
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new Owl2jException(what + " '" + shortened(s) + "' is not a positive integer");
    }

    private static String shortened(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
