package io.switchboard.testkit;

import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.crud.AttributeType;
import io.fabric8.mockwebserver.crud.CrudDispatcher;
import io.fabric8.mockwebserver.crud.Value;
import io.fabric8.mockwebserver.http.ByteString;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;

import java.lang.reflect.Field;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * fabric8's CRUD dispatcher with its object store indexed by name. The stock one finds the object a
 * create, update or patch names by scanning every stored object, so seeding N objects costs N²
 * attribute matches (30,000 services and their slices took 23 minutes). Here a lookup whose query
 * names one object ({@code name} with one value) matches only the stored objects of that name;
 * every other query, and every list, scans as before. What a lookup returns is unchanged: the
 * candidates are matched with the dispatcher's own {@link AttributeSet#matches}, in store order.
 * The same holds for a GET of one named object (not a watch): the stock one copies and matches the
 * whole store (24-48 ms a request at 20,000 objects, measured), so every {@code edit()} a test or
 * benchmark sends paid for it.
 *
 * <p>A watch whose connection ends no longer blocks the server. The stock watch listener, told on
 * the server's event loop that its WebSocket closed, shuts its sender down and waits up to a
 * minute for it; the sender, when events were still queued (a burst the client had not been sent
 * yet), waits for each write to complete, which only that blocked event loop can do (30 s each).
 * Every request of every client then stalled for up to a minute after a proxy with a backlog was
 * stopped. Here the listener leaves the dispatcher's watch list at once (so no new event is given
 * to it) and the stock close runs on a thread of its own, where the writes left fail as soon as the
 * event loop gets to them.
 */
final class IndexedCrudDispatcher extends KubernetesCrudDispatcher {
    private static final String NAME = "name";

    private final IndexedStore store = new IndexedStore();
    private final ReadWriteLock lock;
    /** The dispatcher's open watches (a copy-on-write set), left by a closed one before its close runs. */
    private final Set<?> watches;

    /** How often a request walked the whole store (lists do; lookups and GETs of one name must not). */
    long storeScans() {
        return store.scans();
    }

    IndexedCrudDispatcher() {
        try {
            Field f = CrudDispatcher.class.getDeclaredField("map");
            f.setAccessible(true);
            f.set(this, store);
            Field l = KubernetesCrudDispatcher.class.getDeclaredField("lock");
            l.setAccessible(true);
            lock = (ReadWriteLock) l.get(this);
            Field w = KubernetesCrudDispatcher.class.getDeclaredField("watchEventListeners");
            w.setAccessible(true);
            watches = (Set<?>) w.get(this);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("fabric8's CrudDispatcher has no object map, lock or watch list to wrap", e);
        }
    }

    /** The stock watch, its end handled off the event loop ({@link ClosedOffLoop}). */
    @Override
    public MockResponse handleWatch(String path) {
        MockResponse response = super.handleWatch(path);
        WebSocketListener listener = response == null ? null : response.getWebSocketListener();
        return listener == null ? response : response.withWebSocketUpgrade(new ClosedOffLoop(listener, watches));
    }

    /**
     * A watch listener whose end (close or failure) takes it out of the dispatcher's watch list at
     * once and runs the stock end, which waits for its sender, on a daemon thread of its own.
     */
    static final class ClosedOffLoop extends WebSocketListener {
        private final WebSocketListener stock;
        private final Set<?> watches;

        ClosedOffLoop(WebSocketListener stock, Set<?> watches) {
            this.stock = stock;
            this.watches = watches;
        }

        @Override
        public void onBeforeAccept(WebSocket ws, Response response) {
            stock.onBeforeAccept(ws, response);
        }

        @Override
        public void onOpen(WebSocket ws, Response response) {
            stock.onOpen(ws, response);
        }

        @Override
        public void onMessage(WebSocket ws, String text) {
            stock.onMessage(ws, text);
        }

        @Override
        public void onMessage(WebSocket ws, ByteString bytes) {
            stock.onMessage(ws, bytes);
        }

        @Override
        public void onMessage(WebSocket ws, byte[] bytes) {
            stock.onMessage(ws, bytes);
        }

        @Override
        public void onClosing(WebSocket ws, int code, String reason) {
            stock.onClosing(ws, code, reason);
        }

        @Override
        public void onClosed(WebSocket ws, int code, String reason) {
            offLoop(() -> stock.onClosed(ws, code, reason));
        }

        @Override
        public void onFailure(WebSocket ws, Throwable t, Response response) {
            offLoop(() -> stock.onFailure(ws, t, response));
        }

        private void offLoop(Runnable end) {
            watches.remove(stock);
            Thread t = new Thread(end, "mock-watch-end");
            t.setDaemon(true);
            t.start();
        }
    }

