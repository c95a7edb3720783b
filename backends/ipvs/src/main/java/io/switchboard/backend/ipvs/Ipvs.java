package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpFamily;

import java.io.IOException;
import java.util.List;

/** The IPVS table of one network namespace: what the backend reads and changes. */
public interface Ipvs {
    /** Every virtual server (addressed by IP; firewall-mark services are not listed). */
    List<VirtualServer> services() throws IOException;

    List<RealServer> destinations(VirtualServer.Key service) throws IOException;

    void addService(VirtualServer vs) throws IOException;

    /** Changes scheduler or persistence in place (connections and real servers stay). */
    void updateService(VirtualServer vs) throws IOException;

    void deleteService(VirtualServer.Key service) throws IOException;

    void addDestination(VirtualServer.Key service, RealServer rs) throws IOException;

    void updateDestination(VirtualServer.Key service, RealServer rs) throws IOException;

    void deleteDestination(VirtualServer.Key service, RealServer.Key rs) throws IOException;

    /** The IPVS connection timeouts in seconds (0 leaves one unchanged). */
    void setTimeouts(int tcp, int tcpFin, int udp) throws IOException;

    /** The kernel's IPVS version, such as "1.2.1". */
    String version() throws IOException;

    /** True for address families this table can hold (IPv6 needs the kernel's IPv6 support). */
    default boolean supports(IpFamily family) {
        return true;
    }
}
