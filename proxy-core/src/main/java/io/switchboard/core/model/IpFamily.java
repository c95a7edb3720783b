package io.switchboard.core.model;

/** An IP family, named as Kubernetes names it ({@code IPv4}, {@code IPv6}). */
public enum IpFamily {
    IPV4("IPv4", 4),
    IPV6("IPv6", 16);

    private final String kubernetesName;
    private final int addressLength;

    IpFamily(String kubernetesName, int addressLength) {
        this.kubernetesName = kubernetesName;
        this.addressLength = addressLength;
    }

    /** The name used in the Kubernetes API and in kube-proxy's {@code ip_family} metric label. */
    public String kubernetesName() {
        return kubernetesName;
    }

    /** Address length in bytes. */
    public int addressLength() {
        return addressLength;
    }

    /** Parses {@code IPv4} / {@code IPv6} (the API's spelling). */
    public static IpFamily fromKubernetesName(String name) {
        for (IpFamily f : values()) {
            if (f.kubernetesName.equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown IP family \"" + name + "\" (want IPv4 or IPv6)");
    }
}
