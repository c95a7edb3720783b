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

    /**
     * Applies the IPVS operations among {@code ops} (address operations are not this table's and are
     * skipped) in order, going on after a failure; the failures by index into {@code ops}.
     */
    default java.util.Map<Integer, IOException> applyAll(List<IpvsOp> ops) {
        java.util.Map<Integer, IOException> failed = new java.util.TreeMap<>();
        for (int i = 0; i < ops.size(); i++) {
            IpvsOp op = ops.get(i);
            try {
                if (op instanceof IpvsOp.AddService a) {
                    addService(a.service());
                } else if (op instanceof IpvsOp.UpdateService u) {
                    updateService(u.service());
                } else if (op instanceof IpvsOp.DeleteService d) {
                    deleteService(d.service());
                } else if (op instanceof IpvsOp.AddDestination a) {
                    addDestination(a.service(), a.destination());
                } else if (op instanceof IpvsOp.UpdateDestination u) {
                    updateDestination(u.service(), u.destination());
                } else if (op instanceof IpvsOp.DeleteDestination d) {
                    deleteDestination(d.service(), d.destination());
                }
            } catch (IOException e) {
                failed.put(i, e);
            }
        }
        return failed;
    }

    /** The IPVS connection timeouts in seconds (0 leaves one unchanged). */
    void setTimeouts(int tcp, int tcpFin, int udp) throws IOException;

    /** The kernel's IPVS version, such as "1.2.1". */
    String version() throws IOException;

    /** True for address families this table can hold (IPv6 needs the kernel's IPv6 support). */
    default boolean supports(IpFamily family) {
        return true;
    }
}
