package io.switchboard.netfilter.netlink;

import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The netlink codec on byte fixtures (little-endian hosts, as this machine and CI are). */
class CodecTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void aNetfilterMessageWithNestedAttributesIsLaidOutAsTheKernelReadsIt() {
        org.junit.jupiter.api.Assumptions.assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "fixtures are little-endian");
        byte[] msg = new MessageBuilder(16)
                .nfMessage(0x0a00, MessageBuilder.NLM_F_REQUEST | MessageBuilder.NLM_F_CREATE, 7, 2, 0)
                .attrString(1, "kube-proxy")
                .attrU32(2, 0)
                .begin(4).attrU32(1, 3).attrU32(2, -110).end()
                .toBytes();
        // nlmsghdr: length 64, type 0x0a00, flags 0x0401, seq 7, pid 0; nfgenmsg: AF_INET, v0, res 0
        assertThat(HEX.formatHex(msg)).isEqualTo("40000000" + "000a" + "0104" + "07000000" + "00000000"
                + "02000000"
                + "0f000100" + "6b7562652d70726f787900" + "00"
                + "08000200" + "00000000"
                + "14000480" + "08000100" + "00000003" + "08000200" + "ffffff92");
        assertThat(msg.length % 4).isZero();
    }

    @Test
    void severalMessagesGoBackToBackAndParseBack() {
        MessageBuilder b = new MessageBuilder(8);
        b.nfMessage(0x10, 1, 100, 0, 10);
        b.nfMessage(0x0a03, 0x401, 101, 2, 0).attrString(3, "chain-a");
        b.nfMessage(0x11, 1, 102, 0, 10);
        byte[] bytes = b.toBytes();
        assertThat(b.messageCount()).isEqualTo(3);
        List<Replies.Message> m = Replies.parse(bytes, bytes.length);
        assertThat(m).extracting(Replies.Message::seq).containsExactly(100, 101, 102);
        assertThat(m.get(0).type()).isEqualTo(0x10);
        // nfgenmsg of a batch begin names the subsystem, big-endian
        assertThat(HEX.formatHex(bytes, 16, 20)).isEqualTo("0000000a");
        assertThat(m.get(1).attributes(4).first(3).string()).isEqualTo("chain-a");
        // a truncated tail is not read
        assertThat(Replies.parse(bytes, bytes.length - 3)).hasSize(2);
    }

    @Test
    void anErrorAnswerCarriesTheErrnoAndTheFailingRequestsSequenceNumber() {
        org.junit.jupiter.api.Assumptions.assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "fixtures are little-endian");
        // NLMSG_ERROR, error -2 (ENOENT), then the request's header (NETLINK_CAP_ACK: header only)
        byte[] err = HEX.parseHex("24000000" + "0200" + "0001" + "05000000" + "00000000"
                + "feffffff"
                + "30000000" + "060a" + "0504" + "2a000000" + "00000000");
        List<Replies.Message> m = Replies.parse(err, err.length);
        assertThat(m).hasSize(1);
        assertThat(m.get(0).isError()).isTrue();
        assertThat(m.get(0).errno()).isEqualTo(Errno.ENOENT);
        assertThat(m.get(0).requestSeq()).isEqualTo(42);
        // an acknowledgement is an error message with errno 0
        byte[] ack = HEX.parseHex("24000000" + "0200" + "0001" + "05000000" + "00000000" + "00000000"
                + "14000000" + "100a" + "0500" + "2b000000" + "00000000");
        assertThat(Replies.parse(ack, ack.length).get(0).errno()).isZero();
        assertThat(new NetlinkException("x", Errno.ENOENT, 42)).hasMessage("x: ENOENT (No such file or directory)");
        assertThat(Errno.describe(12345)).isEqualTo("errno 12345");
    }

    @Test
    void attributesReadNestedValuesAndStopAtAMalformedLength() {
        byte[] msg = new MessageBuilder().message(1, 0, 1)
                .attrU16(1, 8080).attrU8(2, 6).attrU64(3, 10_800_000L)
                .begin(4).attrString(1, "x").attrHostU32(2, 5).end()
                .toBytes();
        Attributes a = Attributes.of(msg, 16, msg.length);
        assertThat(a.all()).extracting(Attributes.Attr::type).containsExactly(1, 2, 3, 4);
        assertThat(a.first(1).u16()).isEqualTo(8080);
        assertThat(a.first(2).u8()).isEqualTo(6);
        assertThat(HEX.formatHex(a.first(3).bytes())).isEqualTo("0000000000a4cb80");
        assertThat(a.first(4).nested()).isTrue();
        assertThat(a.first(4).children().first(1).string()).isEqualTo("x");
        assertThat(a.first(4).children().first(2).bytes()).isEqualTo(MessageBuilder.host32(5));
        assertThat(a.first(9)).isNull();
        // a length pointing past the end ends the walk
        msg[16 + 8 + 8 + 12] = (byte) 0xff;
        assertThat(Attributes.of(msg, 16, msg.length).all()).hasSize(3);
    }

    @Test
    void aNestedAttributeTooLongForItsLengthFieldIsRefused() {
        MessageBuilder b = new MessageBuilder().message(1, 0, 1).begin(1);
        b.attr(1, new byte[70_000]);
        assertThatThrownBy(b::end).isInstanceOf(IllegalStateException.class).hasMessageContaining("exceeds 65535");
    }
}
