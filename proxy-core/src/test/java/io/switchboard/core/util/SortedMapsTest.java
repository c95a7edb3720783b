package io.switchboard.core.util;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SortedMapsTest {

    /** A random map of up to 2,000 string keys (some of the same length, so order is not length order). */
    private static TreeMap<String, Integer> randomMap(Random r) {
        TreeMap<String, Integer> m = new TreeMap<>();
        int n = 1 + r.nextInt(2000);
        for (int i = 0; i < n; i++) {
            m.put("k" + r.nextInt(5000), i);
        }
        return m;
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 20261207, 99})
    void aMapBuiltFromAscendingKeysAnswersAsTheTreeMapOfTheSameEntries(long seed) {
        Random r = new Random(seed);
        TreeMap<String, Integer> expected = randomMap(r);
        SortedMap<String, Integer> built = SortedMaps.ofAscending(new ArrayList<>(expected.keySet()), new ArrayList<>(expected.values()));
        SortedMap<String, Integer> copied = SortedMaps.copyOf(expected);
        for (SortedMap<String, Integer> m : List.of(built, copied)) {
            assertThat(m).as("seed %d", seed).isEqualTo(expected).hasSameHashCodeAs(expected);
            assertThat(new ArrayList<>(m.keySet())).as("seed %d", seed).containsExactlyElementsOf(expected.keySet());
            assertThat(new ArrayList<>(m.values())).as("seed %d", seed).containsExactlyElementsOf(expected.values());
            assertThat(m.firstKey()).isEqualTo(expected.firstKey());
            assertThat(m.lastKey()).isEqualTo(expected.lastKey());
            for (int i = 0; i < 300; i++) {
                // present and absent keys, and keys below and above every key
                String k = i == 0 ? "a" : i == 1 ? "z" : "k" + r.nextInt(5000);
                String k2 = "k" + r.nextInt(5000);
                String lo = k.compareTo(k2) <= 0 ? k : k2;
                String hi = k.compareTo(k2) <= 0 ? k2 : k;
                assertThat(m.get(k)).as("seed %d, key %s", seed, k).isEqualTo(expected.get(k));
                assertThat(m.containsKey(k)).as("seed %d, key %s", seed, k).isEqualTo(expected.containsKey(k));
                assertThat(m.headMap(k)).as("seed %d, head of %s", seed, k).isEqualTo(expected.headMap(k));
                assertThat(m.tailMap(k)).as("seed %d, tail from %s", seed, k).isEqualTo(expected.tailMap(k));
                assertThat(m.subMap(lo, hi)).as("seed %d, %s to %s", seed, lo, hi).isEqualTo(expected.subMap(lo, hi));
                assertThat(m.subMap(lo, hi).size()).isEqualTo(expected.subMap(lo, hi).size());
            }
            assertThatThrownBy(() -> m.put("a", 1)).isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> m.remove(expected.firstKey())).isInstanceOf(UnsupportedOperationException.class);
        }
        assertThat(SortedMaps.copyOf(built)).as("a copy of an immutable one is itself").isSameAs(built);
    }

    @Test
    void keysOutOfOrderOrRepeatedOrListsOfDifferentSizesAreRefused() {
        assertThatThrownBy(() -> SortedMaps.ofAscending(List.of("a", "c", "b"), List.of(1, 2, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at 2: c, b");
        assertThatThrownBy(() -> SortedMaps.ofAscending(List.of("a", "a"), List.of(1, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at 1");
        assertThatThrownBy(() -> SortedMaps.ofAscending(List.of("a"), List.of(1, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 keys but 2 values");
        assertThatThrownBy(() -> SortedMaps.ofAscending(java.util.Arrays.asList("a", null), List.of(1, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null key or value at 1");
        assertThatThrownBy(() -> SortedMaps.copyOf(new TreeMap<String, Integer>(java.util.Comparator.reverseOrder())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("natural order");
        SortedMap<String, Integer> empty = SortedMaps.ofAscending(List.<String>of(), List.<Integer>of());
        assertThat(empty).isEmpty();
        assertThat(empty.get("a")).isNull();
        assertThatThrownBy(empty::firstKey).isInstanceOf(java.util.NoSuchElementException.class);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 20261207, 99})
    void aCursorAnswersAscendingLookupsAsTheMapDoes(long seed) {
        Random r = new Random(seed);
        TreeMap<String, Integer> map = randomMap(r);
        // the queries: present and absent keys, repeats, ascending
        TreeMap<String, Boolean> queries = new TreeMap<>();
        queries.put(map.firstKey(), true);
        map.keySet().forEach(k -> {
            if (r.nextBoolean()) {
                queries.put(k, true);
            }
        });
        for (int i = 0; i < 500; i++) {
            queries.put("k" + r.nextInt(6000), true);
        }
        SortedMaps.Cursor<String, Integer> c = SortedMaps.cursor(map);
        int present = 0;
        for (String q : queries.keySet()) {
            Integer got = c.get(q);
            assertThat(got).as("seed %d, key %s", seed, q).isEqualTo(map.get(q));
            assertThat(c.get(q)).as("seed %d, key %s asked again", seed, q).isEqualTo(map.get(q));
            present += got != null ? 1 : 0;
        }
        assertThat(present).as("seed %d: the queries hit the map", seed).isPositive();
    }

    @Test
    void aCursorRefusesAKeyBelowThePreviousOneAndANullMapHasNothing() {
        SortedMaps.Cursor<String, Integer> c = SortedMaps.cursor(new TreeMap<>(Map.of("a", 1, "c", 3)));
        assertThat(c.get("b")).isNull();
        assertThat(c.get("c")).isEqualTo(3);
        assertThatThrownBy(() -> c.get("a")).isInstanceOf(IllegalStateException.class).hasMessageContaining("a after c");
        SortedMaps.Cursor<String, Integer> none = SortedMaps.cursor(null);
        assertThat(none.get("a")).isNull();
        assertThat(none.get("z")).isNull();
    }
}
