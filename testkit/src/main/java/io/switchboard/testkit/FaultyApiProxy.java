package io.switchboard.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy in front of the mock API server that can misbehave the ways a real one does and the
 * CRUD mock cannot: answer 500 to every request, or answer every watch with a 410 Gone error event
 * (over the WebSocket, as the API server sends it; lists still pass, so a client must relist). Switching modes closes every open connection, which
 * is also how it "closes the watches". Each connection is judged by its first request line, then
 * passed through byte for byte; a client opens new connections after a close.
 */
public final class FaultyApiProxy implements AutoCloseable {
    /** How requests are answered. */
    public enum Mode {
        PASS, ERROR_500, WATCH_GONE
    }

    private final ServerSocket listener;
    private final int target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    /** Upstream sockets that carry a WebSocket watch. */
    private final Set<Socket> upstreamWatches = ConcurrentHashMap.newKeySet();
    private volatile Mode mode = Mode.PASS;
    private volatile String slowListPath;
    private volatile long slowListMillis;
    private volatile String slowWatchPath;
    private volatile long slowWatchMillis;

    /** Listens on 127.0.0.1 (an ephemeral port) and forwards to 127.0.0.1:{@code targetPort}. */
    public FaultyApiProxy(int targetPort) {
        this.target = targetPort;
        try {
            listener = new ServerSocket();
            listener.bind(new InetSocketAddress(InetAddress.getByAddress(new byte[]{127, 0, 0, 1}), 0));
        } catch (IOException e) {
            throw new IllegalStateException("cannot listen: " + e.getMessage(), e);
        }
        Thread accept = new Thread(this::acceptLoop, "faulty-api-accept");
        accept.setDaemon(true);
        accept.start();
    }

    public String url() {
        return "http://127.0.0.1:" + listener.getLocalPort();
    }

    /**
     * Switches the mode and closes every open connection (watches included). Toward the mock server
     * a watch is ended with a WebSocket close frame first, as a proxy in front of an API server
     * would. (The stock CRUD mock blocked its event loop when a watch with events queued just
     * dropped; {@link IndexedCrudDispatcher} no longer does, and the frame is kept as the orderly end.)
     */
    public void mode(Mode m) {
        mode = m;
        for (Socket s : upstreamWatches) {
            try {
                // FIN, masked (a client's frames are), status 1000; the mask is zero, so the payload is as is
                s.getOutputStream().write(new byte[]{(byte) 0x88, (byte) 0x82, 0, 0, 0, 0, 0x03, (byte) 0xe8});
                s.getOutputStream().flush();
            } catch (IOException e) {
                // already closed
            }
        }
        for (Socket s : open) {
            closeQuietly(s);
        }
    }

    /**
     * Holds back every list (a GET that is no watch) whose request line contains {@code path} for
     * {@code delay} before forwarding it: a first list that takes seconds, as at 10,000 services.
     * Only a connection's first request is looked at (later ones on a kept-alive connection pass).
     */
    public void slowLists(String path, java.time.Duration delay) {
        slowListMillis = delay.toMillis();
        slowListPath = path;
    }

