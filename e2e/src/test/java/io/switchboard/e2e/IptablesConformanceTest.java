package io.switchboard.e2e;

/** The conformance suite in iptables mode. */
class IptablesConformanceTest extends ConformanceSuite {
    @Override
    protected String mode() {
        return "iptables";
    }
}
