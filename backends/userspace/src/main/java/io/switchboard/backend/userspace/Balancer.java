package io.switchboard.backend.userspace;

import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.SessionAffinity;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Endpoint choice for one listener: round robin over the endpoints of the client's family, ClientIP
 * affinity with its timeout, and endpoints a connection already tried left out (for the retry).
 * The endpoint lists come from the core's one selection function (topology, traffic policies and
 * terminating fallback are applied there); this class only picks among them. Thread-safe.
 */
final class Balancer {
    private final SessionAffinity affinity;
    private final LongSupplier nanoClock;
    private volatile Map<IpFamily, List<InetSocketAddress>> endpoints = Map.of();
    private final AtomicInteger next = new AtomicInteger();
    private final Map<InetAddress, Sticky> sticky = new ConcurrentHashMap<>();

    private record Sticky(InetSocketAddress endpoint, long lastUsedNanos) {
    }

    Balancer(SessionAffinity affinity, LongSupplier nanoClock) {
        this.affinity = affinity;
        this.nanoClock = nanoClock;
    }

    SessionAffinity affinity() {
        return affinity;
    }

    /** Replaces the endpoints; affinity to an endpoint that is gone is forgotten. */
    void update(Map<IpFamily, List<InetSocketAddress>> byFamily) {
        Map<IpFamily, List<InetSocketAddress>> copy = Map.copyOf(byFamily);
        endpoints = copy;
        sticky.values().removeIf(s -> copy.values().stream().noneMatch(l -> l.contains(s.endpoint())));
    }

    List<InetSocketAddress> endpoints(IpFamily family) {
        return endpoints.getOrDefault(family, List.of());
    }

    boolean contains(InetSocketAddress endpoint) {
        for (List<InetSocketAddress> l : endpoints.values()) {
            if (l.contains(endpoint)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The endpoint for the next connection of {@code client}, or null when none is left. The
     * client's sticky endpoint first (while its affinity has not timed out), else round robin;
     * {@code tried} are skipped.
     */
    InetSocketAddress pick(IpFamily family, InetAddress client, Set<InetSocketAddress> tried) {
        List<InetSocketAddress> list = endpoints(family);
        if (list.isEmpty()) {
            return null;
        }
        if (affinity.clientIp()) {
            Sticky s = sticky.get(client);
            if (s != null && !tried.contains(s.endpoint()) && list.contains(s.endpoint())
                    && nanoClock.getAsLong() - s.lastUsedNanos() < affinity.timeoutSeconds() * 1_000_000_000L) {
                return s.endpoint();
            }
        }
        int start = Math.floorMod(next.getAndIncrement(), list.size());
        for (int i = 0; i < list.size(); i++) {
            InetSocketAddress e = list.get((start + i) % list.size());
            if (!tried.contains(e)) {
                return e;
            }
        }
        return null;
    }

    /** A connection of {@code client} to {@code endpoint} succeeded: with affinity, it sticks. */
    void used(InetAddress client, InetSocketAddress endpoint) {
        if (affinity.clientIp()) {
            sticky.put(client, new Sticky(endpoint, nanoClock.getAsLong()));
        }
    }

    /** Clients with a live affinity entry (for tests and logs). */
    int stickyClients() {
        long now = nanoClock.getAsLong();
        sticky.values().removeIf(s -> now - s.lastUsedNanos() >= affinity.timeoutSeconds() * 1_000_000_000L);
        return sticky.size();
    }
}
