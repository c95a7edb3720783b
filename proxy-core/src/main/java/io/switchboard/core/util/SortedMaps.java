package io.switchboard.core.util;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.AbstractSet;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SortedMap;

/**
 * Sorted maps in one forward pass. A sync walks every service port in name order and looks each
 * up in the previous sync's maps, which are in the same order; a {@code TreeMap} lookup or insert
 * per port costs a tree search (about 14 key comparisons at 10,000 ports), several times per port
 * and sync, and each sync's maps of every service port, kept until the next one, were 10,000
 * tree nodes each. {@link #ofAscending} and {@link #copyOf} build immutable array-backed sorted
 * maps in linear time, and {@link Cursor} answers lookups of ascending keys by walking forward.
 */
public final class SortedMaps {
    private SortedMaps() {
    }

    /**
     * An immutable sorted map (natural order) of the given keys and values, built in linear time:
     * two arrays searched by bisection, about a fifth of the memory of a {@code TreeMap}'s nodes.
     *
     * @throws IllegalArgumentException if the keys are not strictly ascending or the lists differ in size
     */
    public static <K extends Comparable<? super K>, V> SortedMap<K, V> ofAscending(List<K> keys, List<V> values) {
        if (keys.size() != values.size()) {
            throw new IllegalArgumentException(keys.size() + " keys but " + values.size() + " values");
        }
        Object[] k = keys.toArray();
        Object[] v = values.toArray();
        for (int i = 0; i < k.length; i++) {
            if (k[i] == null || v[i] == null) {
                throw new IllegalArgumentException("null key or value at " + i);
            }
            if (i > 0 && keys.get(i - 1).compareTo(keys.get(i)) >= 0) {
                throw new IllegalArgumentException("keys not strictly ascending at " + i + ": " + keys.get(i - 1) + ", " + keys.get(i));
            }
        }
        return new ArraySortedMap<>(k, v, 0, k.length);
    }

    /**
     * An immutable copy of a sorted map in natural order, as {@link #ofAscending}.
     *
     * @throws IllegalArgumentException if the map has a comparator of its own
     */
    public static <K extends Comparable<? super K>, V> SortedMap<K, V> copyOf(SortedMap<K, V> map) {
        if (map.comparator() != null) {
            throw new IllegalArgumentException("only maps in natural order can be copied");
        }
        if (map instanceof ArraySortedMap) {
            return map;
        }
        List<K> keys = new ArrayList<>(map.size());
        List<V> values = new ArrayList<>(map.size());
        map.forEach((key, value) -> {
            keys.add(key);
            values.add(value);
        });
        return ofAscending(keys, values);
    }

    /** A cursor over the entries of {@code map} (natural order), or over nothing when it is null. */
    public static <K extends Comparable<? super K>, V> Cursor<K, V> cursor(SortedMap<K, V> map) {
        return new Cursor<>(map == null ? null : map.entrySet().iterator());
    }

    /**
     * Lookups of non-decreasing keys in a sorted map, in time linear in the map's size over all of
     * them. Values must not be null (null means absent).
     */
    public static final class Cursor<K extends Comparable<? super K>, V> {
        private final Iterator<Map.Entry<K, V>> entries;
        private Map.Entry<K, V> current;
        private K last;

        private Cursor(Iterator<Map.Entry<K, V>> entries) {
            this.entries = entries;
            this.current = entries != null && entries.hasNext() ? entries.next() : null;
        }

        /**
         * The value of {@code key}, or null if the map has none.
         *
         * @throws IllegalStateException if {@code key} is smaller than the key of the previous call
         */
        public V get(K key) {
            if (last != null && key.compareTo(last) < 0) {
                throw new IllegalStateException("cursor asked for " + key + " after " + last);
            }
            last = key;
            while (current != null) {
                int c = current.getKey().compareTo(key);
                if (c == 0) {
                    return current.getValue();
                }
                if (c > 0) {
                    return null;
                }
                current = entries.hasNext() ? entries.next() : null;
            }
            return null;
        }
    }

    /** Keys and values in two arrays (a range of them for a sub-map view), found by bisection. */
    private static final class ArraySortedMap<K extends Comparable<? super K>, V> extends AbstractMap<K, V> implements SortedMap<K, V> {
        private final Object[] keys;
        private final Object[] values;
        private final int from;
        private final int to;

        ArraySortedMap(Object[] keys, Object[] values, int from, int to) {
            this.keys = keys;
            this.values = values;
            this.from = from;
            this.to = to;
        }

        @SuppressWarnings("unchecked")
        private K key(int i) {
            return (K) keys[i];
        }

        @SuppressWarnings("unchecked")
        private V value(int i) {
            return (V) values[i];
        }

        /** The index of {@code key} in [from, to), or -(insertion point) - 1. */
        @SuppressWarnings("unchecked")
        private int find(Object key) {
            if (key == null) {
                throw new NullPointerException("key");
            }
            K k = (K) key;
            int lo = from;
            int hi = to - 1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                int c = key(mid).compareTo(k);
                if (c < 0) {
                    lo = mid + 1;
                } else if (c > 0) {
                    hi = mid - 1;
                } else {
                    return mid;
                }
            }
            return -(lo + 1);
        }

        /** The first index in [from, to] whose key is not below {@code key}. */
        private int lowerBound(K key) {
            int i = find(key);
            return i >= 0 ? i : -i - 1;
        }

        @Override
        public int size() {
            return to - from;
        }

        @Override
        public V get(Object key) {
            int i = find(key);
            return i >= 0 ? value(i) : null;
        }

        @Override
        public boolean containsKey(Object key) {
            return find(key) >= 0;
        }

        @Override
        public Set<Map.Entry<K, V>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<Map.Entry<K, V>> iterator() {
                    return new Iterator<>() {
                        private int i = from;

                        @Override
                        public boolean hasNext() {
                            return i < to;
                        }

                        @Override
                        public Map.Entry<K, V> next() {
                            if (i >= to) {
                                throw new NoSuchElementException();
                            }
                            Map.Entry<K, V> e = new SimpleImmutableEntry<>(key(i), value(i));
                            i++;
                            return e;
                        }
                    };
                }

                @Override
                public int size() {
                    return to - from;
                }
            };
        }

        @Override
        public Comparator<? super K> comparator() {
            return null;
        }

        @Override
        public SortedMap<K, V> subMap(K fromKey, K toKey) {
            if (fromKey.compareTo(toKey) > 0) {
                throw new IllegalArgumentException("fromKey > toKey");
            }
            return new ArraySortedMap<>(keys, values, lowerBound(fromKey), lowerBound(toKey));
        }

        @Override
        public SortedMap<K, V> headMap(K toKey) {
            return new ArraySortedMap<>(keys, values, from, lowerBound(toKey));
        }

        @Override
        public SortedMap<K, V> tailMap(K fromKey) {
            return new ArraySortedMap<>(keys, values, lowerBound(fromKey), to);
        }

        @Override
        public K firstKey() {
            if (from == to) {
                throw new NoSuchElementException();
            }
            return key(from);
        }

        @Override
        public K lastKey() {
            if (from == to) {
                throw new NoSuchElementException();
            }
            return key(to - 1);
        }
    }
}
