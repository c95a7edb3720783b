package io.switchboard.backend.iptables;

import io.switchboard.core.model.Cidr;
import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.core.model.ServicePort;
import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.sync.ProxySnapshot;
import io.switchboard.core.topology.EndpointSelection;
import io.switchboard.core.topology.Routing;
import io.switchboard.netfilter.ChainNames;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Pure renderer: snapshot + settings → {@code iptables-restore} input in kube-proxy's layout and
 * chain names. Top-level chains are always rewritten; per-service chains only for services the
 * snapshot marks as changed (or all of them on a full sync); chains no longer used are flushed and
 * deleted. Deterministic: services and endpoints are iterated in sorted order.
 */
public final class IptablesRenderer {
    private IptablesRenderer() {
    }

    /** Line buffer that counts rules; tokens are joined with spaces. */
    static final class Lines {
        final StringBuilder sb;
        final boolean countOnly;
        int rules;

        Lines() {
            this(false);
        }

        /** @param countOnly only count rules (services this sync does not write) */
        Lines(boolean countOnly) {
            this.countOnly = countOnly;
            this.sb = new StringBuilder(countOnly ? 0 : 512);
        }

        void chain(String name) {
            if (!countOnly) {
                sb.append(':').append(name).append(" - [0:0]\n");
            }
        }

        void rule(List<String> tokens) {
            if (countOnly) {
                rules++;
                return;
            }
            for (int i = 0; i < tokens.size(); i++) {
                if (i > 0) {
                    sb.append(' ');
                }
                sb.append(tokens.get(i));
            }
            sb.append('\n');
            rules++;
        }

        void raw(String line) {
            sb.append(line).append('\n');
        }
    }

    /** A rule under construction. */
    static final class Rule {
        final List<String> t = new ArrayList<>(24);

        Rule(String op, String chain) {
            t.add(op);
            t.add(chain);
        }

        Rule add(String... tokens) {
            for (String s : tokens) {
                t.add(s);
            }
            return this;
        }

        Rule add(List<String> tokens) {
            t.addAll(tokens);
            return this;
        }

        Rule comment(String text) {
            return add("-m", "comment", "--comment", quote(text));
        }
    }

    static String quote(String comment) {
        return comment.indexOf(' ') >= 0 ? "\"" + comment + "\"" : comment;
    }

    /** What one service contributed to a render, reused while the service does not change. */
    record ServiceMemo(List<String[]> filterTop, List<String[]> natTop, Set<String> chains, int ruleCount,
                       int noLocalInternal, int noLocalExternal) {
    }

    public static RestoreInput render(ProxySnapshot snapshot, RenderSettings s) {
        return render(snapshot, s, Map.of());
    }

