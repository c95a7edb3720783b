package io.switchboard.netfilter;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.ServicePortName;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * kube-proxy's chain names: a prefix plus the first 16 characters of the standard base32 encoding
 * of the SHA-256 of "{@code namespace/name:port}" + lower-case protocol (+ "ip:port" for endpoints).
 */
public final class ChainNames {
    public static final String KUBE_SERVICES = "KUBE-SERVICES";
    public static final String KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES";
    public static final String KUBE_NODEPORTS = "KUBE-NODEPORTS";
    public static final String KUBE_POSTROUTING = "KUBE-POSTROUTING";
    public static final String KUBE_MARK_MASQ = "KUBE-MARK-MASQ";
    public static final String KUBE_FORWARD = "KUBE-FORWARD";
    public static final String KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL";
    public static final String KUBE_FIREWALL = "KUBE-FIREWALL";
    public static final String KUBE_PROXY_CANARY = "KUBE-PROXY-CANARY";

    private static final char[] BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".toCharArray();

    private ChainNames() {
    }

    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    });
    /**
     * First 16 characters of base32(sha256(text)). Not cached: a cache of every name held two
     * strings per endpoint (about 20 MB at 10,000 services × 10 endpoints) to save a hash that
     * partial syncs, which replay unchanged services, rarely compute.
     */
    public static String hash(String text) {
        return compute(text);
    }

    private static String compute(String text) {
        byte[] digest = SHA256.get().digest(text.getBytes(StandardCharsets.UTF_8));
        // 16 base32 characters = 80 bits = the first 10 bytes
        StringBuilder sb = new StringBuilder(16);
        long bits = 0;
        int count = 0;
        int i = 0;
        while (sb.length() < 16) {
            bits = (bits << 8) | (digest[i++] & 0xff);
            count += 8;
            while (count >= 5 && sb.length() < 16) {
                count -= 5;
                sb.append(BASE32[(int) ((bits >> count) & 31)]);
            }
        }
        return sb.toString();
    }

    private static String key(ServicePortName spn) {
        return spn.toString() + spn.protocol().lower();
    }

    public static String service(ServicePortName spn) {
        return "KUBE-SVC-" + hash(key(spn));
    }

    public static String serviceLocal(ServicePortName spn) {
        return "KUBE-SVL-" + hash(key(spn));
    }

    public static String external(ServicePortName spn) {
        return "KUBE-EXT-" + hash(key(spn));
    }

    public static String firewall(ServicePortName spn) {
        return "KUBE-FW-" + hash(key(spn));
    }

    public static String endpoint(ServicePortName spn, Endpoint ep) {
        return "KUBE-SEP-" + hash(key(spn) + ep.address());
    }

    /** Whether a chain name is one of the per-service chains kube-proxy (or we) generate. */
    public static boolean isServiceChain(String chain) {
        return chain.startsWith("KUBE-SVC-") || chain.startsWith("KUBE-SVL-") || chain.startsWith("KUBE-EXT-")
                || chain.startsWith("KUBE-FW-") || chain.startsWith("KUBE-SEP-");
    }
}
