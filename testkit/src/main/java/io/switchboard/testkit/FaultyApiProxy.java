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
 * (lists still pass, so a client must relist). Switching modes closes every open connection, which
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
    private volatile Mode mode = Mode.PASS;

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

    /** Switches the mode and closes every open connection (watches included). */
    public void mode(Mode m) {
        mode = m;
        for (Socket s : open) {
            closeQuietly(s);
        }
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
            Mode m = mode;
            OutputStream out = client.getOutputStream();
            if (m == Mode.ERROR_500) {
                respond(out, "500 Internal Server Error", "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                        + "\"message\":\"injected\",\"reason\":\"InternalError\",\"code\":500}");
                return;
            }
            if (m == Mode.WATCH_GONE && requestLine.contains("watch=true")) {
                respond(out, "200 OK", "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                        + "\"Failure\",\"message\":\"too old resource version\",\"reason\":\"Expired\",\"code\":410}}\n");
                return;
            }
            try (Socket server = new Socket(InetAddress.getByAddress(new byte[]{127, 0, 0, 1}), target)) {
                open.add(server);
                server.getOutputStream().write(head, 0, n);
                Thread back = new Thread(() -> pump(server, client), "faulty-api-back");
                back.setDaemon(true);
                back.start();
                pump(client, server);
                back.join(1000);
            } finally {
                open.remove(client);
            }
        } catch (IOException | InterruptedException e) {
            // a closed connection is how this proxy misbehaves; nothing to report
        }
    }

    private static void respond(OutputStream out, String status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(b);
        out.flush();
    }

    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[16384];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int r;
            while ((r = in.read(buf)) >= 0) {
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
