package io.switchboard.backend.iptables;

import java.util.List;

/**
 * A jump from a built-in chain into one of ours.
 *
 * @param table  filter or nat
 * @param from   the built-in chain
 * @param args   the rule's match arguments and target (without {@code -A chain})
 */
public record JumpRule(String table, String from, List<String> args) {
    public JumpRule {
        args = List.copyOf(args);
    }

    /** kube-proxy's jumps, in the order it prepends them (so the last listed ends up first). */
    public static final List<JumpRule> ALL = List.of(
            jump("filter", "INPUT", "KUBE-EXTERNAL-SERVICES", true, "kubernetes externally-visible service portals"),
            jump("filter", "FORWARD", "KUBE-EXTERNAL-SERVICES", true, "kubernetes externally-visible service portals"),
            jump("filter", "INPUT", "KUBE-NODEPORTS", false, "kubernetes health check service ports"),
            jump("filter", "FORWARD", "KUBE-SERVICES", true, "kubernetes service portals"),
            jump("filter", "OUTPUT", "KUBE-SERVICES", true, "kubernetes service portals"),
            jump("filter", "FORWARD", "KUBE-FORWARD", false, "kubernetes forwarding rules"),
            jump("nat", "OUTPUT", "KUBE-SERVICES", false, "kubernetes service portals"),
            jump("nat", "PREROUTING", "KUBE-SERVICES", false, "kubernetes service portals"),
            jump("nat", "POSTROUTING", "KUBE-POSTROUTING", false, "kubernetes postrouting rules"),
            jump("filter", "INPUT", "KUBE-PROXY-FIREWALL", true, "kubernetes load balancer firewall"),
            jump("filter", "OUTPUT", "KUBE-PROXY-FIREWALL", true, "kubernetes load balancer firewall"),
            jump("filter", "FORWARD", "KUBE-PROXY-FIREWALL", true, "kubernetes load balancer firewall"));

    /** The localnet firewall jumps (IPv4 with localhost NodePorts). */
    public static final List<JumpRule> LOCALNET = List.of(
            new JumpRule("filter", "INPUT", List.of("-j", "KUBE-FIREWALL")),
            new JumpRule("filter", "OUTPUT", List.of("-j", "KUBE-FIREWALL")));

    private static JumpRule jump(String table, String from, String to, boolean newOnly, String comment) {
        List<String> args = newOnly
                ? List.of("-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "\"" + comment + "\"", "-j", to)
                : List.of("-m", "comment", "--comment", "\"" + comment + "\"", "-j", to);
        return new JumpRule(table, from, args);
    }

    public String target() {
        return args.get(args.size() - 1);
    }
}
