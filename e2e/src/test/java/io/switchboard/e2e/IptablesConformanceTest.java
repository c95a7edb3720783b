package io.switchboard.e2e;

/** The conformance suite in iptables mode: no documented differences. */
class IptablesConformanceTest extends ConformanceSuite {
    @Override
    protected String mode() {
        return "iptables";
    }

    @Override
    protected String entryChain() {
        return "KUBE-SERVICES";
    }
}