    /**
     * Renders, reusing for services the snapshot does not mark as changed what the previous render
     * recorded for them ({@link RestoreInput#memo()}); pass an empty map to compute everything.
     */
    public static RestoreInput render(ProxySnapshot snapshot, RenderSettings s, Map<ServicePortName, ServiceMemo> memoIn) {
        Map<ServicePortName, ServiceMemo> memoOut = new java.util.HashMap<>();
        Top filterRules = new Top();
        Top natRules = new Top();
        List<RestoreInput.Block> blocks = new ArrayList<>();
        int skippedRuleCount = 0;
        String mark = s.mark();
        String markMask = mark + "/" + mark;
        int totalEndpoints = 0;
        for (EndpointSelection sel : snapshot.selections(s.family()).values()) {
            totalEndpoints += sel.allReachable().size();
        }
        boolean large = totalEndpoints > s.largeClusterThreshold();
        boolean localnet = s.localhostNodePorts() && s.family() == IpFamily.IPV4
                && s.nodePortAllAddresses();

        for (String c : List.of(ChainNames.KUBE_NODEPORTS, ChainNames.KUBE_SERVICES, ChainNames.KUBE_EXTERNAL_SERVICES,
                ChainNames.KUBE_FORWARD, ChainNames.KUBE_PROXY_FIREWALL)) {
            filterRules.declare(c);
        }
        if (localnet) {
            filterRules.declare(ChainNames.KUBE_FIREWALL);
            filterRules.rule(new Rule("-A", ChainNames.KUBE_FIREWALL).comment("block incoming localnet connections")
                    .add("-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate",
                            "RELATED,ESTABLISHED,DNAT", "-j", "DROP").t);
        }
        for (String c : List.of(ChainNames.KUBE_SERVICES, ChainNames.KUBE_NODEPORTS, ChainNames.KUBE_POSTROUTING,
                ChainNames.KUBE_MARK_MASQ)) {
            natRules.declare(c);
        }
        filterRules.rule(new Rule("-A", ChainNames.KUBE_FORWARD).add("-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP").t);
        filterRules.rule(new Rule("-A", ChainNames.KUBE_FORWARD).comment("kubernetes forwarding rules")
                .add("-m", "mark", "--mark", markMask, "-j", "ACCEPT").t);
        filterRules.rule(new Rule("-A", ChainNames.KUBE_FORWARD).comment("kubernetes forwarding conntrack rule")
                .add("-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT").t);
        natRules.rule(new Rule("-A", ChainNames.KUBE_POSTROUTING).add("-m", "mark", "!", "--mark", markMask, "-j", "RETURN").t);
        natRules.rule(new Rule("-A", ChainNames.KUBE_POSTROUTING).add("-j", "MARK", "--xor-mark", mark).t);
        natRules.rule(new Rule("-A", ChainNames.KUBE_POSTROUTING).comment("kubernetes service traffic requiring SNAT")
                .add("-j", "MASQUERADE", "--random-fully").t);
        natRules.rule(new Rule("-A", ChainNames.KUBE_MARK_MASQ).add("-j", "MARK", "--or-mark", mark).t);

        int noLocalInternal = 0;
        int noLocalExternal = 0;
        LocalDetector local = s.localDetector();
        for (Map.Entry<ServicePortName, EndpointSelection> e : snapshot.selections(s.family()).entrySet()) {
            ServicePortName spn = e.getKey();
            boolean write = snapshot.mustWrite(spn.service());
            ServiceMemo memo = write ? null : memoIn.get(spn);
            if (memo != null) {
                filterRules.replay(memo.filterTop());
                natRules.replay(memo.natTop());
                skippedRuleCount += memo.ruleCount();
                noLocalInternal += memo.noLocalInternal();
                noLocalExternal += memo.noLocalExternal();
                memoOut.put(spn, memo);
                continue;
            }
            filterRules.record();
            natRules.record();
            Set<String> serviceChains = new HashSet<>();
            int noLocalInternalBefore = noLocalInternal;
            int noLocalExternalBefore = noLocalExternal;
            ServicePort svc = snapshot.services().get(spn);
            EndpointSelection sel = e.getValue();
            String name = spn.toString();
            String proto = spn.protocol().lower();
            String port = Integer.toString(svc.port());
            String vip = svc.clusterIp(s.family()).orElseThrow().toString();
            List<IpAddress> externalIps = svc.externalIps(s.family());
            List<IpAddress> lbIps = svc.loadBalancerIps(s.family());
            List<Cidr> sourceRanges = svc.loadBalancerSourceRanges(s.family());

            String svcChain = ChainNames.service(spn);
            String svlChain = ChainNames.serviceLocal(spn);
            String extChain = ChainNames.external(spn);
            String fwChain = ChainNames.firewall(spn);

            Routing routing = Routing.of(svc, sel);
            boolean hasEndpoints = routing.hasEndpoints();
            boolean usesCluster = routing.usesCluster();
            boolean usesLocal = routing.usesLocal();
            String internalChain = svc.internalPolicyLocal() ? svlChain : svcChain;
            boolean hasInternal = routing.hasInternal();
            String externalPolicyChain = svc.externalPolicyLocal() ? svlChain : svcChain;
            boolean hasExternal = routing.hasExternal();
            boolean usesExt = routing.usesExternal();
            boolean usesFw = hasEndpoints && !lbIps.isEmpty() && !sourceRanges.isEmpty();
            String lbChain = usesFw ? fwChain : extChain;

            String internalFilterTarget;
            String internalFilterComment;
            String externalFilterTarget;
            String externalFilterComment;
            if (!hasEndpoints) {
                internalFilterTarget = "REJECT";
                internalFilterComment = name + " has no endpoints";
                externalFilterTarget = "REJECT";
                externalFilterComment = internalFilterComment;
            } else {
                internalFilterTarget = "DROP";
                internalFilterComment = name + " has no local endpoints";
                externalFilterTarget = "DROP";
                externalFilterComment = internalFilterComment;
                if (!hasInternal) {
                    noLocalInternal++;
                }
                if (!hasExternal) {
                    noLocalExternal++;
                }
            }

            // per-service chains go to the real buffers only if this service must be written
            Lines chains = new Lines(!write);
            Lines rules = new Lines(!write);

            if (usesExt) {
                chains.chain(extChain);
                serviceChains.add(extChain);
                if (!svc.externalPolicyLocal()) {
                    rules.rule(new Rule("-A", extChain).comment("masquerade traffic for " + name + " external destinations")
                            .add("-j", ChainNames.KUBE_MARK_MASQ).t);
                } else {
                    if (local.implemented()) {
                        rules.rule(new Rule("-A", extChain).comment("pod traffic for " + name + " external destinations")
                                .add(local.ifLocal()).add("-j", svcChain).t);
                    }
                    rules.rule(new Rule("-A", extChain).comment("masquerade LOCAL traffic for " + name + " external destinations")
                            .add("-m", "addrtype", "--src-type", "LOCAL", "-j", ChainNames.KUBE_MARK_MASQ).t);
                    rules.rule(new Rule("-A", extChain).comment("route LOCAL traffic for " + name + " external destinations")
                            .add("-m", "addrtype", "--src-type", "LOCAL", "-j", svcChain).t);
                }
                if (hasExternal) {
                    rules.rule(new Rule("-A", extChain).add("-j", externalPolicyChain).t);
                }
            }

            if (hasInternal) {
                natRules.rule(new Rule("-A", ChainNames.KUBE_SERVICES).comment(name + " cluster IP")
                        .add("-m", proto, "-p", proto, "-d", vip, "--dport", port, "-j", internalChain).t);
            } else {
                filterRules.rule(new Rule("-A", ChainNames.KUBE_SERVICES).comment(internalFilterComment)
                        .add("-m", proto, "-p", proto, "-d", vip, "--dport", port, "-j", internalFilterTarget).t);
            }
            for (IpAddress ip : externalIps) {
                if (hasEndpoints) {
                    natRules.rule(new Rule("-A", ChainNames.KUBE_SERVICES).comment(name + " external IP")
                            .add("-m", proto, "-p", proto, "-d", ip.toString(), "--dport", port, "-j", extChain).t);
                }
                if (!hasExternal) {
                    filterRules.rule(new Rule("-A", ChainNames.KUBE_EXTERNAL_SERVICES).comment(externalFilterComment)
                            .add("-m", proto, "-p", proto, "-d", ip.toString(), "--dport", port, "-j", externalFilterTarget).t);
                }
            }
            for (IpAddress ip : lbIps) {
                if (hasEndpoints) {
                    natRules.rule(new Rule("-A", ChainNames.KUBE_SERVICES).comment(name + " loadbalancer IP")
                            .add("-m", proto, "-p", proto, "-d", ip.toString(), "--dport", port, "-j", lbChain).t);
                }
                if (usesFw) {
                    filterRules.rule(new Rule("-A", ChainNames.KUBE_PROXY_FIREWALL)
                            .comment(name + " traffic not accepted by " + fwChain)
                            .add("-m", proto, "-p", proto, "-d", ip.toString(), "--dport", port, "-j", "DROP").t);
                }
            }
            if (!hasExternal) {
                for (IpAddress ip : lbIps) {
                    filterRules.rule(new Rule("-A", ChainNames.KUBE_EXTERNAL_SERVICES).comment(externalFilterComment)
                            .add("-m", proto, "-p", proto, "-d", ip.toString(), "--dport", port, "-j", externalFilterTarget).t);
                }
            }
            if (svc.nodePort() != 0) {
                String np = Integer.toString(svc.nodePort());
                if (hasEndpoints) {
                    natRules.rule(new Rule("-A", ChainNames.KUBE_NODEPORTS).comment(name)
                            .add("-m", proto, "-p", proto, "--dport", np, "-j", extChain).t);
                }
                if (!hasExternal) {
                    filterRules.rule(new Rule("-A", ChainNames.KUBE_EXTERNAL_SERVICES).comment(externalFilterComment)
                            .add("-m", "addrtype", "--dst-type", "LOCAL", "-m", proto, "-p", proto, "--dport", np,
                                    "-j", externalFilterTarget).t);
                }
            }
            if (svc.healthCheckNodePort() != 0) {
                filterRules.rule(new Rule("-A", ChainNames.KUBE_NODEPORTS).comment(name + " health check node port")
                        .add("-m", "tcp", "-p", "tcp", "--dport", Integer.toString(svc.healthCheckNodePort()), "-j", "ACCEPT").t);
            }

            if (usesFw) {
                chains.chain(fwChain);
                serviceChains.add(fwChain);
                boolean allowFromNode = false;
                for (Cidr c : sourceRanges) {
                    rules.rule(new Rule("-A", fwChain).comment(name + " loadbalancer IP").add("-s", c.toString(), "-j", extChain).t);
                    for (IpAddress nodeIp : s.nodeIps()) {
                        allowFromNode |= c.contains(nodeIp);
                    }
                }
                if (allowFromNode) {
                    for (IpAddress ip : lbIps) {
                        rules.rule(new Rule("-A", fwChain).comment(name + " loadbalancer IP").add("-s", ip.toString(), "-j", extChain).t);
                    }
                }
                rules.rule(new Rule("-A", fwChain).comment("other traffic to " + name + " will be dropped by KUBE-PROXY-FIREWALL").t);
            }

            for (String policyChain : List.of(svcChain, svlChain)) {
                boolean cluster = policyChain.equals(svcChain);
                if (cluster ? !usesCluster : !usesLocal) {
                    continue;
                }
                chains.chain(policyChain);
                serviceChains.add(policyChain);
                if (internalChain.equals(policyChain)) {
                    masqueradeRule(rules, policyChain, name, proto, vip, port, s, local);
                }
                endpointJumps(rules, policyChain, spn, svc, cluster ? sel.clusterEndpoints() : sel.localEndpoints(), large,
                        s.family());
            }
            for (Endpoint ep : sel.allReachable()) {
                String sep = ChainNames.endpoint(spn, ep);
                chains.chain(sep);
                serviceChains.add(sep);
                Rule hairpin = new Rule("-A", sep);
                Rule dnat = new Rule("-A", sep);
                if (!large) {
                    hairpin.comment(name);
                    dnat.comment(name);
                }
                rules.rule(hairpin.add("-s", ep.ip().toString(), "-j", ChainNames.KUBE_MARK_MASQ).t);
                if (svc.sessionAffinity().clientIp()) {
                    dnat.add("-m", "recent", "--name", sep, "--set");
                }
                rules.rule(dnat.add("-m", proto, "-p", proto, "-j", "DNAT", "--to-destination", ep.address()).t);
            }
            if (write) {
                blocks.add(new RestoreInput.Block(chains.sb.toString(), rules.sb.toString(), rules.rules));
            } else {
                skippedRuleCount += rules.rules;
            }
            memoOut.put(spn, new ServiceMemo(filterRules.stopRecording(), natRules.stopRecording(), Set.copyOf(serviceChains),
                    rules.rules, noLocalInternal - noLocalInternalBefore, noLocalExternal - noLocalExternalBefore));
        }

        // NodePorts: the last rule of KUBE-SERVICES
        String npComment = "kubernetes service nodeports; NOTE: this must be the last rule in this chain";
        if (s.nodePortAllAddresses()) {
            Rule r = new Rule("-A", ChainNames.KUBE_SERVICES).comment(npComment).add("-m", "addrtype", "--dst-type", "LOCAL");
            if (s.family() == IpFamily.IPV6) {
                r.add("!", "-d", "::1/128");
            } else if (!s.localhostNodePorts()) {
                r.add("!", "-d", "127.0.0.0/8");
            }
            natRules.rule(r.add("-j", ChainNames.KUBE_NODEPORTS).t);
        } else {
            for (IpAddress ip : s.nodePortIps()) {
                if (ip.isLoopback() && (s.family() == IpFamily.IPV6 || !s.localhostNodePorts())) {
                    continue;
                }
                natRules.rule(new Rule("-A", ChainNames.KUBE_SERVICES).comment(npComment)
                        .add("-d", ip.toString(), "-j", ChainNames.KUBE_NODEPORTS).t);
            }
        }

        // stale per-service chains: flush (declare) and delete. With a memo (partial syncs) only the
        // services that were recomputed or removed can leave chains behind; otherwise compare the chains
        // known to exist with every chain in use.
        TreeSet<String> stale = new TreeSet<>();
        if (!memoIn.isEmpty()) {
            for (Map.Entry<ServicePortName, ServiceMemo> old : memoIn.entrySet()) {
                ServiceMemo now = memoOut.get(old.getKey());
                if (now == old.getValue()) {
                    continue;
                }
                for (String c : old.getValue().chains()) {
                    if (now == null || !now.chains().contains(c)) {
                        stale.add(c);
                    }
                }
            }
        } else if (!s.existingNatChains().isEmpty()) {
            Set<String> active = new HashSet<>();
            memoOut.values().forEach(m -> active.addAll(m.chains()));
            for (String c : s.existingNatChains()) {
                if (ChainNames.isServiceChain(c) && !active.contains(c)) {
                    stale.add(c);
                }
            }
        }
        int blockRules = 0;
        for (RestoreInput.Block b : blocks) {
            blockRules += b.ruleCount();
        }
        return new RestoreInput(snapshot.fullSync(), s.missingJumps(), filterRules.chains, natRules.chains, blocks,
                List.copyOf(stale), s.deleteStale(), filterRules.count, natRules.count + blockRules + skippedRuleCount,
                filterRules.count, natRules.count + blockRules, noLocalInternal, noLocalExternal, memoOut);
    }

