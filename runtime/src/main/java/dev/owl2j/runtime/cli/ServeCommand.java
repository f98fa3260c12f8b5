package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.runtime.server.OpenAiServer;
import dev.owl2j.runtime.server.ServerOptions;
import dev.owl2j.runtime.server.TokenizedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/** {@code owl2j serve}: the OpenAI-compatible HTTP server with continuous batching (docs/server.md). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve the model over an OpenAI-compatible HTTP API (chat completions with images, streaming, /v1/score).")
public final class ServeCommand implements Callable<Integer> {
    /** Tests receive the running server here (then close it to end the command). */
    static volatile Consumer<OpenAiServer> onStarted;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1", description = "Interface to bind (default: ${DEFAULT-VALUE}; 0.0.0.0 for all).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "TCP port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--max-batch", paramLabel = "N", defaultValue = "16", description = "Sequences decoded together (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "64", description = "Requests that may wait for a slot before new ones get HTTP 429 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--max-images", paramLabel = "N", defaultValue = "8", description = "Images per request (default: ${DEFAULT-VALUE}).")
    int maxImages;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "4096", description = "Largest max_tokens a request may ask for (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--aspect", paramLabel = "pad|resize|crop", defaultValue = "pad",
            description = "How a non-square image becomes square: pad (to a square in the mean colour), resize (stretch) or crop (centre) (default: ${DEFAULT-VALUE}).")
    String aspect;

    @Option(names = "--allow-remote-images", description = "Also accept http(s) image URLs (fetched with a 10 s and 20 MB limit).")
    boolean allowRemoteImages;

    @Option(names = "--read-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "Most time a client may take to send a request's headers and body, and to stay idle between requests (default: ${DEFAULT-VALUE}).")
    double readTimeout;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "256",
            description = "Open connections served; further ones get HTTP 503 except for /health and /metrics (default: ${DEFAULT-VALUE}).")
    int maxConnections;

    @Option(names = "--cors", paramLabel = "ORIGIN", description = "A web origin (https://app.example.com) whose pages may call the API; repeatable. Without it, requests from web pages of other origins are refused.")
    List<String> cors = new ArrayList<>();

    @Option(names = "--host-name", paramLabel = "NAME", description = "A DNS name the server answers to in the Host header (IP addresses and localhost always are); repeatable.")
    List<String> hostNames = new ArrayList<>();

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:OWL2J_API_KEY}",
            description = "Require Authorization: Bearer KEY on every request but /health (default: $OWL2J_API_KEY; prefer the variable, a command line is visible to other users).")
    String apiKey;

    @Option(names = "--served-model-name", paramLabel = "NAME", description = "The model's name in /v1/models and answers (default: the folder's name or the pulled repository id, never a path); repeat for aliases a request's model may use.")
    List<String> servedNames = new ArrayList<>();

    /** The name clients see: never a path on this machine (the folder's own name, or the pulled id). */
    static String servedName(String modelArg, LoadedModel model) {
        if (modelArg == null || modelArg.isBlank()) return model.id();
        java.nio.file.Path p = java.nio.file.Path.of(modelArg);
        if (java.nio.file.Files.isDirectory(p)) {
            java.nio.file.Path name = p.toAbsolutePath().normalize().getFileName();
            return name == null ? "model" : name.toString();
        }
        return modelArg;
    }

    @Override
    public Integer call() throws InterruptedException {
        AspectMode mode = AspectMode.parse(aspect);
        ServerOptions defaults = ServerOptions.defaults();
        ServerOptions options = new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages,
                defaults.maxImageBytes(), defaults.maxImagePixels(), maxTokens, Duration.ofSeconds(10))
                .withConnections(seconds("--read-timeout", readTimeout), maxConnections)
                .withAccess(OpenAiServer.checkOrigins(cors), OpenAiServer.checkHostNames(hostNames), apiKey == null || apiKey.isEmpty() ? null : apiKey);
        try (LoadedModel model = LoadedModel.open(modelOptions, System.err)) {
            if (!model.hasTokenizer()) {
                throw new Owl2jException("model " + model.dir() + " has no tokenizer.model or tokenizer.json; the server needs one");
            }
            for (String n : servedNames) {
                if (n.isBlank()) throw new Owl2jException("--served-model-name must not be empty");
            }
            String name = servedNames.isEmpty() ? servedName(modelOptions.model, model) : servedNames.getFirst();
            options = options.withModelNames(servedNames.isEmpty() ? List.of(name) : servedNames);
            TokenizedModel front = new TokenizedModel(name, model.engine(), model.tokenizer(), model.preprocessor(),
                    model.generation(), mode);
            OpenAiServer server = new OpenAiServer(front, options).start();
            Thread hook = new Thread(server::close, "owl2j-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            System.err.println("owl2j: serving " + name + " (" + model.engine().description() + ") on http://"
                    + host + ":" + server.port() + "/v1  (max batch " + maxBatch + ", queue " + queue + "; Ctrl-C stops)");
            Consumer<OpenAiServer> hookForTests = onStarted;
            if (hookForTests != null) hookForTests.accept(server);
            server.awaitClose();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting: the hook is what closed the server
            }
        }
        return 0;
    }

    private static Duration seconds(String option, double value) {
        if (!(value > 0) || value > 86_400) throw new Owl2jException(option + " must be a number of seconds in (0, 86400], got " + value);
        return Duration.ofMillis(Math.max(1, Math.round(value * 1000)));
    }
}
