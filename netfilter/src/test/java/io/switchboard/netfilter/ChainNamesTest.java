package io.switchboard.netfilter;

import io.switchboard.core.model.Endpoint;
import io.switchboard.core.model.NamespacedName;
import io.switchboard.core.model.Protocol;
import io.switchboard.core.model.ServicePortName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The test vectors of the facts file: names identical to kube-proxy's. */
class ChainNamesTest {

    @ParameterizedTest
    @CsvSource({
            "default, kubernetes, https, TCP, KUBE-SVC-NPX46M4PTMTKRN6Y",
            "kube-system, kube-dns, dns, UDP, KUBE-SVC-TCOU7JCQXEZGVUNU",
            "kube-system, kube-dns, dns-tcp, TCP, KUBE-SVC-ERIFXISQEP7F7OF4",
            "ns1, svc1, p80, TCP, KUBE-SVC-XPGD46QRK7WJZT7O",
    })
    void serviceChains(String ns, String name, String port, String proto, String expected) {
        ServicePortName spn = new ServicePortName(new NamespacedName(ns, name), port, Protocol.valueOf(proto));
        assertThat(ChainNames.service(spn)).isEqualTo(expected);
        assertThat(ChainNames.serviceLocal(spn)).isEqualTo(expected.replace("KUBE-SVC-", "KUBE-SVL-"));
        assertThat(ChainNames.external(spn)).isEqualTo(expected.replace("KUBE-SVC-", "KUBE-EXT-"));
    }

    @Test
    void endpointChain() {
        ServicePortName spn = new ServicePortName(new NamespacedName("ns1", "svc1"), "p80", Protocol.TCP);
        assertThat(ChainNames.endpoint(spn, Endpoint.ready("10.180.0.1", 80, "n1"))).isEqualTo("KUBE-SEP-SXIVWICOYRO3J4NJ");
    }
}
