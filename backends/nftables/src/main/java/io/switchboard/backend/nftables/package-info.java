/**
 * {@code --proxy-mode=nftables}: kube-proxy's nftables layout (tables {@code ip kube-proxy} and
 * {@code ip6 kube-proxy}, verdict maps, per-service chains named {@code service-H8-ns/name/proto/port}),
 * rendered purely into a model ({@link io.switchboard.backend.nftables.NftablesRenderer}), turned into
 * whole or incremental transactions ({@link io.switchboard.backend.nftables.NftTransaction}) and
 * applied with {@code nft -f -} ({@link io.switchboard.backend.nftables.Nft}).
 */
package io.switchboard.backend.nftables;
