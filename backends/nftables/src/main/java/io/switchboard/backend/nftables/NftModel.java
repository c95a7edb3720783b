package io.switchboard.backend.nftables;

import io.switchboard.core.model.ServicePortName;
import io.switchboard.core.util.SortedMaps;

import java.util.List;
import java.util.SortedMap;

/**
 * One family's desired table: the fixed part (base chains, top-level chains and their rules, the
 * maps, the node-port address set) and, per service port, the chains, affinity sets and map
 * elements it owns. Immutable; the backend keeps the last applied model to send only differences.
 *
 * @param setup    statements that (re)create the fixed chains with their rules; idempotent
 * @param maps     the verdict-map and {@code cluster-ips} set declarations (created once, flushed only by a full sync)
 * @param services per service port, what it owns, in name order
 */
public record NftModel(List<String> setup, List<String> maps, SortedMap<ServicePortName, ServiceObjects> services) {
    public NftModel {
        setup = List.copyOf(setup);
        maps = List.copyOf(maps);
        // immutable; the renderer's array-backed map is kept as it is (no wrapper to walk through)
        services = SortedMaps.copyOf(services);
    }

    /** A regular chain and its rules (the statements after the chain name). */
    public record Chain(String name, List<String> rules) {
        public Chain {
            rules = List.copyOf(rules);
        }
    }

    /**
     * One element of a verdict map (or, with an empty value, of a set such as {@code cluster-ips}).
     *
     * @param map     the map or set
     * @param key     the key, e.g. {@code 10.96.0.10 . tcp . 80}
     * @param comment the element comment, or empty
     * @param value   the verdict, e.g. {@code goto service-…}; empty for a set element
     */
    public record Element(String map, String key, String comment, String value) {
        /** The element's identity in its map. */
        public String id() {
            return map + " " + key;
        }
    }

    /** A per-endpoint affinity set with its timeout. */
    public record AffinitySet(String name, int timeoutSeconds) {
    }

    /**
     * What one service port owns in one family.
     *
     * @param chains          its chains (endpoint chains first)
     * @param sets            its affinity sets
     * @param elements        its map elements
     * @param noLocalInternal 1 when internal traffic has no local endpoint to go to (ITP Local)
     * @param noLocalExternal 1 when external traffic has no local endpoint to go to (ETP Local)
     */
    public record ServiceObjects(List<Chain> chains, List<AffinitySet> sets, List<Element> elements,
                                 int noLocalInternal, int noLocalExternal) {
        public ServiceObjects {
            chains = List.copyOf(chains);
            sets = List.copyOf(sets);
            elements = List.copyOf(elements);
        }
    }
}
