package io.switchboard.backend.userspace;

import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.SessionAffinity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class BalancerTest {
    private final AtomicLong now = new AtomicLong();
    private static final InetSocketAddress A = new InetSocketAddress("10.0.0.1", 80);
    private static final InetSocketAddress B = new InetSocketAddress("10.0.0.2", 80);
    private static final InetSocketAddress C = new InetSocketAddress("10.0.0.3", 80);
    private static final InetSocketAddress A6 = new InetSocketAddress("fd00::1", 80);

    private static InetAddress client(int i) throws Exception {
        return InetAddress.getByName("10.1.0." + i);
    }

    @Test
    void roundRobinVisitsEveryEndpointOfTheClientsFamily() throws Exception {
        Balancer b = new Balancer(SessionAffinity.NONE, now::get);
        b.update(Map.of(IpFamily.IPV4, List.of(A, B, C), IpFamily.IPV6, List.of(A6)));
        List<InetSocketAddress> picks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            picks.add(b.pick(IpFamily.IPV4, client(1), Set.of()));
        }
        assertThat(picks).containsExactly(A, B, C, A, B, C);
        assertThat(b.pick(IpFamily.IPV6, client(1), Set.of())).isEqualTo(A6);
    }

    @Test
    void retrySkipsEndpointsAlreadyTriedAndEndsWithNull() throws Exception {
        Balancer b = new Balancer(SessionAffinity.NONE, now::get);
        b.update(Map.of(IpFamily.IPV4, List.of(A, B)));
        Set<InetSocketAddress> tried = new HashSet<>();
        tried.add(b.pick(IpFamily.IPV4, client(1), tried));
        tried.add(b.pick(IpFamily.IPV4, client(1), tried));
        assertThat(tried).containsExactlyInAnyOrder(A, B);
        assertThat(b.pick(IpFamily.IPV4, client(1), tried)).isNull();
        assertThat(b.pick(IpFamily.IPV6, client(1), Set.of())).as("no endpoints of the family").isNull();
    }

    @Test
    void clientIpAffinitySticksUntilItsTimeoutAndForgetsRemovedEndpoints() throws Exception {
        Balancer b = new Balancer(SessionAffinity.clientIp(10), now::get);
        b.update(Map.of(IpFamily.IPV4, List.of(A, B, C)));
        InetSocketAddress first = b.pick(IpFamily.IPV4, client(1), Set.of());
        b.used(client(1), first);
        for (int i = 0; i < 20; i++) {
            now.addAndGet(1_000_000_000L);  // 1 s between connections keeps the entry fresh
            InetSocketAddress p = b.pick(IpFamily.IPV4, client(1), Set.of());
            assertThat(p).isEqualTo(first);
            b.used(client(1), p);
        }
        // another client is balanced independently
        assertThat(b.pick(IpFamily.IPV4, client(2), Set.of())).isNotNull();
        // after the timeout the client is balanced again
        now.addAndGet(11_000_000_000L);
        assertThat(b.stickyClients()).isZero();
        // a removed endpoint loses its clients at once
        b.used(client(3), A);
        b.update(Map.of(IpFamily.IPV4, List.of(B, C)));
        assertThat(b.pick(IpFamily.IPV4, client(3), Set.of())).isIn(B, C);
        // a sticky endpoint that fails a connect is skipped by the retry
        b.used(client(4), B);
        assertThat(b.pick(IpFamily.IPV4, client(4), Set.of(B))).isEqualTo(C);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void everyPickIsAnEndpointOfTheFamilyAndRoundRobinIsFair(long seed) throws Exception {
        Random r = new Random(seed);
        int n = 1 + r.nextInt(8);
        List<InetSocketAddress> eps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            eps.add(new InetSocketAddress("10.0.1." + (i + 1), 1000 + r.nextInt(1000)));
        }
        Balancer b = new Balancer(SessionAffinity.NONE, now::get);
        b.update(Map.of(IpFamily.IPV4, eps));
        Map<InetSocketAddress, Integer> counts = new java.util.HashMap<>();
        int rounds = n * (1 + r.nextInt(20));
        for (int i = 0; i < rounds; i++) {
            counts.merge(b.pick(IpFamily.IPV4, client(1 + r.nextInt(200)), Set.of()), 1, Integer::sum);
        }
        assertThat(counts.keySet()).containsExactlyInAnyOrderElementsOf(eps);
        assertThat(new HashSet<>(counts.values())).hasSize(1);
    }
}
