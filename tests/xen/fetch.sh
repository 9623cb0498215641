#!/bin/sh
# Fetches the Debian packages the rig boots from into a cache and unpacks
# them into a root tree. Nothing is installed into the host: apt-get download
# only writes .deb files, dpkg-deb -x only unpacks them.
#
#   tests/xen/fetch.sh CACHE_DIR
#
# Leaves CACHE_DIR/debs/*.deb and CACHE_DIR/root/ (the union of all of them).
set -eu
cache=$1
mkdir -p "$cache/debs"
cache=$(cd "$cache" && pwd)

# The kernel: whatever ABI bookworm's linux-image-amd64 points at now.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
if [ -z "$kpkg" ]; then
	apt-get update -qq
	kpkg=$(apt-cache depends linux-image-amd64 |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
fi
[ -n "$kpkg" ] || { echo "fetch: cannot find the kernel package" >&2; exit 1; }

pkgs="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils
busybox-static $kpkg libxenmisc4.17 libxenstore4 libxencall1 libxendevicemodel1
libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxentoolcore1
libxentoollog1 libyajl2 libjansson4 libdrm2 libdrm-common libnl-3-200
libnl-route-3-200 libuuid1 libzstd1 liblzma5 libbz2-1.0 libz3-4 zlib1g
libgcc-s1 libc6 libcap-ng0 libssl3"

cd "$cache/debs"
need=
for p in $pkgs; do
	ls "${p}"_*.deb >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	# shellcheck disable=SC2086
	apt-get download $need >/dev/null 2>"$cache/download.log" || {
		apt-get update -qq
		apt-get download $need >/dev/null 2>"$cache/download.log" || {
			cat "$cache/download.log" >&2
			exit 1
		}
	}
fi
if [ ! -f "$cache/root/.unpacked" ] || [ -n "$need" ]; then
	rm -rf "$cache/root"
	mkdir -p "$cache/root"
	for d in "$cache"/debs/*.deb; do
		dpkg-deb -x "$d" "$cache/root"
	done
	echo "$kpkg" > "$cache/root/.unpacked"
fi
echo "$kpkg"
