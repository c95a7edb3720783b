package io.switchboard.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * Tiny servers and clients for traffic tests. The TCP server greets each connection with its name
 * and then answers every line with "name line" ("WHO" with "name clientAddress", the address it
 * sees); it also answers HTTP GETs with its name. The UDP
 * server answers every datagram with its name.
 */
public final class Echo {
    private Echo() {
    }

    /** A running server; close to stop. */
    public interface Server extends AutoCloseable {
        @Override
        void close();
    }

    /** Starts a TCP server inside a namespace. */
    public static Server tcp(String ns, String ip, int port, String name) {
        ServerSocket ss = Netns.call(ns, () -> {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            // a pod's server listens with a deep accept queue; Java's default of 50 overflows (and drops
            // SYNs, costing a client a 1 s retransmit) whenever this JVM is slow to accept
            s.bind(new InetSocketAddress(InetAddress.getByName(ip), port), 1024);
            return s;
        });
        Thread t = new Thread(() -> {
            while (!ss.isClosed()) {
                try {
                    Socket c = ss.accept();
                    Thread h = new Thread(() -> serve(c, name), "echo-" + name);
                    h.setDaemon(true);
                    h.start();
                } catch (IOException e) {
                    return;
                }
            }
        }, "accept-" + name);
        t.setDaemon(true);
        t.start();
        return () -> {
            try {
                ss.close();
            } catch (IOException e) {
                // closing
            }
        };
    }

    private static void serve(Socket c, String name) {
        try (c; BufferedReader in = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.UTF_8));
             OutputStream out = c.getOutputStream()) {
            out.write((name + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("GET ")) {
                    byte[] body = (name + "\n").getBytes(StandardCharsets.UTF_8);
                    out.write(("HTTP/1.0 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                    out.write(body);
                    return;
                }
                // "WHO" asks for the client address this server sees
                String answer = line.equals("WHO") ? c.getInetAddress().getHostAddress() : line;
                out.write((name + " " + answer + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException e) {
            // client went away
        }
    }

    /** Starts a UDP server inside a namespace. */
    public static Server udp(String ns, String ip, int port, String name) {
        DatagramSocket ds = Netns.call(ns, () -> new DatagramSocket(new InetSocketAddress(InetAddress.getByName(ip), port)));
        Thread t = new Thread(() -> {
            byte[] buf = new byte[1500];
            byte[] answer = name.getBytes(StandardCharsets.UTF_8);
            while (!ds.isClosed()) {
                try {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    ds.receive(p);
                    ds.send(new DatagramPacket(answer, answer.length, p.getSocketAddress()));
                } catch (IOException e) {
                    return;
                }
            }
        }, "udp-" + name);
        t.setDaemon(true);
        t.start();
        return ds::close;
    }

    /**
     * Connects from a namespace and returns the greeting (the server's name), "REFUSED",
     * "TIMEOUT" or "ERROR: ...".
     */
    public static String tcpHello(String ns, String ip, int port, int timeoutMs) {
        return Netns.call(ns, () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getByName(ip), port), timeoutMs);
                s.setSoTimeout(timeoutMs);
                return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            } catch (java.net.ConnectException e) {
                return "REFUSED";
            } catch (SocketTimeoutException e) {
                return "TIMEOUT";
            } catch (IOException e) {
                // ECONNREFUSED can surface as a plain SocketException (seen once in CI, userspace
                // mode, a REJECTed port): the same refusal as a ConnectException
                return "Connection refused".equals(e.getMessage()) ? "REFUSED" : "ERROR: " + e.getMessage();
            }
        });
    }

    /** Connects from a namespace and returns the address the server saw as the client's, or an error text. */
    public static String tcpWho(String ns, String ip, int port, int timeoutMs) {
        return Netns.call(ns, () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getByName(ip), port), timeoutMs);
                s.setSoTimeout(timeoutMs);
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                String name = in.readLine();
                s.getOutputStream().write("WHO\n".getBytes(StandardCharsets.UTF_8));
                String answer = in.readLine();
                return answer == null ? "ERROR: closed" : answer.substring(name.length() + 1);
            } catch (IOException e) {
                return "ERROR: " + e;
            }
        });
    }

    /** A TCP connection opened from a namespace, kept open. */
    public static Socket tcpConnect(String ns, String ip, int port, int timeoutMs) {
        return Netns.call(ns, () -> {
            Socket s = new Socket();
            s.connect(new InetSocketAddress(InetAddress.getByName(ip), port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            return s;
        });
    }

    /** A UDP socket created in a namespace (keeps its source port across sends). */
    public static DatagramSocket udpSocket(String ns, int timeoutMs) {
        return Netns.call(ns, () -> {
            DatagramSocket s = new DatagramSocket();
            s.setSoTimeout(timeoutMs);
            return s;
        });
    }

    /** Sends one datagram and returns the answer, or "TIMEOUT" / "ERROR: ...". */
    public static String udpAsk(DatagramSocket s, String ip, int port) {
        try {
            byte[] q = "?".getBytes(StandardCharsets.UTF_8);
            s.send(new DatagramPacket(q, q.length, new InetSocketAddress(InetAddress.getByName(ip), port)));
            byte[] buf = new byte[1500];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            s.receive(p);
            return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
        } catch (SocketTimeoutException e) {
            return "TIMEOUT";
        } catch (IOException e) {
            return "ERROR: " + e.getMessage();
        }
    }
}
