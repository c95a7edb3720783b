package io.switchboard.testkit;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IndexedCrudDispatcherTest {

    private static Service service(String ns, String name, String label) {
        return new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name).withLabels(Map.of("l", label)).endMetadata()
                .withNewSpec().addNewPort().withName("http").withPort(80).withProtocol("TCP").endPort().endSpec().build();
    }

    private static EndpointSlice slice(String ns, String name, String label) {
        return new EndpointSliceBuilder().withNewMetadata().withNamespace(ns).withName(name).withLabels(Map.of("l", label)).endMetadata()
                .withAddressType("IPv4").build();
    }

    @Test
    void createGetUpdateDeleteAndRecreateByNameAcrossNamespacesKindsAndScopes() {
        try (MockApiServer api = new MockApiServer(); KubernetesClient c = api.client()) {
            c.services().resource(service("x", "a", "1")).create();
            assertThatThrownBy(() -> c.services().resource(service("x", "a", "2")).create())
                    .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(409));
            // the same name in another namespace and as another kind are other objects
            c.services().resource(service("y", "a", "3")).create();
            c.discovery().v1().endpointSlices().resource(slice("x", "a", "4")).create();
            assertThat(c.services().inNamespace("x").withName("a").get().getMetadata().getLabels()).containsEntry("l", "1");
            assertThat(c.services().inNamespace("y").withName("a").get().getMetadata().getLabels()).containsEntry("l", "3");
            assertThat(c.discovery().v1().endpointSlices().inNamespace("x").withName("a").get().getMetadata().getLabels())
                    .containsEntry("l", "4");

            Service updated = c.services().inNamespace("x").withName("a").edit(s -> {
                s.getMetadata().getLabels().put("l", "5");
                return s;
            });
            assertThat(updated.getMetadata().getLabels()).containsEntry("l", "5");
            assertThat(c.services().inNamespace("x").withName("a").get().getMetadata().getLabels()).containsEntry("l", "5");
            assertThat(c.services().inNamespace("y").withName("a").get().getMetadata().getLabels()).containsEntry("l", "3");

            c.services().inNamespace("x").withName("a").delete();
            assertThat(c.services().inNamespace("x").withName("a").get()).isNull();
            assertThat(c.services().inNamespace("y").withName("a").get()).isNotNull();
            c.services().resource(service("x", "a", "6")).create();
            assertThat(c.services().inNamespace("x").withName("a").get().getMetadata().getLabels()).containsEntry("l", "6");

            c.nodes().resource(new NodeBuilder().withNewMetadata().withName("a").endMetadata().build()).create();
            assertThatThrownBy(() -> c.nodes().resource(new NodeBuilder().withNewMetadata().withName("a").endMetadata().build()).create())
                    .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(409));
            c.nodes().withName("a").edit(n -> {
                n.getMetadata().setLabels(Map.of("zone", "z1"));
                return n;
            });
            assertThat(c.nodes().withName("a").get().getMetadata().getLabels()).containsEntry("zone", "z1");
            assertThat(c.services().inAnyNamespace().list().getItems()).hasSize(2);
            assertThat(c.services().inAnyNamespace().withLabel("l", "6").list().getItems()).extracting(s -> s.getMetadata().getNamespace())
                    .containsExactly("x");
        }
    }

    @Test
    void aGetOrUpdateOfOneNamedObjectNeverWalksTheStoreAndAListDoes() {
        IndexedCrudDispatcher d = new IndexedCrudDispatcher();
        try (MockApiServer api = new MockApiServer(d); KubernetesClient c = api.client()) {
            for (int i = 0; i < 20; i++) {
                c.services().resource(service("x", "s" + i, "1")).create();
                c.discovery().v1().endpointSlices().resource(slice("x", "s" + i, "1")).create();
            }
            long before = d.storeScans();
            assertThat(c.services().inNamespace("x").withName("s7").get().getMetadata().getName()).isEqualTo("s7");
            assertThat(c.services().inNamespace("x").withName("nope").get()).isNull();
            assertThat(c.services().inNamespace("y").withName("s7").get()).isNull();
            c.discovery().v1().endpointSlices().inNamespace("x").withName("s3").edit(sl -> {
                sl.getMetadata().getLabels().put("l", "2");
                return sl;
            });
            assertThat(d.storeScans()).as("store walks by named GETs and an edit").isEqualTo(before);
            assertThat(c.services().inNamespace("x").list().getItems()).hasSize(20);
            assertThat(d.storeScans()).as("a list walks the store").isGreaterThan(before);
        }
    }

    @Test
    void everyWriteOfTheStoreKeepsItsNameIndex() {
        IndexedCrudDispatcher.IndexedStore store = new IndexedCrudDispatcher.IndexedStore();
        io.fabric8.mockwebserver.crud.AttributeSet a = new io.fabric8.mockwebserver.crud.AttributeSet(
                new io.fabric8.mockwebserver.crud.Attribute("name", "a"));
        assertThat(store.computeIfAbsent(a, k -> "1")).isEqualTo("1");
        assertThat(store.named("a")).containsExactly(a);
        assertThat(store.merge(a, "2", (o, v) -> o + v)).isEqualTo("12");
        assertThat(store.computeIfPresent(a, (k, v) -> v + "3")).isEqualTo("123");
        assertThat(store.get(a)).isEqualTo("123");
        assertThat(store.compute(a, (k, v) -> null)).isNull();
        assertThat(store.named("a")).isEmpty();
        assertThat(store).isEmpty();
        store.putAll(Map.of(a, "4"));
        assertThat(store.named("a")).containsExactly(a);
        store.clear();
        assertThat(store.named("a")).isEmpty();
    }

    /**
     * Seeded random creates, updates, deletes and gets, sent to a stock CRUD server and to the
     * indexed one: every call ends the same way (which object, or which error code) and both stores
     * hold the same objects at the end.
     */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void behavesAsTheStockDispatcherUnderSeededRandomOperations(long seed) {
        try (MockApiServer stock = new MockApiServer(new KubernetesCrudDispatcher()); MockApiServer indexed = new MockApiServer();
                KubernetesClient a = stock.client(); KubernetesClient b = indexed.client()) {
            Random r = new Random(seed);
            List<String> outcomesA = new ArrayList<>();
            List<String> outcomesB = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                int op = r.nextInt(4);
                boolean slice = r.nextBoolean();
                String ns = "ns" + r.nextInt(2);
                String name = "o" + r.nextInt(12);
                String label = Integer.toString(r.nextInt(5));
                outcomesA.add(i + " " + apply(a, op, slice, ns, name, label));
                outcomesB.add(i + " " + apply(b, op, slice, ns, name, label));
            }
            assertThat(outcomesB).as("seed %d", seed).isEqualTo(outcomesA);
            assertThat(outcomesA).as("seed %d exercises every outcome", seed)
                    .anyMatch(o -> o.endsWith("409")).anyMatch(o -> o.endsWith("absent")).anyMatch(o -> o.contains("updated"));
            assertThat(contents(b)).as("seed %d", seed).isEqualTo(contents(a));
        }
    }

    private static String apply(KubernetesClient c, int op, boolean isSlice, String ns, String name, String label) {
        try {
            switch (op) {
                case 0 -> {
                    if (isSlice) {
                        c.discovery().v1().endpointSlices().resource(slice(ns, name, label)).create();
                    } else {
                        c.services().resource(service(ns, name, label)).create();
                    }
                    return "created";
                }
                case 1 -> {
                    HasMetadata o = isSlice
                            ? c.discovery().v1().endpointSlices().inNamespace(ns).withName(name).get()
                            : c.services().inNamespace(ns).withName(name).get();
                    if (o == null) {
                        return "absent";
                    }
                    o.getMetadata().setLabels(Map.of("l", label));
                    o.getMetadata().setResourceVersion(null);
                    if (isSlice) {
                        c.discovery().v1().endpointSlices().resource((EndpointSlice) o).update();
                    } else {
                        c.services().resource((Service) o).update();
                    }
                    return "updated";
                }
                case 2 -> {
                    var deleted = isSlice ? c.discovery().v1().endpointSlices().inNamespace(ns).withName(name).delete()
                            : c.services().inNamespace(ns).withName(name).delete();
                    return "deleted " + deleted.size();
                }
                default -> {
                    HasMetadata o = isSlice
                            ? c.discovery().v1().endpointSlices().inNamespace(ns).withName(name).get()
                            : c.services().inNamespace(ns).withName(name).get();
                    return o == null ? "absent" : "got " + o.getMetadata().getLabels();
                }
            }
        } catch (KubernetesClientException e) {
            return "error " + e.getCode();
        }
    }

    private static Map<String, String> contents(KubernetesClient c) {
        Map<String, String> out = new TreeMap<>();
        c.services().inAnyNamespace().list().getItems().forEach(s -> out.put("svc " + s.getMetadata().getNamespace() + "/"
                + s.getMetadata().getName(), String.valueOf(s.getMetadata().getLabels())));
        c.discovery().v1().endpointSlices().inAnyNamespace().list().getItems().forEach(s -> out.put("slice "
                + s.getMetadata().getNamespace() + "/" + s.getMetadata().getName(), String.valueOf(s.getMetadata().getLabels())));
        return out;
    }
}
