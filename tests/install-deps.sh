#!/bin/sh
# make deps: installs every Debian package that building, testing and the
# Xen rig use, and does nothing (no network) when they are all present.
# This is the project's one package list: README's commands, demo, check,
# check-xen and CI all get their tools from here. Needs root (or sudo) only
# when something is missing.
set -eu

# Build: compiler, linker, libc headers, pkg-config and the libraries the
# backends are compiled against.
BUILD_PKGS="gcc libc6-dev binutils make pkg-config libjansson-dev
libreadline-dev libxen-dev libdrm-dev libsqlite3-dev"
# make check: unit tests (cmocka), CLI tests (bats, jq), the completion
# tests (bash is essential; zsh is not), the man-page lint (mandoc).
CHECK_PKGS="libcmocka-dev bats jq zsh mandoc sqlite3"
# make check-xen: QEMU to boot Xen, cpio for the initramfs images, kmod's
# depmod for dom0's modules; the Debian packages the rig boots are fetched
# with apt-get download into the build tree, not installed.
XEN_RIG_PKGS="qemu-system-x86 cpio kmod"

missing=""
for p in $BUILD_PKGS $CHECK_PKGS $XEN_RIG_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi
echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps: need root to install:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
