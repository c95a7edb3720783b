package io.switchboard.netfilter.conntrack;

import io.switchboard.core.model.IpAddress;

/**
 * One conntrack entry, as far as cleanup cares: the original tuple and the reply source (after
 * DNAT, the endpoint that answers).
 */
public record Flow(int protocol, IpAddress origSrc, IpAddress origDst, int origSport, int origDport,
                   IpAddress replySrc, int replySport) {
    public static final int TCP = 6;
    public static final int UDP = 17;
    public static final int SCTP = 132;

    @Override
    public String toString() {
        return (protocol == UDP ? "udp" : protocol == TCP ? "tcp" : "proto" + protocol) + " " + origSrc.withPort(origSport)
                + " -> " + origDst.withPort(origDport) + " (reply from " + replySrc.withPort(replySport) + ")";
    }
}