    /**
     * A GET that names one object answers as the stock one does (the first match in store order,
     * 200 with the stored text, else 404 with no body), looking only at the objects of that name;
     * watches, lists and anything else go to the stock handler.
     */
    @Override
    public MockResponse handleGet(String path) {
        String name = watch(path) ? null : singleValue(attributeExtractor.fromPath(path).getAttribute(NAME));
        if (name == null) {
            return super.handleGet(path);
        }
        AttributeSet query = attributeExtractor.fromPath(path);
        Lock read = lock.readLock();
        read.lock();
        try {
            for (AttributeSet candidate : store.named(name)) {
                if (candidate.matches(query)) {
                    String value = store.get(candidate);
                    if (value != null) {
                        return new MockResponse().setBody(value).setResponseCode(200);
                    }
                }
            }
            return new MockResponse().setResponseCode(404);
        } finally {
            read.unlock();
        }
    }

    /** A watch request as the stock dispatcher tells one (its query asks {@code watch=true}); true when in doubt. */
    private static boolean watch(String path) {
        try {
            String q = new URI(path).getQuery();
            return q != null && q.contains("watch=true");
        } catch (URISyntaxException e) {
            return true;
        }
    }

    @Override
    public Map.Entry<AttributeSet, String> findResource(AttributeSet query) {
        String name = singleValue(query.getAttribute(NAME));
        if (name == null) {
            return super.findResource(query);
        }
        // as the stock lookup, this runs under the lock its caller holds
        for (AttributeSet candidate : store.named(name)) {
            if (candidate.matches(query)) {
                String value = store.get(candidate);
                if (value != null) {
                    return Map.entry(candidate, value);
                }
            }
        }
        return null;
    }

    /** The one value of a plain {@code key=value} attribute, or null when it is absent or anything else. */
    private static String singleValue(Attribute a) {
        if (a == null || a.getType() != AttributeType.WITH || a.getValues().size() != 1) {
            return null;
        }
        Value v = a.getValues().get(0);
        return v == null ? null : v.toString();
    }

    /** The dispatcher's store, in insertion order as before, with the keys of each name alongside. */
    static final class IndexedStore extends LinkedHashMap<AttributeSet, String> {
        private final Map<String, Set<AttributeSet>> byName = new HashMap<>();
        /** How often the whole store was walked (every scan starts from {@link #entrySet}). */
        private final java.util.concurrent.atomic.AtomicLong scans = new java.util.concurrent.atomic.AtomicLong();

        long scans() {
            return scans.get();
        }

        @Override
        public Set<Map.Entry<AttributeSet, String>> entrySet() {
            scans.incrementAndGet();
            return super.entrySet();
        }

        List<AttributeSet> named(String name) {
            Set<AttributeSet> keys = byName.get(name);
            return keys == null ? List.of() : new ArrayList<>(keys);
        }

        @Override
        public String put(AttributeSet key, String value) {
            String old = super.put(key, value);
            String name = key == null ? null : singleValue(key.getAttribute(NAME));
            if (name != null) {
                byName.computeIfAbsent(name, n -> new LinkedHashSet<>()).add(key);
            }
            return old;
        }

        @Override
        public String remove(Object key) {
            String old = super.remove(key);
            if (key instanceof AttributeSet a) {
                String name = singleValue(a.getAttribute(NAME));
                Set<AttributeSet> keys = name == null ? null : byName.get(name);
                if (keys != null) {
                    keys.remove(a);
                    if (keys.isEmpty()) {
                        byName.remove(name);
                    }
                }
            }
            return old;
        }

        @Override
        public void clear() {
            super.clear();
            byName.clear();
        }

        @Override
        public void putAll(Map<? extends AttributeSet, ? extends String> m) {
            m.forEach(this::put);
        }

        @Override
        public String putIfAbsent(AttributeSet key, String value) {
            String old = get(key);
            return old != null ? old : put(key, value);
        }

        // the other writes of Map, through put and remove so the index follows them too
        @Override
        public String compute(AttributeSet key, BiFunction<? super AttributeSet, ? super String, ? extends String> f) {
            String next = f.apply(key, get(key));
            if (next == null) {
                remove(key);
            } else {
                put(key, next);
            }
            return next;
        }

        @Override
        public String computeIfAbsent(AttributeSet key, Function<? super AttributeSet, ? extends String> f) {
            String old = get(key);
            if (old != null) {
                return old;
            }
            String next = f.apply(key);
            if (next != null) {
                put(key, next);
            }
            return next;
        }

        @Override
        public String computeIfPresent(AttributeSet key, BiFunction<? super AttributeSet, ? super String, ? extends String> f) {
            String old = get(key);
            return old == null ? null : compute(key, (k, v) -> f.apply(k, old));
        }

        @Override
        public String merge(AttributeSet key, String value, BiFunction<? super String, ? super String, ? extends String> f) {
            String old = get(key);
            return compute(key, (k, v) -> old == null ? value : f.apply(old, value));
        }
    }
}