    /** Top-level chains: rule text per chain, in declaration order. */
    static final class Top {
        final Map<String, StringBuilder> chains = new java.util.LinkedHashMap<>();
        int count;
        private List<String[]> recording;

        void declare(String chain) {
            chains.put(chain, new StringBuilder());
        }

        void rule(List<String> tokens) {
            String line = String.join(" ", tokens) + "\n";
            chains.get(tokens.get(1)).append(line);
            count++;
            if (recording != null) {
                recording.add(new String[]{tokens.get(1), line});
            }
        }

        void record() {
            recording = new ArrayList<>(4);
        }

        List<String[]> stopRecording() {
            List<String[]> out = recording;
            recording = null;
            return List.copyOf(out);
        }

        void replay(List<String[]> lines) {
            for (String[] l : lines) {
                chains.get(l[0]).append(l[1]);
                count++;
            }
        }
    }

    private static void masqueradeRule(Lines rules, String chain, String name, String proto, String vip, String port,
                                       RenderSettings s, LocalDetector local) {
        if (!s.masqueradeAll() && !local.implemented()) {
            return;
        }
        Rule r = new Rule("-A", chain).comment(name + " cluster IP").add("-m", proto, "-p", proto, "-d", vip, "--dport", port);
        if (!s.masqueradeAll()) {
            r.add(local.ifNotLocal());
        }
        rules.rule(r.add("-j", ChainNames.KUBE_MARK_MASQ).t);
    }

