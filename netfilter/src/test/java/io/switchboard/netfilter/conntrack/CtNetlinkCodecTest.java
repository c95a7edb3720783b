package io.switchboard.netfilter.conntrack;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.netlink.MessageBuilder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/** ctnetlink messages on byte fixtures: the delete request, and a dumped entry parsed back. */
class CtNetlinkCodecTest {
    private static final Flow FLOW = new Flow(Flow.UDP, IpAddress.parse("10.0.0.2"), IpAddress.parse("10.96.0.10"), 40000, 53,
            IpAddress.parse("10.244.0.5"), 5353);

    @Test
    void theDeleteRequestNamesTheOriginalTuple() {
        Assumptions.assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "fixtures are little-endian");
        byte[] msg = NetlinkConntrack.deleteMessage(IpFamily.IPV4, FLOW, 9);
        assertThat(HexFormat.of().formatHex(msg)).isEqualTo(
                "48000000" + "0201" + "0500" + "09000000" + "00000000"   // IPCTNL_MSG_CT_DELETE, REQUEST|ACK, seq 9
                        + "02000000"                                      // AF_INET
                        + "34000180"                                      // CTA_TUPLE_ORIG
                        + "14000180" + "080001000a000002" + "080002000a60000a"  // CTA_TUPLE_IP: src, dst
                        + "1c000280" + "0500010011000000" + "060002009c400000" + "0600030000350000"); // proto, ports
    }

    @Test
    void aDumpedEntryParsesIntoItsFlow() {
        // the attributes of a dumped entry: both tuples, then another attribute parsing skips
        byte[] orig = new MessageBuilder().message(0, 0, 0).begin(1)
                .begin(1).attr(1, IpAddress.parse("10.0.0.2").bytes()).attr(2, IpAddress.parse("10.96.0.10").bytes()).end()
                .begin(2).attrU8(1, 17).attrU16(2, 40000).attrU16(3, 53).end()
                .end()
                .begin(2)
                .begin(1).attr(1, IpAddress.parse("10.244.0.5").bytes()).attr(2, IpAddress.parse("10.0.0.2").bytes()).end()
                .begin(2).attrU8(1, 17).attrU16(2, 5353).attrU16(3, 40000).end()
                .end()
                .attrU32(3, 0x8)
                .toBytes();
        ByteBuffer bb = ByteBuffer.wrap(orig).order(ByteOrder.nativeOrder());
        assertThat(NetlinkConntrack.parseFlow(bb, 16, orig.length, IpFamily.IPV4)).isEqualTo(FLOW);
        // without a reply tuple there is no flow
        assertThat(NetlinkConntrack.parseFlow(bb, 16, 16 + 4 + 0x30, IpFamily.IPV4)).isNull();
    }
}
