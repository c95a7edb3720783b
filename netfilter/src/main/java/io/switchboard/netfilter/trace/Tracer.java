package io.switchboard.netfilter.trace;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** Something that follows a new connection through a node's live rules: iptables or nftables. */
public interface Tracer {
    /** Every path the packet can take, in rule order. */
    List<PacketTracer.Path> explain(PacketTracer.Packet p);

    /** Every outcome the packet can have, sorted. */
    default Set<PacketTracer.Outcome> trace(PacketTracer.Packet p) {
        Set<PacketTracer.Outcome> out = new TreeSet<>();
        for (PacketTracer.Path path : explain(p)) {
            out.add(path.outcome());
        }
        return out;
    }
}
