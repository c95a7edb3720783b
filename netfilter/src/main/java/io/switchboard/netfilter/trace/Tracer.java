package io.switchboard.netfilter.trace;

import java.util.List;

/** Something that follows a new connection through a node's live rules: iptables or nftables. */
public interface Tracer {
    /** Every path the packet can take, in rule order. */
    List<PacketTracer.Path> explain(PacketTracer.Packet p);
}
