package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import io.switchboard.netfilter.netlink.MessageBuilder;
import io.switchboard.netfilter.netlink.Replies;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The IPVS generic netlink codec on byte fixtures laid out from {@code ip_vs.h} (little-endian
 * host). The same messages are checked against a real kernel and {@code ipvsadm} in the guest
 * ({@link IpvsKernelTest}).
 */
class IpvsCodecTest {
    private static final HexFormat HEX = HexFormat.of();
    private final IpvsCodec codec = new IpvsCodec(0x24);

    @BeforeEach
    void littleEndian() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "fixtures are little-endian");
    }

    @Test
    void aNewServiceCarriesItsKeySchedulerFlagsTimeoutAndNetmask() {
        VirtualServer vs = new VirtualServer(IpAddress.parse("10.96.0.10"), VirtualServer.TCP, 80, "rr", true, 10800);
        byte[] m = codec.newService(vs, 9);
        String expected = ""
                // nlmsghdr: length 104, type 0x24 (the family), flags REQUEST|ACK, seq 9, pid 0
                + "68000000" + "2400" + "0500" + "09000000" + "00000000"
                // genlmsghdr: IPVS_CMD_NEW_SERVICE, version 1
                + "01010000"
                // IPVS_CMD_ATTR_SERVICE, nested, 84 bytes
                + "54000180"
                + "06000100" + "0200" + "0000"          // AF_INET (u16, host order)
                + "06000200" + "0600" + "0000"          // protocol 6
                + "14000300" + "0a60000a" + "00".repeat(12) // address, union nf_inet_addr
                + "06000400" + "0050" + "0000"          // port 80, big-endian
                + "07000600" + "727200" + "00"          // scheduler "rr"
                + "0c000700" + "01000000" + "ffffffff"  // flags: persistent, mask all
                + "08000800" + "302a0000"               // timeout 10800
                + "08000900" + "ffffffff";              // netmask
        assertThat(HEX.formatHex(m)).isEqualTo(expected);
    }

    @Test
    void theFaultInjectionNamesAnUnknownFamilyInServiceAndDestinationOperationsAndChangesNothingElse() {
        VirtualServer vs = new VirtualServer(IpAddress.parse("fd00:10:96::66"), VirtualServer.TCP, 80, "rr", false, 0);
        RealServer rs = new RealServer(IpAddress.parse("fd00:10:1::5"), 8080, 1);
        for (byte[] m : List.of(codec.newService(vs, 3), codec.newDestination(vs.key(), rs, 4), codec.deleteService(vs.key(), 5))) {
            String before = HEX.formatHex(m);
            String after = HEX.formatHex(IpvsCodec.withUnknownFamily(m));
            // the service's first attribute: IPVS_SVC_ATTR_AF, AF_INET6 (10) before, 65535 after
            assertThat(before.substring(48, 56)).isEqualTo("06000100" );
            assertThat(before.substring(56, 60)).isEqualTo("0a00");
            assertThat(after).isEqualTo(before.substring(0, 56) + "ffff" + before.substring(60));
        }
        // what the fault file's patterns are matched against (the conformance suite's pattern for ns/bad)
        assertThat(NetlinkIpvs.faultText(new IpvsOp.AddService(vs))).isEqualTo("AddService TCP [fd00:10:96::66]:80")
                .matches("^AddService TCP \\[" + java.util.regex.Pattern.quote("fd00:10:96::66") + "\\]:80$");
        assertThat(NetlinkIpvs.faultText(new IpvsOp.AddDestination(vs.key(), rs))).isEqualTo("AddDestination TCP [fd00:10:96::66]:80");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> IpvsCodec.withUnknownFamily(new byte[20])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not an IPVS service or destination operation");
    }

    @Test
    void anIpv6ServicesNetmaskIsAPrefixLengthInHostOrder() {
        VirtualServer vs = new VirtualServer(IpAddress.parse("fd00::1"), VirtualServer.UDP, 53, "wrr", false, 0);
        String hex = HEX.formatHex(codec.newService(vs, 1));
        assertThat(hex).contains("06000100" + "0a00")          // AF_INET6
                .contains("14000300" + "fd000000000000000000000000000001")
                .contains("06000400" + "0035")
                .endsWith("08000900" + "80000000");
    }

    @Test
    void aRealServerIsMasqueradedWithItsWeight() {
        VirtualServer.Key k = new VirtualServer.Key(IpAddress.parse("10.96.0.10"), VirtualServer.TCP, 80);
        String hex = HEX.formatHex(codec.newDestination(k, new RealServer(IpAddress.parse("10.244.1.5"), 8080, 1), 3));
        // genlmsghdr NEW_DEST, then the service key, then IPVS_CMD_ATTR_DEST
        assertThat(hex.substring(32, 40)).isEqualTo("05010000");
        // the service key: 48 bytes nested (AF, protocol, address, port)
        assertThat(hex.substring(40, 48)).isEqualTo("30000180");
        assertThat(hex.substring(136)).isEqualTo("48000280"
                + "14000100" + "0af40105" + "00".repeat(12)
                + "06000200" + "1f90" + "0000"           // port 8080
                + "08000300" + "00000000"                // IP_VS_CONN_F_MASQ
                + "08000400" + "01000000"                // weight 1
                + "08000500" + "00000000" + "08000600" + "00000000" // thresholds
                + "06000b00" + "0200" + "0000");          // address family
    }

    @Test
    void dumpRepliesParseBackToServicesAndRealServers() {
        VirtualServer vs = new VirtualServer(IpAddress.parse("10.96.0.53"), VirtualServer.UDP, 53, "sh", true, 600);
        RealServer rs = new RealServer(IpAddress.parse("10.244.2.7"), 5353, 3);
        // a reply has the request's shape (the kernel adds flags such as HASHED and stats)
        byte[] svc = codec.newService(vs, 1);
        byte[] dst = codec.newDestination(vs.key(), rs, 2);
        List<Replies.Message> s = Replies.parse(svc, svc.length);
        List<Replies.Message> d = Replies.parse(dst, dst.length);
        assertThat(IpvsCodec.parseService(s.get(0))).isEqualTo(vs);
        assertThat(IpvsCodec.parseDestination(d.get(0), IpFamily.IPV4)).isEqualTo(rs);
    }

    @Test
    void theKernelsHashedFlagAndStatsDoNotDisturbParsing() {
        // a dump message as the kernel writes it: flags with IP_VS_SVC_F_HASHED (0x2), stats nested
        MessageBuilder b = new MessageBuilder().genlMessage(0x24, 2, 5, 1, 1).begin(1)
                .attrHostU16(1, 2).attrHostU16(2, 6).attr(3, HEX.parseHex("0a600001" + "00".repeat(12))).attrU16(4, 443)
                .attrString(6, "rr").attr(7, MessageBuilder.host32Block(0x2, 0xffffffff)).attrHostU32(8, 0).attrU32(9, -1)
                .begin(10).attrHostU32(1, 42).end().end();
        byte[] bytes = b.toBytes();
        assertThat(IpvsCodec.parseService(Replies.parse(bytes, bytes.length).get(0)))
                .isEqualTo(new VirtualServer(IpAddress.parse("10.96.0.1"), VirtualServer.TCP, 443, "rr", false, 0));
    }

    @Test
    void theVersionIsDecodedFromGetInfo() {
        byte[] bytes = new MessageBuilder().genlMessage(0x24, 0, 1, 14, 1).attrHostU32(1, 0x010201).attrHostU32(2, 4096).toBytes();
        assertThat(IpvsCodec.parseVersion(Replies.parse(bytes, bytes.length).get(0))).isEqualTo("1.2.1");
    }
}
