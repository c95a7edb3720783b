package io.switchboard.backend.userspace;

import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.SessionAffinity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The TCP and UDP proxies on loopback with real sockets on both sides: echo, retry, reset,
 * half-close, backpressure, a 1 GB transfer, UDP sessions. No privileges needed.
 */
class ProxyLoopbackTest {
    private static final InetAddress LO = InetAddress.getLoopbackAddress();
    private final MultiThreadIoEventLoopGroup group = Transport.best().group(2);
    private final List<AutoCloseable> closers = new ArrayList<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger maxOpen = new AtomicInteger();
    private final AtomicInteger failures = new AtomicInteger();
    private final AtomicInteger retries = new AtomicInteger();
    private final AtomicLong bytes = new AtomicLong();

    private final ProxyMetrics metrics = new ProxyMetrics() {
        @Override
        public void userspaceConnections(String protocol, int delta) {
            maxOpen.accumulateAndGet(open.addAndGet(delta), Math::max);
        }

        @Override
        public void userspaceBytes(String direction, long n) {
            bytes.addAndGet(n);
        }

        @Override
        public void userspaceConnectFailure(boolean retried) {
            failures.incrementAndGet();
            if (retried) {
                retries.incrementAndGet();
            }
        }
    };

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closers) {
            c.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** A TCP server on loopback running {@code handler} on a thread per connection. */
    private InetSocketAddress server(IoHandler handler) throws IOException {
        ServerSocket ss = new ServerSocket(0, 2000, LO);
        closers.add(ss);
        Thread t = new Thread(() -> {
            while (!ss.isClosed()) {
                try {
                    Socket c = ss.accept();
                    Thread h = new Thread(() -> {
                        try (c) {
                            handler.handle(c);
                        } catch (IOException e) {
                            // client went away
                        }
                    });
                    h.setDaemon(true);
                    h.start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        return new InetSocketAddress(LO, ss.getLocalPort());
    }

    interface IoHandler {
        void handle(Socket s) throws IOException;
    }

    private static void echo(Socket s) throws IOException {
        s.getInputStream().transferTo(s.getOutputStream());
    }

    private TcpProxy tcp(Balancer b) throws InterruptedException {
        TcpProxy p = new TcpProxy("test", Transport.best(), group, new InetSocketAddress(LO, 0), b, metrics,
                TcpProxy.DIAL_TIMEOUTS, Duration.ofMinutes(5));
        closers.add(p);
        return p;
    }

    private static Balancer balancer(InetSocketAddress... endpoints) {
        Balancer b = new Balancer(SessionAffinity.NONE, System::nanoTime);
        b.update(Map.of(IpFamily.IPV4, List.of(endpoints)));
        return b;
    }

    @Test
    void aThousandConcurrentConnectionsGetEveryByteEchoed() throws Exception {
        TcpProxy p = tcp(balancer(server(ProxyLoopbackTest::echo), server(ProxyLoopbackTest::echo)));
        List<Socket> clients = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            Socket s = new Socket(LO, p.port());
            s.setSoTimeout(10_000);
            clients.add(s);
        }
        ExecutorService pool = Executors.newFixedThreadPool(50);
        List<Future<Boolean>> results = new ArrayList<>();
        for (int i = 0; i < clients.size(); i++) {
            Socket s = clients.get(i);
            long seed = i;
            results.add(pool.submit(() -> {
                byte[] data = new byte[16 * 1024];
                new Random(seed).nextBytes(data);
                s.getOutputStream().write(data);
                byte[] back = s.getInputStream().readNBytes(data.length);
                return java.util.Arrays.equals(data, back);
            }));
        }
        int ok = 0;
        for (Future<Boolean> f : results) {
            ok += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
        }
        pool.shutdown();
        assertThat(ok).isEqualTo(1000);
        assertThat(maxOpen.get()).isEqualTo(1000);
        assertThat(bytes.get()).isEqualTo(2L * 1000 * 16 * 1024);
        for (Socket s : clients) {
            s.close();
        }
    }

    @Test
    void aRefusedEndpointIsRetriedOnTheNextOne() throws Exception {
        ServerSocket closed = new ServerSocket(0, 1, LO);
        InetSocketAddress dead = new InetSocketAddress(LO, closed.getLocalPort());
        closed.close();
        TcpProxy p = tcp(balancer(dead, server(ProxyLoopbackTest::echo)));
        for (int i = 0; i < 6; i++) {
            try (Socket s = new Socket(LO, p.port())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
                assertThat(new String(s.getInputStream().readNBytes(5), StandardCharsets.UTF_8)).isEqualTo("ping\n");
            }
        }
        // round robin sends at least every other connection to the dead endpoint first (a retry
        // moves the round on too), and every such failure was retried on the live one
        assertThat(failures.get()).isBetween(3, 6);
        assertThat(retries.get()).isEqualTo(failures.get());
    }

    @Test
    void anEndpointThatDropsSynsCostsOneShortDialNotTheClientsTimeout() throws Exception {
        // a listener that never accepts, with its accept queue full: the kernel drops further SYNs
        ServerSocket full = new ServerSocket(0, 1, LO);
        closers.add(full);
        InetSocketAddress blackhole = new InetSocketAddress(LO, full.getLocalPort());
        for (int i = 0; i < 8; i++) {
            Socket filler = new Socket();
            closers.add(filler);
            try {
                filler.connect(blackhole, 200);
            } catch (java.net.SocketTimeoutException e) {
                break;
            }
        }
        TcpProxy p = tcp(balancer(blackhole, server(ProxyLoopbackTest::echo)));
        long t0 = System.nanoTime();
        try (Socket s = new Socket(LO, p.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(s.getInputStream().readNBytes(5), StandardCharsets.UTF_8)).isEqualTo("ping\n");
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(failures.get()).as("the dropped dial").isEqualTo(1);
        assertThat(retries.get()).isEqualTo(1);
        // the first dial gives up after the first timeout (250 ms), not after the last (2 s)
        assertThat(took).isLessThan(TcpProxy.DIAL_TIMEOUTS.get(TcpProxy.DIAL_TIMEOUTS.size() - 1));
    }

    @Test
    void withoutEndpointsAConnectionIsResetAtOnce() throws Exception {
        TcpProxy p = tcp(balancer());
        long t0 = System.nanoTime();
        try (Socket s = new Socket(LO, p.port())) {
            s.setSoTimeout(5000);
            int r;
            try {
                r = s.getInputStream().read();
            } catch (java.net.SocketException e) {
                r = -2;
                assertThat(e.getMessage()).contains("reset");
            }
            assertThat(r).isEqualTo(-2);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void aHalfCloseIsPassedOnInBothDirections() throws Exception {
        // the endpoint reads to EOF, then answers and closes its side
        TcpProxy p = tcp(balancer(server(s -> {
            byte[] all = s.getInputStream().readAllBytes();
            s.getOutputStream().write(("got " + all.length + "\n").getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
        })));
        try (Socket s = new Socket(LO, p.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(new byte[100_000]);
            s.shutdownOutput();
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("got 100000\n");
        }
    }

    @Test
    void aSlowEndpointStopsReadingFromTheClientInsteadOfBuffering() throws Exception {
        Object never = new Object();
        TcpProxy p = tcp(balancer(server(s -> {
            synchronized (never) {
                try {
                    never.wait(20_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        })));
        AtomicLong written = new AtomicLong();
        Socket s = new Socket(LO, p.port());
        closers.add(s);
        Thread writer = new Thread(() -> {
            byte[] chunk = new byte[64 * 1024];
            try {
                OutputStream out = s.getOutputStream();
                for (int i = 0; i < 4096; i++) {
                    out.write(chunk);
                    written.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                // closed at the end of the test
            }
        });
        writer.setDaemon(true);
        writer.start();
        Thread.sleep(3000);
        long stalled = written.get();
        Thread.sleep(1000);
        // the writer is blocked: nothing more went through in a second, and what went through is
        // only what the sockets' kernel buffers and one write-buffer high-water mark hold
        assertThat(written.get()).isEqualTo(stalled);
        assertThat(stalled).isLessThan(64L * 1024 * 1024);
        s.close();
    }

    @Test
    void aGigabyteFlowsThroughWithTheHeapFlat() throws Exception {
        AtomicLong received = new AtomicLong();
        TcpProxy p = tcp(balancer(server(s -> {
            byte[] buf = new byte[256 * 1024];
            InputStream in = s.getInputStream();
            int n;
            while ((n = in.read(buf)) > 0) {
                received.addAndGet(n);
            }
        })));
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long base = rt.totalMemory() - rt.freeMemory();
        long peak = base;
        long total = 1L << 30;
        long t0 = System.nanoTime();
        try (Socket s = new Socket(LO, p.port())) {
            byte[] chunk = new byte[1 << 20];
            OutputStream out = s.getOutputStream();
            for (long sent = 0; sent < total; sent += chunk.length) {
                out.write(chunk);
                if ((sent & ((64 << 20) - 1)) == 0) {
                    System.gc();
                    peak = Math.max(peak, rt.totalMemory() - rt.freeMemory());
                }
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (received.get() < total && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.gc();
        long after = rt.totalMemory() - rt.freeMemory();
        System.out.printf("1 GiB through the proxy in %.2f s (%.0f MB/s); heap after GC: base %d MB, peak %d MB, after %d MB%n",
                secs, total / 1e6 / secs, base >> 20, peak >> 20, after >> 20);
        assertThat(received.get()).isEqualTo(total);
        assertThat(peak - base).as("heap growth while 1 GiB flowed").isLessThan(32L << 20);
    }

    @Test
    void udpHasASessionPerClientThatEndsWhenIdleOrWhenItsEndpointGoes() throws Exception {
        DatagramSocket backend = new DatagramSocket(0, LO);
        closers.add(backend);
        Thread t = new Thread(() -> {
            byte[] buf = new byte[1500];
            while (!backend.isClosed()) {
                try {
                    DatagramPacket d = new DatagramPacket(buf, buf.length);
                    backend.receive(d);
                    byte[] answer = ("re:" + new String(d.getData(), 0, d.getLength(), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
                    backend.send(new DatagramPacket(answer, answer.length, d.getSocketAddress()));
                } catch (IOException e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        Balancer b = balancer(new InetSocketAddress(LO, backend.getLocalPort()));
        UdpProxy p = new UdpProxy("udp", Transport.best(), group, new InetSocketAddress(LO, 0), b, metrics, Duration.ofMillis(300));
        closers.add(p);
        try (DatagramSocket c1 = new DatagramSocket(0, LO); DatagramSocket c2 = new DatagramSocket(0, LO)) {
            assertThat(ask(c1, p.port(), "a")).isEqualTo("re:a");
            assertThat(ask(c2, p.port(), "b")).isEqualTo("re:b");
            assertThat(ask(c1, p.port(), "c")).isEqualTo("re:c");
            assertThat(p.sessions()).isEqualTo(2);
            Thread.sleep(1000);
            assertThat(p.sessions()).as("idle sessions ended").isZero();
            assertThat(open.get()).isZero();
            assertThat(ask(c1, p.port(), "d")).isEqualTo("re:d");
            assertThat(p.sessions()).isEqualTo(1);
            b.update(Map.of());
            p.dropStaleSessions();
            Thread.sleep(200);
            assertThat(p.sessions()).as("a removed endpoint ends its sessions").isZero();
            assertThat(ask(c1, p.port(), "e")).as("no endpoint: dropped").isEqualTo("TIMEOUT");
        }
    }

    private static String ask(DatagramSocket s, int port, String q) throws IOException {
        byte[] b = q.getBytes(StandardCharsets.UTF_8);
        s.setSoTimeout(2000);
        s.send(new DatagramPacket(b, b.length, LO, port));
        byte[] buf = new byte[1500];
        DatagramPacket d = new DatagramPacket(buf, buf.length);
        try {
            s.receive(d);
        } catch (SocketTimeoutException e) {
            return "TIMEOUT";
        }
        return new String(d.getData(), 0, d.getLength(), StandardCharsets.UTF_8);
    }
}
