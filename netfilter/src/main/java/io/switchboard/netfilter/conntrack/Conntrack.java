package io.switchboard.netfilter.conntrack;

import io.switchboard.core.model.IpFamily;

import java.io.IOException;
import java.util.List;

/** The conntrack table: list entries, delete one by its original tuple. */
public interface Conntrack {
    List<Flow> dump(IpFamily family) throws IOException;

    /** Deletes the entry with this original tuple; false if it was already gone. */
    boolean delete(IpFamily family, Flow flow) throws IOException;

    /** Deletes every entry of the family that matches; returns how many it deleted. */
    default int deleteMatching(IpFamily family, java.util.function.Predicate<Flow> which) throws IOException {
        int deleted = 0;
        for (Flow f : dump(family)) {
            if (which.test(f) && delete(family, f)) {
                deleted++;
            }
        }
        return deleted;
    }
}
