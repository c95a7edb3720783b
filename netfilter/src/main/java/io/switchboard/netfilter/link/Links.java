package io.switchboard.netfilter.link;

import io.switchboard.core.model.IpAddress;
import io.switchboard.core.model.IpFamily;

import java.io.IOException;
import java.util.List;

/** Links and host addresses, as far as a proxy needs them. */
public interface Links {
    /** The index of the link named {@code name}, or -1 if there is none. */
    int index(String name) throws IOException;

    /** Makes sure a dummy link of this name exists (created down, as kube-proxy leaves it); its index. */
    int ensureDummy(String name) throws IOException;

    /** Deletes the link if it exists; false if there was none. */
    boolean delete(String name) throws IOException;

    /** The host addresses (/32, /128) bound to the link, of one family. */
    List<IpAddress> addresses(int index, IpFamily family) throws IOException;

    /** Binds a host address to the link; false if it was bound already. */
    boolean addAddress(int index, IpAddress address) throws IOException;

    /** Unbinds a host address; false if it was not bound. */
    boolean deleteAddress(int index, IpAddress address) throws IOException;
}
