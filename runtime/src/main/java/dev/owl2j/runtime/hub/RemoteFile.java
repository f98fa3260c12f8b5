package dev.owl2j.runtime.hub;

/**
 * One file of a repository revision as the hub lists it.
 *
 * @param path   path inside the repository ({@code rfilename}), '/'-separated
 * @param size   bytes, or -1 when the hub did not say
 * @param sha256 lowercase hex SHA-256 of the content for LFS files ({@code lfs.sha256}), else null
 * @param gitOid lowercase hex git blob id ({@code blobId}) for files stored in git itself, else null; for LFS
 *               files the hub's blob id names the pointer file, not the content, so it is not kept
 */
public record RemoteFile(String path, long size, String sha256, String gitOid) {
    /** What is checked after download, for messages: "sha256", "git blob id" or "size". */
    public String checkKind() {
        return sha256 != null ? "sha256" : gitOid != null ? "git blob id" : "size";
    }
}
