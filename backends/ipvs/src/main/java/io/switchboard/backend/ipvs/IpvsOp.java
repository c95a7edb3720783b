package io.switchboard.backend.ipvs;

import io.switchboard.core.model.IpAddress;

/** One change to the kernel, as the planner orders them. */
public sealed interface IpvsOp {
    /** The virtual server an IPVS operation is on; null for the address operations. */
    static VirtualServer.Key key(IpvsOp op) {
        if (op instanceof AddService a) {
            return a.service().key();
        } else if (op instanceof UpdateService u) {
            return u.service().key();
        } else if (op instanceof DeleteService d) {
            return d.service();
        } else if (op instanceof AddDestination a) {
            return a.service();
        } else if (op instanceof UpdateDestination u) {
            return u.service();
        } else if (op instanceof DeleteDestination d) {
            return d.service();
        }
        return null;
    }

    record Bind(IpAddress address) implements IpvsOp {
    }

    record Unbind(IpAddress address) implements IpvsOp {
    }

    record AddService(VirtualServer service) implements IpvsOp {
    }

    /** Scheduler or persistence changed: changed in place, real servers and connections kept. */
    record UpdateService(VirtualServer service) implements IpvsOp {
    }

    record DeleteService(VirtualServer.Key service) implements IpvsOp {
    }

    record AddDestination(VirtualServer.Key service, RealServer destination) implements IpvsOp {
    }

    /** A weight change: to 0 when the endpoint went away (graceful termination), back up when it returns. */
    record UpdateDestination(VirtualServer.Key service, RealServer destination) implements IpvsOp {
    }

    record DeleteDestination(VirtualServer.Key service, RealServer.Key destination) implements IpvsOp {
    }
}
