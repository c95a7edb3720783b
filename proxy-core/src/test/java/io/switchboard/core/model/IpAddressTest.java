package io.switchboard.core.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IpAddressTest {

    @ParameterizedTest
    @CsvSource({
            "10.0.0.1, 10.0.0.1",
            "0.0.0.0, 0.0.0.0",
            "255.255.255.255, 255.255.255.255",
            "fd00::1, fd00::1",
            "FD00:0:0:0:0:0:0:1, fd00::1",
            "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
            "2001:0db8:0000:0000:0000:0000:0002:0001, 2001:db8::2:1",
            "::, ::",
            "::1, ::1",
            "1:0:0:0:0:0:0:0, 1::",
            "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
    })
    void printsCanonically(String in, String out) {
        assertThat(IpAddress.parse(in).toString()).isEqualTo(out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "10.0.0", "10.0.0.256", "010.0.0.1", "a.b.c.d", "example.com", "localhost",
            "10.0.0.1/32", "fe80::1%eth0", "::ffff:10.0.0.1", "1:2:3:4:5:6:7:8:9", " 10.0.0.1"})
    void rejectsNonLiterals(String in) {
        assertThatThrownBy(() -> IpAddress.parse(in)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void joinsHostAndPortLikeGo() {
        assertThat(IpAddress.parse("10.1.2.3").withPort(80)).isEqualTo("10.1.2.3:80");
        assertThat(IpAddress.parse("fd00::5").withPort(53)).isEqualTo("[fd00::5]:53");
    }

    /** Seeded random IPv6 addresses: parse(print(x)) == x and the JDK agrees on the bytes. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 42, 1234567})
    void ipv6RoundTrips(long seed) throws Exception {
        Random r = new Random(seed);
        for (int i = 0; i < 500; i++) {
            byte[] b = new byte[16];
            r.nextBytes(b);
            // make runs of zero groups likely
            for (int g = 0; g < 8; g++) {
                if (r.nextInt(3) == 0) {
                    b[2 * g] = 0;
                    b[2 * g + 1] = 0;
                }
            }
            if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0 && b[4] == 0 && b[5] == 0 && b[6] == 0
                    && b[7] == 0 && b[8] == 0 && b[9] == 0 && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
                continue; // IPv4-mapped, rejected by design
            }
            IpAddress ip = IpAddress.of(b);
            String text = ip.toString();
            assertThat(IpAddress.parse(text)).isEqualTo(ip);
            assertThat(InetAddress.getByName(text).getAddress()).isEqualTo(b);
            assertThat(text).doesNotContain(":::").doesNotMatch(".*(^|:)0[0-9a-f].*");
        }
    }

    @Test
    void cidrsMaskAndContain() {
        Cidr c = Cidr.parse("10.244.1.7/16");
        assertThat(c.toString()).isEqualTo("10.244.0.0/16");
        assertThat(c.contains(IpAddress.parse("10.244.255.1"))).isTrue();
        assertThat(c.contains(IpAddress.parse("10.245.0.1"))).isFalse();
        assertThat(c.contains(IpAddress.parse("fd00::1"))).isFalse();
        assertThat(Cidr.parse("fd00::/8").contains(IpAddress.parse("fd12::1"))).isTrue();
        assertThatThrownBy(() -> Cidr.parse("10.0.0.0/33")).hasMessageContaining("10.0.0.0/33");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.0")).hasMessageContaining("no prefix length");
    }

    /** The compact two-long form agrees with the raw bytes for every operation, both families. */
    @ParameterizedTest
    @ValueSource(longs = {3, 19, 2024})
    void compactFormAgreesWithTheBytes(long seed) throws Exception {
        Random r = new Random(seed);
        for (int n = 0; n < 2000; n++) {
            byte[] a = new byte[r.nextBoolean() ? 4 : 16];
            byte[] b = new byte[r.nextInt(4) == 0 ? 20 - a.length : a.length];
            r.nextBytes(a);
            r.nextBytes(b);
            if (r.nextInt(5) == 0) {
                System.arraycopy(a, 0, b, 0, Math.min(a.length, b.length) - 1);
            }
            IpAddress x = IpAddress.of(a);
            IpAddress y = IpAddress.of(b);
            assertThat(x.bytes()).isEqualTo(a);
            assertThat(InetAddress.getByName(x.toString()).getAddress()).as("the text names the same address").isEqualTo(a);
            assertThat(IpAddress.parse(x.toString())).isEqualTo(x).hasSameHashCodeAs(x);
            for (int i = 0; i < a.length * 8; i++) {
                assertThat(x.bit(i)).isEqualTo((a[i / 8] & (0x80 >>> (i % 8))) != 0);
            }
            int expected = a.length != b.length ? Integer.compare(a.length, b.length) : java.util.Arrays.compareUnsigned(a, b);
            assertThat(Integer.signum(x.compareTo(y))).as("%s vs %s", x, y).isEqualTo(Integer.signum(expected));
            assertThat(x.equals(y)).isEqualTo(java.util.Arrays.equals(a, b));
        }
    }
}
