package io.switchboard.informers;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * An informer store that keeps only each object's key and resourceVersion.
 *
 * <p>The core keeps its own compact, translated copy of every Service and EndpointSlice, so the
 * informer needs its store only to tell adds from updates, skip an update whose resourceVersion it
 * has seen, and name what disappeared across a relist. Keeping the full objects (or even fabric8's
 * reduced maps) was the largest part of the live heap at 10,000 services; this store holds two
 * strings per object and converts nothing. Objects it hands back are bare: namespace, name and
 * resourceVersion only, which is all the handlers read from an old or deleted object. A resync
 * delivers such a bare object as both old and new; {@link ClusterWatcher} ignores those.
 */
final class VersionOnlyStore<V extends HasMetadata> implements ItemStore<V> {
    private final Map<String, String> versions = new ConcurrentHashMap<>();
    private final Supplier<V> bare;

    /** @param bare makes an empty object of the informer's type */
    VersionOnlyStore(Supplier<V> bare) {
        this.bare = bare;
    }

    @Override
    public String getKey(V obj) {
        String ns = obj.getMetadata().getNamespace();
        String name = obj.getMetadata().getName();
        return ns == null || ns.isEmpty() ? name : ns + "/" + name;
    }

    @Override
    public V put(String key, V obj) {
        return restore(key, versions.put(key, String.valueOf(obj.getMetadata().getResourceVersion())));
    }

    @Override
    public V remove(String key) {
        return restore(key, versions.remove(key));
    }

    @Override
    public Stream<String> keySet() {
        return versions.keySet().stream();
    }

    @Override
    public Stream<V> values() {
        return versions.entrySet().stream().map(e -> restore(e.getKey(), e.getValue()));
    }

    @Override
    public int size() {
        return versions.size();
    }

    @Override
    public V get(String key) {
        return restore(key, versions.get(key));
    }

    /**
     * Forgets every stored version but keeps the keys. A stopped informer drops the notifications
     * still queued for its handler, while its store already holds their objects; the relist of the
     * informer that replaces it then finds nothing new and delivers nothing. With the versions
     * forgotten, that relist delivers every listed object again as an update (the handler's upsert
     * is idempotent) and every key it no longer lists as a deletion.
     */
    void forgetVersions() {
        versions.replaceAll((k, v) -> "");
    }

    @Override
    public boolean isFullState() {
        return false;
    }

    /** Marks the bare objects this store hands back, so handlers can tell them from the API's. */
    static final String BARE = "switchboard.io/bare";

    /** Whether an object is one of this store's bare ones (no content, only key and version). */
    static boolean isBare(HasMetadata obj) {
        var a = obj.getMetadata() == null ? null : obj.getMetadata().getAnnotations();
        return a != null && a.containsKey(BARE);
    }

    private V restore(String key, String version) {
        if (version == null) {
            return null;
        }
        int slash = key.indexOf('/');
        ObjectMeta meta = new ObjectMeta();
        meta.setNamespace(slash < 0 ? null : key.substring(0, slash));
        meta.setName(slash < 0 ? key : key.substring(slash + 1));
        meta.setResourceVersion(version);
        meta.setAnnotations(Map.of(BARE, ""));
        V obj = bare.get();
        obj.setMetadata(meta);
        return obj;
    }
}