    private static void endpointJumps(Lines rules, String chain, ServicePortName spn, ServicePort svc,
                                      List<Endpoint> endpoints, boolean large, IpFamily family) {
        String name = spn.toString();
        if (svc.sessionAffinity().clientIp()) {
            // the mask of the family being rendered: a dual-stack service's first cluster IP may be of the other one
            String mask = family == IpFamily.IPV4 ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
            for (Endpoint ep : endpoints) {
                String sep = ChainNames.endpoint(spn, ep);
                Rule r = new Rule("-A", chain);
                if (!large) {
                    r.comment(name + " -> " + ep.address());
                }
                rules.rule(r.add("-m", "recent", "--name", sep, "--mask", mask, "--rsource", "--rcheck", "--seconds",
                        Integer.toString(svc.sessionAffinity().timeoutSeconds()), "--reap", "-j", sep).t);
            }
        }
        int n = endpoints.size();
        for (int i = 0; i < n; i++) {
            Endpoint ep = endpoints.get(i);
            Rule r = new Rule("-A", chain);
            if (!large) {
                r.comment(name + " -> " + ep.address());
            }
            if (i < n - 1) {
                r.add("-m", "statistic", "--mode", "random", "--probability", probability(n - i));
            }
            rules.rule(r.add("-j", ChainNames.endpoint(spn, ep)).t);
        }
    }

    private static final String[] PROBABILITIES = new String[1024];

    static {
        for (int n = 1; n < PROBABILITIES.length; n++) {
            PROBABILITIES[n] = String.format(Locale.ROOT, "%.10f", 1.0 / n);
        }
    }

    /** 1/n with 10 decimals, as kube-proxy prints it. */
    static String probability(int n) {
        return n < PROBABILITIES.length ? PROBABILITIES[n] : String.format(Locale.ROOT, "%.10f", 1.0 / n);
    }
}
