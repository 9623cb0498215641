#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# make check-drm: buffers a VMM hands over, against the real bochs-drm and
# virtio-gpu drivers. Boots Debian's kernel (no Xen: the DRM side needs
# none) under QEMU TCG with -device bochs-display and virtio-gpu-pci, and
# runs tests/drm/gem-check.c in its initramfs. About a minute.
#
#   tests/drm/run.sh BUILD_DIR "CFLAGS" "LIBS"
#
# The Debian packages come from tests/xen/fetch.sh (the rig's cache in
# BUILD_DIR/xen-rig is used as it is when it is there).
set -eu
build=$(cd "$1" && pwd)
cflags=$2
libs=$3
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=$build/xen-rig
work=$build/drm-rig
fail() { echo "check-drm: $*" >&2; exit 1; }

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is needed"
kpkg=$("$src/tests/xen/fetch.sh" "$cache") || fail "fetching the Debian packages"
kver=${kpkg#linux-image-}
root=$cache/root
[ -f "$root/boot/vmlinuz-$kver" ] || fail "no kernel $kver in $root"

rm -rf "$work"
mkdir -p "$work/img/bin" "$work/img/dev" "$work/img/proc" "$work/img/sys" \
	"$work/img/tmp" "$work/img/lib64" "$work/img/lib/x86_64-linux-gnu"
img=$work/img
# shellcheck disable=SC2086
cc $cflags -o "$img/bin/gem-check" "$here/gem-check.c" \
	"$build/libxgpumap-internal.a" $libs || fail "cannot build gem-check"
ldd "$img/bin/gem-check" |
	sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p' |
	while read -r lib; do cp -L "$lib" "$img/lib/x86_64-linux-gnu/"; done
cp -L /lib64/ld-linux-x86-64.so.2 "$img/lib64/"
cp "$root/bin/busybox" "$img/bin/busybox"
ln -s busybox "$img/bin/sh"

depmod -b "$root" "$kver"
# The drivers and what they need, in load order, each once.
modprobe -d "$root" -S "$kver" --show-depends -a bochs virtio_pci virtio-gpu |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' > "$work/kos"
while read -r ko; do
	mkdir -p "$img/$(dirname "${ko#"$root"/}")"
	cp "$ko" "$img/${ko#"$root"/}"
	echo "/${ko#"$root"/}"
done < "$work/kos" > "$img/modules"
cat > "$img/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
while read -r ko; do insmod "$ko" 2>/dev/null; done < /modules
i=0
while [ ! -e /dev/dri/card1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ls /dev/dri
/bin/gem-check
echo "gem-check: exit $?"
poweroff -f
INIT
chmod +x "$img/init"
(cd "$img" && find . | cpio -o -H newc --quiet) > "$work/initrd.cpio"

log=$work/serial.log
timeout 600 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -machine q35 \
	-smp 2 -m 1024 -display none -monitor none -serial "file:$log" \
	-no-reboot -vga none -device bochs-display -device virtio-gpu-pci \
	-kernel "$root/boot/vmlinuz-$kver" -initrd "$work/initrd.cpio" \
	-append "console=ttyS0 iomem=relaxed rdinit=/init quiet" ||
	fail "QEMU failed (log: $log)"
tr -d '\r' < "$log" | grep -E '^(ok|FAIL|   \(|gem-check)' || true
tr -d '\r' < "$log" | grep -qx 'gem-check: 0 failed' ||
	fail "the checks did not all pass (log: $log)"
