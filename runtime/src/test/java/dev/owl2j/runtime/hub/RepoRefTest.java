package dev.owl2j.runtime.hub;

import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class RepoRefTest {
    @Test
    void parsesIdsWithAndWithoutRevision() {
        assertEquals(new RepoRef("MAGAer13/mplug-owl2-llama2-7b", "main"), RepoRef.parse("MAGAer13/mplug-owl2-llama2-7b"));
        assertEquals(new RepoRef("a/b", "refs/pr/1"), RepoRef.parse("a/b@refs/pr/1"));
        assertEquals("refs%2Fpr%2F1", RepoRef.parse("a/b@refs/pr/1").revisionFolderName());
        assertEquals("MAGAer13--mplug-owl2-llama2-7b", RepoRef.parse("MAGAer13/mplug-owl2-llama2-7b").folderName());
    }

    @Test
    void refusesIdsThatCouldLeaveTheCache() {
        for (String bad : new String[] {"a", "a/b/c", "../b", "a/..", "/a/b", "a/b@", "a/b@../../x", "a/b@x//y", "a b/c"}) {
            assertThrows(Owl2jException.class, () -> RepoRef.parse(bad), bad);
            assertFalse(RepoRef.looksLikeId(bad), bad);
        }
    }

    @Test
    void refusesNamesTheHubRefuses() {
        for (String bad : new String[] {"a--b/c", "a/b--c", "a-/b", "a/b-", "a./b", "a/b.", "a/b..c", "a/b@x%2Fy"}) {
            assertThrows(Owl2jException.class, () -> RepoRef.parse(bad), bad);
        }
    }

    /** Two different ids, or one id at two revisions, never share a cache folder. */
    @Test
    void differentIdsMapToDifferentFolders() {
        String[] ids = {"a/b", "A/b", "a/B", "a-b/c", "a/b-c", "a-b-c/d", "a/b@refs/pr/1", "a/b@refs--pr--1",
                "a/b@refs-pr-1", "a/b@refs/pr--1", "a/b@refs--pr/1", "a.b/c", "a/b.c", "a_b/c", "a/b_c", "ab/c", "a/bc",
                "a/b@main", "a/b@Main", "a/b@v1/x/y", "a/b@v1/x--y"};
        java.util.Map<Path, String> seen = new java.util.HashMap<>();
        for (String id : ids) {
            Path dir = ModelCache.modelDir(Path.of("/cache"), RepoRef.parse(id));
            String before = seen.put(dir, id);
            if (before != null && !RepoRef.parse(before).equals(RepoRef.parse(id))) {
                fail(before + " and " + id + " share " + dir);
            }
        }
        assertEquals(ids.length - 1, seen.size(), "a/b and a/b@main are the same revision; all others differ");
    }

    @Test
    void cacheRootFollowsOwl2jHome() {
        assertEquals(Path.of("/x/models/a--b/v1"), ModelCache.modelDir(ModelCache.root(Map.of("OWL2J_HOME", "/x")), RepoRef.parse("a/b@v1")));
        assertEquals(Path.of(System.getProperty("user.home"), ".cache", "owl2j"), ModelCache.root(Map.of()));
    }
}
