package io.switchboard.netfilter.conntrack;

import io.switchboard.core.model.IpFamily;

import java.io.IOException;
import java.util.List;

/** The conntrack table: list entries, delete one by its original tuple. */
public interface Conntrack {
    List<Flow> dump(IpFamily family) throws IOException;

    /** Deletes the entry with this original tuple; false if it was already gone. */
    boolean delete(IpFamily family, Flow flow) throws IOException;
}
