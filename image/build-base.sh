#!/usr/bin/env bash
# Builds Switchboard's base image as a docker-archive tarball from Debian packages (debootstrap):
# no container registry is needed. The result is cached (with the package list it holds): delete
# OUT/base.tar to rebuild.
# Usage: build-base.sh OUT_DIR
set -euo pipefail
out="$1"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
packages="openjdk-17-jre-headless,iptables,nftables,conntrack,iproute2,ca-certificates"
mkdir -p "$out"
# the cache holds the package list it was built from; another list rebuilds it
if [ -f "$out/base.tar" ] && [ "$(cat "$out/base.packages" 2>/dev/null)" = "$packages" ]; then
  echo "base image present: $out/base.tar"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "building the base image needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "building the base image needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
root="$out/rootfs"
rm -rf "$root"
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$out/debootstrap.log" 2>&1 \
  || { tail -20 "$out/debootstrap.log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/locale/*
work="$out/archive"
rm -rf "$work"
mkdir -p "$work"
tar --numeric-owner --sort=name -C "$root" -cf "$work/layer.tar" .
diff="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}\n' "$diff" >"$work/config.json"
printf '[{"Config":"config.json","RepoTags":["switchboard-base:%s"],"Layers":["layer.tar"]}]\n' "$suite" >"$work/manifest.json"
tar -C "$work" -cf "$out/base.tar" manifest.json config.json layer.tar
rm -rf "$work" "$root"
printf '%s' "$packages" >"$out/base.packages"
echo "base image built: $out/base.tar"
