package io.switchboard.informers;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.switchboard.informers.testing.Objects;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class VersionOnlyStoreTest {
    @Test
    void keepsKeyAndVersionAndHandsBackBareObjects() {
        VersionOnlyStore<Service> store = new VersionOnlyStore<>(Service::new);
        Service svc = Objects.service("ns", "web", "10.96.0.10");
        svc.getMetadata().setResourceVersion("7");
        String key = store.getKey(svc);
        assertThat(key).isEqualTo("ns/web");

        assertThat(store.put(key, svc)).isNull();
        Service back = store.get(key);
        assertThat(back.getMetadata().getNamespace()).isEqualTo("ns");
        assertThat(back.getMetadata().getName()).isEqualTo("web");
        assertThat(back.getMetadata().getResourceVersion()).isEqualTo("7");
        assertThat(back.getSpec()).as("nothing but the key and version is kept").isNull();
        assertThat(VersionOnlyStore.isBare(back)).as("marked, so a replay of the store is not taken for API objects").isTrue();
        assertThat(VersionOnlyStore.isBare(svc)).isFalse();

        svc.getMetadata().setResourceVersion("8");
        assertThat(store.put(key, svc).getMetadata().getResourceVersion()).as("the previous version").isEqualTo("7");
        assertThat(store.size()).isEqualTo(1);
        assertThat(store.keySet()).containsExactly("ns/web");
        assertThat(store.values()).extracting(s -> s.getMetadata().getResourceVersion()).containsExactly("8");
        assertThat(store.isFullState()).isFalse();

        assertThat(store.remove(key).getMetadata().getName()).isEqualTo("web");
        assertThat(store.get(key)).isNull();
        assertThat(store.remove(key)).isNull();
    }

    @Test
    void forgottenVersionsKeepTheKeysAndDifferFromEveryListedVersion() {
        VersionOnlyStore<Service> store = new VersionOnlyStore<>(Service::new);
        Service svc = Objects.service("ns", "web", "10.96.0.10");
        svc.getMetadata().setResourceVersion("7");
        store.put(store.getKey(svc), svc);
        store.forgetVersions();
        // the keys stay, so a relist still finds what was deleted meanwhile
        assertThat(store.keySet()).containsExactly("ns/web");
        // and the same object listed again is no longer "unchanged": the informer delivers it as an update
        Service old = store.put("ns/web", svc);
        assertThat(old).isNotNull();
        assertThat(old.getMetadata().getResourceVersion()).isNotEqualTo("7");
        assertThat(store.get("ns/web").getMetadata().getResourceVersion()).isEqualTo("7");
    }

    @Test
    void clusterScopedKeysHaveNoNamespace() {
        VersionOnlyStore<EndpointSlice> store = new VersionOnlyStore<>(EndpointSlice::new);
        EndpointSlice slice = new EndpointSlice();
        slice.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("x").withResourceVersion("1").build());
        assertThat(store.getKey(slice)).isEqualTo("x");
        store.put("x", slice);
        assertThat(store.get("x").getMetadata().getNamespace()).isNull();
        assertThat(store.get("x").getMetadata().getName()).isEqualTo("x");
    }
}
