package dev.owl2j.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.checkpoint.ExpectedTensors.Component;
import dev.owl2j.model.tensor.DType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What {@link ModelCheckpoint#open} found: the format and files, how many tensors of each dtype, parameters
 * per component (stored tensors only; computed buffers and rotary inv_freq excluded), and the tensors that
 * were missing-but-optional, computed, or not expected by the config.
 *
 * @param format         "safetensors", "safetensors (4 shards)", "pytorch .bin (33 shards)", ...
 * @param files          the weight files (absolute paths), in index order
 * @param tensorsByDType number of stored tensors of each dtype
 * @param parameters     parameters per component, counted over the expected weights that are stored
 * @param missingOptional expected optional tensors that are absent (e.g. rotary inv_freq)
 * @param computed       tensors computed at load time because the checkpoint lacks them (abstractor pos tables)
 * @param unexpected     stored tensors that the config does not expect (ignored unless strict)
 */
public record CheckpointReport(String format, List<Path> files, Map<DType, Integer> tensorsByDType,
                               Map<Component, Long> parameters, List<String> missingOptional, List<String> computed,
                               List<String> unexpected) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public long totalParameters() {
        return parameters.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Human-readable lines for {@code owl2j inspect}. */
    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append("format: ").append(format).append('\n');
        sb.append("files: ").append(files.size()).append('\n');
        for (Path f : files) sb.append("  ").append(f.getFileName()).append('\n');
        sb.append("tensors by dtype:");
        tensorsByDType.forEach((d, n) -> sb.append(' ').append(d).append('=').append(n));
        sb.append('\n').append("parameters:\n");
        parameters.forEach((c, n) -> sb.append(String.format("  %-10s %,d%n", c.name().toLowerCase(java.util.Locale.ROOT), n)));
        sb.append(String.format("  %-10s %,d%n", "total", totalParameters()));
        sb.append("missing optional: ").append(missingOptional.size()).append('\n');
        sb.append("computed at load: ").append(computed.size()).append('\n');
        sb.append("unexpected: ").append(unexpected.size()).append('\n');
        for (String u : unexpected) sb.append("  ").append(u).append('\n');
        return sb.toString();
    }

    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", format);
        ArrayNode fs = o.putArray("files");
        files.forEach(f -> fs.add(f.getFileName().toString()));
        ObjectNode d = o.putObject("tensors_by_dtype");
        tensorsByDType.forEach((k, v) -> d.put(k.name(), v));
        ObjectNode p = o.putObject("parameters");
        parameters.forEach((k, v) -> p.put(k.name().toLowerCase(java.util.Locale.ROOT), v));
        p.put("total", totalParameters());
        missingOptional.forEach(o.putArray("missing_optional")::add);
        computed.forEach(o.putArray("computed")::add);
        unexpected.forEach(o.putArray("unexpected")::add);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
