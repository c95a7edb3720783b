package io.switchboard.informers.testing;

import io.switchboard.core.model.EndpointSliceInfo;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.NodeInfo;
import io.switchboard.core.model.ServiceInfo;
import io.switchboard.core.sync.EndpointSliceHandler;
import io.switchboard.core.sync.NodeHandler;
import io.switchboard.core.sync.ServiceHandler;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/** Handlers that keep the latest state they were told, for informer tests. */
public final class StateRecorder implements ServiceHandler, EndpointSliceHandler, NodeHandler {
    public final Map<NamespacedName, ServiceInfo> services = new ConcurrentHashMap<>();
    public final Map<NamespacedName, EndpointSliceInfo> slices = new ConcurrentHashMap<>();
    public volatile NodeInfo node;
    public volatile boolean servicesSynced;
    public volatile boolean slicesSynced;
    public final AtomicInteger events = new AtomicInteger();

    @Override
    public void onServiceUpsert(ServiceInfo service) {
        events.incrementAndGet();
        services.put(service.name(), service);
    }

    @Override
    public void onServiceDelete(NamespacedName service) {
        events.incrementAndGet();
        services.remove(service);
    }

    @Override
    public void onServicesSynced() {
        servicesSynced = true;
    }

    @Override
    public void onSliceUpsert(EndpointSliceInfo slice) {
        events.incrementAndGet();
        slices.put(slice.name(), slice);
    }

    @Override
    public void onSliceDelete(NamespacedName slice) {
        events.incrementAndGet();
        slices.remove(slice);
    }

    @Override
    public void onSlicesSynced() {
        slicesSynced = true;
    }

    @Override
    public void onNode(NodeInfo node) {
        this.node = node;
    }

    /** Waits until the condition holds; fails the test with {@code what} after {@code timeout}. */
    public static void await(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }
}
