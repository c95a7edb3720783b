package io.switchboard.backend.userspace;

import io.switchboard.netfilter.Jump;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.ServicePortName;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Pure: the portals of one family → restore input for {@code iptables-restore --noflush}. Every
 * sync rewrites the mode's chains whole (they hold one rule per service address, not per endpoint):
 * <ul>
 *   <li>nat {@code KUBE-PORTALS-CONTAINER} (from PREROUTING, first): traffic from pods and outside
 *       to a service IP, {@code REDIRECT --to-ports <proxyPort>} (or DNAT to {@code bindAddress}
 *       when one is set, as kube-proxy did);</li>
 *   <li>nat {@code KUBE-PORTALS-HOST} (from OUTPUT, first): the node's own traffic, DNAT to
 *       {@code <nodeIP>:<proxyPort>};</li>
 *   <li>nat {@code KUBE-NODEPORT-CONTAINER} / {@code -HOST} (from PREROUTING / OUTPUT, last, for
 *       local destinations): NodePorts, the same way;</li>
 *   <li>filter {@code KUBE-SERVICES} (from OUTPUT and FORWARD, new connections): REJECT for the
 *       service IPs of ports without endpoints, so clients fail at once.</li>
 * </ul>
 * Comments are {@code "<ns>/<svc>:<port>"} as kube-proxy wrote them.
 */
public final class PortalRenderer {
    public static final String PORTALS_CONTAINER = "KUBE-PORTALS-CONTAINER";
    public static final String PORTALS_HOST = "KUBE-PORTALS-HOST";
    public static final String NODEPORT_CONTAINER = "KUBE-NODEPORT-CONTAINER";
    public static final String NODEPORT_HOST = "KUBE-NODEPORT-HOST";
    public static final String SERVICES = "KUBE-SERVICES";

    /** Every jump this mode needs, in the order they are inserted. */
    public static final List<Jump> JUMPS = List.of(
            new Jump("nat", "PREROUTING", "-m comment --comment \"handle ClusterIPs; NOTE: this must be before the NodePort rules\" -j "
                    + PORTALS_CONTAINER, true),
            new Jump("nat", "OUTPUT", "-m comment --comment \"handle ClusterIPs; NOTE: this must be before the NodePort rules\" -j "
                    + PORTALS_HOST, true),
            new Jump("nat", "PREROUTING", "-m addrtype --dst-type LOCAL -m comment --comment \"handle service NodePorts; NOTE: this"
                    + " must be the last rule in the chain\" -j " + NODEPORT_CONTAINER, false),
            new Jump("nat", "OUTPUT", "-m addrtype --dst-type LOCAL -m comment --comment \"handle service NodePorts; NOTE: this"
                    + " must be the last rule in the chain\" -j " + NODEPORT_HOST, false),
            new Jump("filter", "OUTPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j "
                    + SERVICES, true),
            new Jump("filter", "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j "
                    + SERVICES, true));

    /**
     * @param family      the family rendered
     * @param hostAddress where node-local traffic is sent ({@code bindAddress} when set, else an
     *                    address of this node in the family); null when the node has none
     * @param redirect    pod and outside traffic uses REDIRECT (no {@code bindAddress}); else DNAT to
     *                    {@code hostAddress}
     * @param missing     jumps absent from the kernel, written with this input
     */
    public record Settings(IpFamily family, IpAddress hostAddress, boolean redirect, List<Jump> missing) {
        public Settings {
            missing = List.copyOf(missing);
        }
    }

    /** Restore text, and for each of its lines the service port it belongs to (null: none). */
    public record Rendered(String text, List<ServicePortName> owners) {
        /** The service port whose rule is on a 1-based line, or null. */
        public ServicePortName owner(int line) {
            return line >= 1 && line <= owners.size() ? owners.get(line - 1) : null;
        }
    }

    private PortalRenderer() {
    }

    /** Renders the portals (already sorted by the caller) of one family. */
    public static Rendered render(List<Portal> portals, Settings s) {
        Out out = new Out();
        out.line("*nat", null);
        for (String c : List.of(PORTALS_CONTAINER, PORTALS_HOST, NODEPORT_CONTAINER, NODEPORT_HOST)) {
            out.line(":" + c + " - [0:0]", null);
        }
        for (Jump j : s.missing()) {
            if (j.table().equals("nat")) {
                out.line(j.line(), null);
            }
        }
        for (Portal p : portals) {
            if (!p.open()) {
                continue;
            }
            String match = match(p);
            String host = s.hostAddress() == null ? null : "-j DNAT --to-destination " + s.hostAddress().withPort(p.proxyPort());
            String container = s.redirect() || host == null ? "-j REDIRECT --to-ports " + p.proxyPort() : host;
            String[] chains = p.nodePort() ? new String[]{NODEPORT_CONTAINER, NODEPORT_HOST} : new String[]{PORTALS_CONTAINER, PORTALS_HOST};
            out.line("-A " + chains[0] + " " + match + " " + container, p.name());
            if (host != null) {
                out.line("-A " + chains[1] + " " + match + " " + host, p.name());
            }
        }
        out.line("COMMIT", null);
        out.line("*filter", null);
        out.line(":" + SERVICES + " - [0:0]", null);
        for (Jump j : s.missing()) {
            if (j.table().equals("filter")) {
                out.line(j.line(), null);
            }
        }
        for (Portal p : portals) {
            if (!p.open() && !p.nodePort()) {
                out.line("-A " + SERVICES + " -d " + p.ip().hostCidr() + " -p " + proto(p) + " -m comment --comment \""
                        + p.name() + " has no endpoints\" -m " + proto(p) + " --dport " + p.port() + " -j REJECT", p.name());
            }
        }
        out.line("COMMIT", null);
        return new Rendered(out.text.toString(), Collections.unmodifiableList(out.owners));
    }

    private static String match(Portal p) {
        return (p.nodePort() ? "" : "-d " + p.ip().hostCidr() + " ") + "-p " + proto(p) + " -m comment --comment \"" + p.name()
                + "\" -m " + proto(p) + " --dport " + p.port();
    }

    private static String proto(Portal p) {
        return p.name().protocol().name().toLowerCase(Locale.ROOT);
    }

    private static final class Out {
        final StringBuilder text = new StringBuilder();
        final List<ServicePortName> owners = new ArrayList<>();

        void line(String l, ServicePortName owner) {
            text.append(l).append('\n');
            owners.add(owner);
        }
    }
}
