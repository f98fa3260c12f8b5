package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.hub.HubDownloader;
import dev.owl2j.runtime.hub.ModelCache;
import dev.owl2j.runtime.hub.PullOptions;
import dev.owl2j.runtime.hub.PullProgress;
import dev.owl2j.runtime.hub.PullResult;
import dev.owl2j.runtime.hub.RepoRef;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code owl2j pull org/name}: downloads a Hugging Face model repository into the cache (or --dir). */
@Command(name = "pull",
        mixinStandardHelpOptions = true,
        description = {"Download a model repository from the Hugging Face hub (resumable, verified).",
                "Into: --dir, else $OWL2J_HOME/models/<org>--<name>/<revision>",
                "(OWL2J_HOME defaults to ~/.cache/owl2j).",
                "Environment: HF_TOKEN (private or gated repositories), HF_ENDPOINT (another hub)."})
public final class PullCommand implements Runnable {
    @CommandLine.ParentCommand
    Owl2jCommand parent;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "REPO", description = "org/name[@revision], e.g. MAGAer13/mplug-owl2-llama2-7b")
    String repo;

    @Option(names = "--revision", paramLabel = "REV", description = "Branch, tag or commit (default: main).")
    String revision;

    @Option(names = "--dir", paramLabel = "DIR", description = "Download into DIR instead of the cache (created if missing, not its parents; it must not hold another repository's pull).")
    Path dir;

    @Option(names = "--endpoint", paramLabel = "URL", description = "Hub URL (default: $HF_ENDPOINT or https://huggingface.co).")
    String endpoint;

    @Option(names = "--jobs", paramLabel = "N", description = "Files downloaded at once (default: 4).")
    Integer jobs;

    @Option(names = "--include", paramLabel = "GLOB", description = "Only files whose repository path matches GLOB (repeatable), e.g. '*.json'.")
    List<String> include = new ArrayList<>();

    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;

    @Override
    public void run() {
        Map<String, String> env = parent != null ? parent.env() : System.getenv();
        RepoRef ref = RepoRef.parse(repo);
        if (revision != null) {
            if (repo.contains("@") && !revision.equals(ref.revision())) {
                throw new Owl2jException("two revisions given: " + ref.revision() + " (in " + repo + ") and --revision " + revision);
            }
            ref = new RepoRef(ref.repo(), revision);
        }
        PullOptions options = PullOptions.fromEnv(env);
        if (endpoint != null) {
            options = options.withEndpoint(PullOptions.parseEndpoint(endpoint));
        }
        if (jobs != null) {
            options = options.withJobs(jobs);
        }
        options = options.withInclude(include);
        Path target = dir != null ? dir : ModelCache.modelDir(ModelCache.root(env), ref);
        if (dir == null) {
            // the cache's own folders (root, models, org--name); the revision folder itself is made by the pull
            try {
                java.nio.file.Files.createDirectories(target.getParent());
            } catch (java.io.IOException e) {
                throw dev.owl2j.model.io.SafeFileWriter.failure(target.getParent(), e);
            }
        }
        var out = spec.commandLine().getOut();
        PullProgress progress = noProgress ? PullProgress.NONE : new BarProgress("pull " + ref.repo());
        PullResult result = new HubDownloader(options).pull(ref, target, progress);
        out.printf("pulled %s (commit %s) into %s: %d files, %d downloaded (%.1f MiB received), %d already complete%n",
                ref, result.commit() == null ? "unknown" : result.commit(), result.dir(), result.files().size(),
                result.downloaded(), result.bytesDownloaded() / 1048576.0, result.skipped());
        if (result.sizeOnly() > 0) {
            out.printf("note: the hub gave no hash for %d of the files; they were checked by size only%n", result.sizeOnly());
        }
        out.flush();
    }

    /** One byte-counting bar for all files (progressbar draws it on stderr). */
    private static final class BarProgress implements PullProgress {
        private final String task;
        private ProgressBar bar;

        BarProgress(String task) {
            this.task = task;
        }

        @Override
        public synchronized void start(long totalBytes) {
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(totalBytes)
                    .setStyle(ProgressBarStyle.ASCII).setUnit(" MiB", 1 << 20).showSpeed()
                    .setUpdateIntervalMillis(250).build();
        }

        @Override
        public synchronized void advance(long delta) {
            if (bar != null) {
                bar.stepBy(delta);
            }
        }

        @Override
        public synchronized void finish() {
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
    }
}
