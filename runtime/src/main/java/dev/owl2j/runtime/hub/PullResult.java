package dev.owl2j.runtime.hub;

import java.nio.file.Path;
import java.util.List;

/**
 * What a pull did.
 *
 * @param dir             the folder holding the files
 * @param commit          the commit the revision resolved to (the hub's {@code sha}), or null if not given
 * @param files           the files selected (all of them present and verified in {@code dir} now)
 * @param downloaded      how many files were fetched (wholly or by resuming)
 * @param skipped         how many were already complete
 * @param bytesDownloaded bytes received over the network
 * @param sizeOnly        how many of the files the hub listed with a size but no hash (checked by size only)
 */
public record PullResult(Path dir, String commit, List<RemoteFile> files, int downloaded, int skipped,
                         long bytesDownloaded, int sizeOnly) {}
