package dev.owl2j.runtime.generation.json;

import dev.owl2j.runtime.generation.TokenVocabulary;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The vocabulary as a trie of token bytes, so that computing a mask walks each shared prefix once and abandons a
 * whole subtree at the first byte the matcher refuses (a 32000-token vocabulary has about 100,000 nodes).
 * Flat arrays: children of a node are {@code firstChild[node] .. firstChild[node] + childCount[node]} in
 * {@code child}, sorted by byte.
 */
final class TokenTrie {
    final int[] firstChild;
    final int[] childCount;
    final int[] child;       // node ids
    final byte[] edge;       // the byte leading to each node
    final int[][] tokensAt;  // tokens ending at each node (null if none)

    TokenTrie(TokenVocabulary vocabulary) {
        // Build with growable child lists, then flatten breadth-first.
        List<int[]> kids = new ArrayList<>();        // per node: child ids indexed by byte, lazily
        List<int[]> ends = new ArrayList<>();
        List<Byte> edges = new ArrayList<>();
        kids.add(null);
        ends.add(null);
        edges.add((byte) 0);
        for (int id = 0; id < vocabulary.size(); id++) {
            byte[] b = vocabulary.bytes()[id];
            if (b == null || b.length == 0) continue;
            int node = 0;
            for (byte x : b) {
                int[] k = kids.get(node);
                if (k == null) {
                    k = new int[256];
                    kids.set(node, k);
                }
                int next = k[x & 0xff];
                if (next == 0) {
                    next = kids.size();
                    k[x & 0xff] = next;
                    kids.add(null);
                    ends.add(null);
                    edges.add(x);
                }
                node = next;
            }
            int[] e = ends.get(node);
            ends.set(node, e == null ? new int[]{id} : append(e, id));
        }
        int n = kids.size();
        firstChild = new int[n];
        childCount = new int[n];
        edge = new byte[n];
        tokensAt = new int[n][];
        int[] flat = new int[n];
        int used = 0;
        for (int node = 0; node < n; node++) {
            edge[node] = edges.get(node);
            tokensAt[node] = ends.get(node);
            int[] k = kids.get(node);
            firstChild[node] = used;
            if (k == null) continue;
            for (int x = 0; x < 256; x++) {
                if (k[x] != 0) flat[used++] = k[x];
            }
            childCount[node] = used - firstChild[node];
            kids.set(node, null); // free the 1 KiB table as we go
        }
        child = Arrays.copyOf(flat, used);
    }

    int nodes() {
        return firstChild.length;
    }

    private static int[] append(int[] a, int v) {
        int[] b = Arrays.copyOf(a, a.length + 1);
        b[a.length] = v;
        return b;
    }
}
