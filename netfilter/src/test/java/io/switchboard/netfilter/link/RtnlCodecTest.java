package io.switchboard.netfilter.link;

import io.switchboard.core.model.IpAddress;
import io.switchboard.netfilter.netlink.MessageBuilder;
import io.switchboard.netfilter.netlink.Replies;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** rtnetlink link and address messages on byte fixtures (little-endian host). */
class RtnlCodecTest {
    private static final HexFormat HEX = HexFormat.of();

    @BeforeEach
    void littleEndian() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "fixtures are little-endian");
    }

    @Test
    void aDummyLinkIsCreatedByNameAndKind() {
        assertThat(HEX.formatHex(RtnlCodec.newDummy("kube-ipvs0", 4))).isEqualTo(""
                // length 64, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 4
                + "40000000" + "1000" + "0506" + "04000000" + "00000000"
                + "00".repeat(16)                                   // ifinfomsg
                + "0f000300" + "6b7562652d697076733000" + "00"     // IFLA_IFNAME
                + "10001280" + "0a000100" + "64756d6d7900" + "0000"); // IFLA_LINKINFO { kind "dummy" }
    }

    @Test
    void aHostAddressIsBoundAsLocalAndAddress() {
        assertThat(HEX.formatHex(RtnlCodec.address(true, 7, IpAddress.parse("10.96.0.10"), 2))).isEqualTo(""
                + "28000000" + "1400" + "0506" + "02000000" + "00000000"
                + "02" + "20" + "00" + "00" + "07000000"             // AF_INET, /32, index 7
                + "08000200" + "0a60000a" + "08000100" + "0a60000a");
        String v6 = HEX.formatHex(RtnlCodec.address(false, 7, IpAddress.parse("fd00::a"), 3));
        // RTM_DELADDR without CREATE, AF_INET6 /128, no duplicate address detection
        assertThat(v6.substring(8, 16)).isEqualTo("15000500");
        assertThat(v6.substring(32, 48)).isEqualTo("0a800200" + "07000000");
    }

    @Test
    void repliesParseToLinksAndAddresses() {
        byte[] link = new MessageBuilder().message(16, 0, 1).raw(MessageBuilder.host32Block(0, 9, 0, 0))
                .attrString(3, "kube-ipvs0").toBytes();
        assertThat(RtnlCodec.parseLink(Replies.parse(link, link.length).get(0))).isEqualTo(new RtnlCodec.Link(9, "kube-ipvs0"));
        byte[] addr = new MessageBuilder().message(20, 2, 1).raw(new byte[]{10, (byte) 128, 0, 0, 9, 0, 0, 0})
                .attr(1, IpAddress.parse("fd00::a").bytes()).toBytes();
        assertThat(RtnlCodec.parseAddress(Replies.parse(addr, addr.length).get(0)))
                .isEqualTo(new RtnlCodec.Address(9, IpAddress.parse("fd00::a"), 128));
        // another message type is not an address
        assertThat(RtnlCodec.parseAddress(Replies.parse(link, link.length).get(0))).isNull();
    }
}