    /**
     * Holds back every watch request whose request line contains {@code path} for {@code delay}: a
     * watch that takes seconds to open after its list, as from a loaded (or emulated) API server.
     */
    public void slowWatches(String path, java.time.Duration delay) {
        slowWatchMillis = delay.toMillis();
        slowWatchPath = path;
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                open.add(client);
                Thread t = new Thread(() -> serve(client), "faulty-api-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            byte[] head = new byte[8192];
            int n = 0;
            // the request line (and whatever else arrived with it)
            while (n < head.length) {
                int r = in.read(head, n, head.length - n);
                if (r < 0) {
                    return;
                }
                n += r;
                if (new String(head, 0, n, StandardCharsets.ISO_8859_1).contains("\r\n")) {
                    break;
                }
            }
            String requestLine = new String(head, 0, n, StandardCharsets.ISO_8859_1).lines().findFirst().orElse("");
            String slow = slowListPath;
            if (slow != null && requestLine.startsWith("GET ") && requestLine.contains(slow)
                    && !requestLine.contains("watch=true")) {
                Thread.sleep(slowListMillis);
            }
            String slowWatch = slowWatchPath;
            if (slowWatch != null && requestLine.startsWith("GET ") && requestLine.contains(slowWatch)
                    && requestLine.contains("watch=true")) {
                Thread.sleep(slowWatchMillis);
            }
            Mode m = mode;
            OutputStream out = client.getOutputStream();
            if (m == Mode.ERROR_500) {
                respond(out, "500 Internal Server Error", "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                        + "\"message\":\"injected\",\"reason\":\"InternalError\",\"code\":500}");
                return;
            }
            if (m == Mode.WATCH_GONE && requestLine.contains("watch=true")) {
                String event = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                        + "\"Failure\",\"message\":\"too old resource version\",\"reason\":\"Expired\",\"code\":410}}";
                // the whole request head, for a WebSocket key
                while (n < head.length && !new String(head, 0, n, StandardCharsets.ISO_8859_1).contains("\r\n\r\n")) {
                    int r = in.read(head, n, head.length - n);
                    if (r < 0) {
                        return;
                    }
                    n += r;
                }
                String key = header(new String(head, 0, n, StandardCharsets.ISO_8859_1), "sec-websocket-key");
                if (key == null) {
                    respond(out, "200 OK", event + "\n");
                } else {
                    gone(out, key, event);
                }
                return;
            }
            try (Socket server = new Socket(InetAddress.getByAddress(new byte[]{127, 0, 0, 1}), target)) {
                open.add(server);
                server.getOutputStream().write(head, 0, n);
                Thread back = new Thread(() -> pump(server, client, requestLine.contains("watch=true")), "faulty-api-back");
                back.setDaemon(true);
                back.start();
                pump(client, server, false);
                back.join(1000);
            } finally {
                open.remove(client);
                upstreamWatches.removeIf(Socket::isClosed);
            }
        } catch (IOException | InterruptedException e) {
            // a closed connection is how this proxy misbehaves; nothing to report
        }
    }

    /**
     * A watch over a WebSocket answered as the API server does when the resource version is too
     * old: the upgrade, one ERROR event (a Status with code 410) as a text frame, then a close.
     */
    private static void gone(OutputStream out, String key, String event) throws IOException {
        String accept;
        try {
            accept = java.util.Base64.getEncoder().encodeToString(java.security.MessageDigest.getInstance("SHA-1")
                    .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.ISO_8859_1)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        byte[] payload = event.getBytes(StandardCharsets.UTF_8);
        // a server's frames are not masked; this payload is 126..65535 bytes or shorter
        if (payload.length < 126) {
            out.write(new byte[]{(byte) 0x81, (byte) payload.length});
        } else {
            out.write(new byte[]{(byte) 0x81, 126, (byte) (payload.length >> 8), (byte) payload.length});
        }
        out.write(payload);
        out.write(new byte[]{(byte) 0x88, 0x02, 0x03, (byte) 0xe8});
        out.flush();
    }

    private static String header(String head, String name) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    private static void respond(OutputStream out, String status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
        out.flush();
    }

    /** @param watch from the server, for a watch request: its answer upgrading to a WebSocket makes {@code from} an upstream watch */
    private void pump(Socket from, Socket to, boolean watch) {
        byte[] buf = new byte[16384];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int r;
            boolean first = true;
            while ((r = in.read(buf)) >= 0) {
                if (first && watch && new String(buf, 0, Math.min(r, 12), StandardCharsets.ISO_8859_1).equals("HTTP/1.1 101")) {
                    // only a watch the server has upgraded is ended with a close frame (one cut
                    // before its handshake is a plain HTTP connection to the mock)
                    upstreamWatches.add(from);
                }
                first = false;
                out.write(buf, 0, r);
                out.flush();
            }
        } catch (IOException e) {
            // closed
        } finally {
            closeQuietly(from);
            closeQuietly(to);
            open.remove(from);
            open.remove(to);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException e) {
            // closing
        }
        mode(Mode.PASS);
    }
}
