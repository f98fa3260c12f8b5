package dev.owl2j.spark;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.image.ImageDecoder;
import dev.owl2j.model.tokenizer.ChatTemplate;
import dev.owl2j.model.tokenizer.PromptTokenizer;
import dev.owl2j.runtime.cli.CaptionCommand;
import dev.owl2j.runtime.model.Prompts;
import org.apache.spark.sql.Row;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One input row made ready for the engine: prompt ids (-200 per image) checked against the model, and the
 * image's pixel values. The row layout is {@link BatchJob}'s: key, image, prompt, then the columns kept for the
 * output. Everything here runs on the task's thread, outside the engine lock.
 *
 * @param candidates score: each candidate's ids after the shared prompt ids (as owl2j score splits them)
 */
record RowInput(int[] ids, List<float[]> pixels, List<int[]> candidates) {
    static final int KEY = 0;
    static final int IMAGE = 1;
    static final int PROMPT = 2;

    static RowInput prepare(Row row, BatchSettings s, BatchModel model) {
        List<float[]> pixels = new ArrayList<>();
        Object image = row.get(IMAGE);
        if (image != null) {
            pixels.add(pixelValues(image, row.getString(KEY), s, model));
        } else if (s.task() == BatchSettings.Task.CAPTION) {
            throw new Owl2jException("the row has no image");
        }
        int images = pixels.size();
        Object prompt = s.task() == BatchSettings.Task.CAPTION ? null : row.get(PROMPT);
        if (s.task() != BatchSettings.Task.CAPTION && prompt == null && s.prompt() == null) {
            throw new Owl2jException("the row has no prompt");
        }
        int[] ids;
        String text = null;
        if (s.task() == BatchSettings.Task.CAPTION) {
            ids = tokenizer(model).encode(CaptionCommand.PROMPT);
        } else if (prompt instanceof String || prompt == null) {
            String p = prompt == null ? s.prompt() : (String) prompt;
            // as owl2j run and score: a question without <|image|> gets the image's marker at its start
            String marked = PromptTokenizer.countImages(p) == 0 ? PromptTokenizer.IMAGE_MARKER.repeat(images) + p : p;
            text = s.raw() ? p : ChatTemplate.singleTurn(marked);
            ids = tokenizer(model).encode(text);
        } else {
            ids = idsOf(prompt);
        }
        Prompts.validate(model.engine().config(), ids, images, 0);
        if (s.task() != BatchSettings.Task.SCORE) {
            return new RowInput(ids, pixels, List.of());
        }
        if (text == null) {
            throw new Owl2jException("score needs a text prompt (the candidates are tokenized after it)");
        }
        return candidates(tokenizer(model), text, ids, pixels, s.candidates(), model);
    }

    /**
     * As owl2j score: a candidate's tokens are those of prompt+candidate past the prefix shared with the prompt
     * (so merges across the boundary are the ones the model would have made); the prompt is cut to the prefix
     * all candidates share.
     */
    private static RowInput candidates(PromptTokenizer tok, String text, int[] promptIds, List<float[]> pixels, List<String> candidates,
                                       BatchModel model) {
        int images = pixels.size();
        List<int[]> fulls = new ArrayList<>();
        int shared = promptIds.length;
        for (String c : candidates) {
            int[] full = tok.encode(text + c);
            fulls.add(full);
            int k = 0;
            while (k < Math.min(full.length, promptIds.length) && full[k] == promptIds[k]) k++;
            shared = Math.min(shared, k);
        }
        int[] sharedIds = Arrays.copyOf(promptIds, shared);
        if (Prompts.countImages(sharedIds) != images) {
            throw new Owl2jException("the candidates change how the prompt's images are tokenized");
        }
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < fulls.size(); i++) {
            int[] t = Arrays.copyOfRange(fulls.get(i), shared, fulls.get(i).length);
            if (Prompts.countImages(t) > 0) throw new Owl2jException("candidate '" + candidates.get(i) + "' contains an image marker");
            int[] whole = Arrays.copyOf(sharedIds, shared + t.length);
            System.arraycopy(t, 0, whole, shared, t.length);
            Prompts.validate(model.engine().config(), whole, images, 0);
            out.add(t);
        }
        return new RowInput(sharedIds, pixels, out);
    }

    private static PromptTokenizer tokenizer(BatchModel model) {
        if (model.tokenizer() == null) {
            throw new Owl2jException("model " + model.id() + " has no tokenizer: give prompts as token ids (an array of integers, -200 for the image)");
        }
        return new PromptTokenizer(model.tokenizer());
    }

    private static int[] idsOf(Object prompt) {
        if (prompt instanceof scala.collection.Seq<?> seq) {
            int[] ids = new int[seq.size()];
            for (int i = 0; i < ids.length; i++) {
                Object v = seq.apply(i);
                if (!(v instanceof Number n)) throw new Owl2jException("prompt ids hold a null");
                ids[i] = n.intValue();
            }
            if (ids.length == 0) throw new Owl2jException("the prompt ids are empty");
            return ids;
        }
        if (prompt instanceof List<?> list) {
            return idsOf(scala.jdk.javaapi.CollectionConverters.asScala(list).toSeq());
        }
        throw new Owl2jException("the prompt column must hold text or token ids, not " + prompt.getClass().getSimpleName());
    }

    /**
     * A path or URI (file:, or any file system the cluster's Hadoop knows: hdfs:, s3a:, ...) or the image's bytes.
     * Local paths go through the decoder's own file checks (regular file, at most 20 MiB).
     */
    private static float[] pixelValues(Object image, String key, BatchSettings s, BatchModel model) {
        if (image instanceof byte[] bytes) {
            if (bytes.length > ImageDecoder.MAX_FILE_BYTES) {
                throw new Owl2jException("image is " + bytes.length + " bytes, over the limit of " + ImageDecoder.MAX_FILE_BYTES);
            }
            return model.preprocessor().pixelValues(bytes, key, s.aspectMode());
        }
        String location = image.toString();
        if (location.isBlank()) {
            throw new Owl2jException("the image path is empty");
        }
        URI uri = uriOrNull(location);
        if (uri == null || uri.getScheme() == null || uri.getScheme().length() == 1) { // a plain path (or C:\...)
            return model.preprocessor().pixelValues(Path.of(location), s.aspectMode());
        }
        if (uri.getScheme().equals("file")) {
            return model.preprocessor().pixelValues(Path.of(uri), s.aspectMode());
        }
        return model.preprocessor().pixelValues(readHadoop(location), location, s.aspectMode());
    }

    private static URI uriOrNull(String s) {
        try {
            return new URI(s);
        } catch (java.net.URISyntaxException e) {
            return null;
        }
    }

    /** At most 20 MiB (the decoder's file limit), read through the Hadoop file system that owns the URI. */
    private static byte[] readHadoop(String location) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(location);
        try {
            org.apache.hadoop.fs.FileSystem fs = p.getFileSystem(new org.apache.hadoop.conf.Configuration());
            if (!fs.exists(p)) throw new Owl2jException("image not found: " + location);
            try (InputStream in = fs.open(p)) {
                byte[] data = in.readNBytes(ImageDecoder.MAX_FILE_BYTES + 1);
                if (data.length > ImageDecoder.MAX_FILE_BYTES) {
                    throw new Owl2jException("image " + location + " is over the limit of " + ImageDecoder.MAX_FILE_BYTES + " bytes");
                }
                return data;
            }
        } catch (IOException e) {
            throw new Owl2jException("cannot read image " + location + ": " + e.getMessage(), e);
        }
    }
}
