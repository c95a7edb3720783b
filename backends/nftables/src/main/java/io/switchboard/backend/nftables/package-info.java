/**
 * {@code --proxy-mode=nftables}: kube-proxy's nftables layout (tables {@code ip kube-proxy} and
 * {@code ip6 kube-proxy}, verdict maps, per-service chains named {@code service-H8-ns/name/proto/port}),
 * rendered purely into a model ({@link io.switchboard.backend.nftables.NftablesRenderer}), turned into
 * whole or incremental transactions ({@link io.switchboard.backend.nftables.NftTransaction}) in
 * {@code nft -f} syntax, compiled into nf_tables netlink batches
 * ({@link io.switchboard.backend.nftables.NftNetlink}) and sent by
 * {@link io.switchboard.backend.nftables.NetlinkNft}; {@link io.switchboard.backend.nftables.Nft}
 * runs the same transactions through {@code nft -f -} where netlink cannot be loaded.
 */
package io.switchboard.backend.nftables;
