#!/bin/sh
# Installs the Debian packages needed to build and test xgpumap; does
# nothing when they are all present. Needs root (or sudo) only to install.
set -eu

PKGS="gcc make pkg-config libjansson-dev libcmocka-dev libreadline-dev \
libxen-dev libdrm-dev bats jq mandoc qemu-system-x86 cpio kmod"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing
