package io.switchboard.netfilter.conntrack;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DeleteMatchingTest {
    private static Flow flow(int proto, int dport) {
        return new Flow(proto, IpAddress.parse("10.0.0.1"), IpAddress.parse("10.96.0.10"), 40000, dport,
                IpAddress.parse("10.244.0.5"), 53);
    }

    @Test
    void deletesWhatMatchesAndCountsWhatWasStillThere() throws Exception {
        List<Flow> deleted = new ArrayList<>();
        Flow gone = flow(Flow.UDP, 54);
        Conntrack table = new Conntrack() {
            @Override
            public List<Flow> dump(IpFamily family) {
                return List.of(flow(Flow.UDP, 53), flow(Flow.TCP, 53), gone);
            }

            @Override
            public boolean delete(IpFamily family, Flow f) {
                deleted.add(f);
                return !f.equals(gone); // deleted meanwhile by someone else
            }
        };
        assertThat(table.deleteMatching(IpFamily.IPV4, f -> f.protocol() == Flow.UDP)).isEqualTo(1);
        assertThat(deleted).containsExactly(flow(Flow.UDP, 53), gone);
    }
}
