#!/bin/sh
# Builds the rig's two initramfs images from the unpacked Debian tree.
#
#   tests/xen/mkimages.sh ROOT KVER XGPUMAP OUT_DIR IOSERV_RIG
#
# OUT_DIR/dom0.cpio: busybox, the Xen tools dom0 needs (xl, xenstored,
#   xenconsoled, xen-init-dom0, xenstore-*), their libraries, the xen,
#   bochs and virtio-gpu modules, our xgpumap, xgpumapd (next to XGPUMAP),
#   ioserv-rig and vmm-standin (next to IOSERV_RIG) with their libraries, the guest's kernel and
#   image, and the test (dom0-init.sh, dom0-test.sh).
# OUT_DIR/guest.cpio: busybox and guest-reader (static).
# Uncompressed on purpose: under TCG unpacking gzip dominates the boot.
set -eu
root=$(cd "$1" && pwd)
kver=$2
xgm=$3
out=$4
rig=$5
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

libpath="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu:$root/usr/lib"

# Copies a binary and every library it needs, Debian tree first.
add_bin() { # SRC DEST_DIR_IN_IMAGE IMAGE
	mkdir -p "$3/$2"
	cp -L "$1" "$3/$2/"
	LD_LIBRARY_PATH=$libpath ldd "$1" 2>/dev/null |
		sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p' |
		while read -r lib; do
			dst="$3/lib/x86_64-linux-gnu/$(basename "$lib")"
			[ -e "$dst" ] && continue
			mkdir -p "$3/lib/x86_64-linux-gnu"
			cp -L "$lib" "$dst"
		done
}

# ---- guest ----
g=$out/guest-root
rm -rf "$g"
mkdir -p "$g/bin" "$g/dev" "$g/proc" "$g/sys"
cp "$root/bin/busybox" "$g/bin/busybox"
ln -s busybox "$g/bin/sh"
cc -static -pthread -O2 -Wall -Wextra -o "$g/bin/guest-reader" "$here/guest-reader.c"
cat > "$g/init" <<'GINIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "guest: up, $(cat /proc/cmdline)"
/bin/guest-reader
echo "guest: reader exited rc=$?"
poweroff -f
GINIT
chmod +x "$g/init"
(cd "$g" && find . | cpio -o -H newc --quiet) > "$out/guest.cpio"

# ---- dom0 ----
d=$out/dom0-root
rm -rf "$d"
mkdir -p "$d/bin" "$d/dev" "$d/proc" "$d/sys" "$d/run" "$d/tmp" "$d/etc/xen" \
	"$d/var/lib/xen" "$d/var/lib/xenstored" "$d/var/log/xen/console" \
	"$d/var/run/xen" "$d/lib64" "$d/boot" "$d/xgm"
cp "$root/bin/busybox" "$d/bin/busybox"
ln -s busybox "$d/bin/sh"
xb=$root/usr/lib/xen-4.17/bin
for b in xl xenstored xenconsoled xen-init-dom0; do
	add_bin "$xb/$b" usr/lib/xen-4.17/bin "$d"
done
add_bin "$root/usr/bin/xenstore" usr/bin "$d"
for t in read write ls rm list exists chmod; do
	ln -sf xenstore "$d/usr/bin/xenstore-$t"
done
add_bin "$xgm" usr/bin "$d"
add_bin "$(dirname "$xgm")/xgpumapd" usr/bin "$d"
add_bin "$rig" usr/bin "$d"
add_bin "$(dirname "$rig")/vmm-standin" usr/bin "$d"
cp -L /lib64/ld-linux-x86-64.so.2 "$d/lib64/"
# xl aborts without it (pthread_cancel).
cp -L "$root/lib/x86_64-linux-gnu/libgcc_s.so.1" "$d/lib/x86_64-linux-gnu/" 2>/dev/null ||
	cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$d/lib/x86_64-linux-gnu/"
cp -a "$root/etc/xen/." "$d/etc/xen/" 2>/dev/null || true

# Modules in load order, from the Debian tree's own dependency data.
depmod -b "$root" "$kver"
: > "$d/etc/xgm-modules"
# bochs before virtio-gpu: card0 is the VRAM card, card1 the RAM one.
for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd bochs virtio_pci \
	virtio-gpu; do
	modprobe -d "$root" -S "$kver" --show-depends "$m" |
		sed -n 's/^insmod \([^ ]*\).*/\1/p' | while read -r ko; do
			rel=${ko#"$root"/}
			mkdir -p "$d/$(dirname "$rel")"
			cp "$ko" "$d/$rel"
			grep -qx "/$rel" "$d/etc/xgm-modules" || echo "/$rel" >> "$d/etc/xgm-modules"
		done
done

cp "$root/boot/vmlinuz-$kver" "$d/boot/vmlinuz"
cp "$out/guest.cpio" "$d/boot/guest.cpio"
# One vCPU unless the ioreq server test (step 7) runs: it reads on two.
cat > "$d/etc/xen/guest.cfg" <<GCFG
name = "guest"
type = "pvh"
kernel = "/boot/vmlinuz"
ramdisk = "/boot/guest.cpio"
extra = "console=hvc0 iomem=relaxed rdinit=/init"
memory = 128
vcpus = ${XGM_GUEST_VCPUS:-1}
tsc_mode = "native"
on_crash = "preserve"
GCFG
cp "$here/dom0-init.sh" "$d/init"
cp "$here/dom0-test.sh" "$d/xgm/dom0-test.sh"
chmod +x "$d/init" "$d/xgm/dom0-test.sh"
(cd "$d" && find . | cpio -o -H newc --quiet) > "$out/dom0.cpio"
echo "images: dom0 $(du -h "$out/dom0.cpio" | cut -f1), guest $(du -h "$out/guest.cpio" | cut -f1)"
