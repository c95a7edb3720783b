package io.switchboard.app.config;

import io.switchboard.core.model.IpAddress;

import java.net.InetSocketAddress;

/** A listen address {@code ip:port} or {@code [v6]:port}, with the IP as a literal. */
public record ListenAddress(IpAddress ip, int port) {
    public static ListenAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("want ip:port");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException("IPv6 addresses need brackets: [addr]:port");
        }
        IpAddress ip;
        try {
            ip = IpAddress.parse(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + host + "\" is not an IP address");
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port is not a number");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range 0-65535");
        }
        return new ListenAddress(ip, port);
    }

    public InetSocketAddress toSocketAddress() {
        try {
            return new InetSocketAddress(java.net.InetAddress.getByAddress(ip.bytes()), port);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
