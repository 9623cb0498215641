#!/bin/sh
# make check-xen: real Xen 4.17 in QEMU (TCG), PV dom0 then PVH dom0, each
# running tests/xen/dom0-test.sh against a PVH guest. Everything comes from
# Debian packages fetched now (tests/xen/fetch.sh); nothing is installed
# into the host (QEMU, cpio and kmod come from make deps).
#
#   tests/xen/run.sh BUILD_DIR [pv|pvh ...]
#
# XGM_ONLY=ioserv: boot, create the guest and run step 7 (ioserv-rig) only;
# XGM_ONLY=ram: step 9 only (the RAM-backed blob on virtio-gpu, ioreq);
# XGM_ONLY=vmm: step 11 only (a stand-in VMM hands buffers over).
# Two GPUs in dom0: bochs-display (VRAM, card0) and virtio-gpu (system
# RAM, card1).
# XGM_IOSERV=0: leave step 7 out. XGM_NOPAUSE=1: step 7 maps without
# pausing the guest, which reproduces Xen's crash (tests/xen/ioserv-rig.c).
set -u
build=$1
shift
modes=${*:-pv pvh}
here=$(cd "$(dirname "$0")" && pwd)
cache=$build/xen-rig
t0=$(date +%s)

fail() { echo "check-xen: FAIL: $*"; exit 1; }

for tool in qemu-system-x86_64 cpio depmod; do
	command -v $tool >/dev/null 2>&1 || fail "$tool not found: run 'make deps'"
done

kpkg=$("$here/fetch.sh" "$cache") || fail "fetching the Debian packages"
# Step 7 (the ioreq server; XGM_IOSERV=0 leaves it out, XGM_ONLY=ioserv
# runs it alone) reads on two guest vCPUs.
if [ "${XGM_IOSERV:-1}" != 0 ]; then
	export XGM_GUEST_VCPUS=2
fi
kver=${kpkg#linux-image-}
"$here/mkimages.sh" "$cache/root" "$kver" "$build/xgpumap" "$cache/img" \
	"$build/xen-rig-bin/ioserv-rig" ||
	fail "building the images"
gunzip -c "$cache/root/boot/xen-4.17-amd64.gz" > "$cache/img/xen"
t1=$(date +%s)
echo "check-xen: packages and images ready in $((t1 - t0)) s (kernel $kver)"

# Boots Xen once with a MODE dom0; returns 0 when dom0's test passed.
boot_once() {
	mode=$1
	log=$cache/serial-$mode.log
	xen="console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M loglvl=all guest_loglvl=all conring_size=4M"
	dev=
	if [ "$mode" = pvh ]; then
		xen="$xen dom0=pvh"
		dev="-device amd-iommu"
	fi
	# No comma in dom0's line: QEMU splits multiboot modules on commas.
	dom0="console=hvc0 earlyprintk=xen rdinit=/init iomem=relaxed drm_kms_helper.fbdev_emulation=0 xgm.mode=$mode${XGM_ONLY:+ xgm.only=$XGM_ONLY}${XGM_IOSERV:+ xgm.ioserv=$XGM_IOSERV}${XGM_NOPAUSE:+ xgm.nopause=$XGM_NOPAUSE}"
	s=$(date +%s)
	echo "check-xen: booting Xen with a $mode dom0 (log: $log)"
	# shellcheck disable=SC2086
	timeout 900 qemu-system-x86_64 -accel tcg,thread=multi \
		-cpu max,-smap,-rdtscp -machine q35 -smp 2 -m 2048 \
		-display none -monitor none -serial stdio -no-reboot -vga none \
		-device bochs-display,vgamem=64M -device virtio-gpu-pci $dev \
		-kernel "$cache/img/xen" -append "$xen" \
		-initrd "$cache/root/boot/vmlinuz-$kver $dom0,$cache/img/dom0.cpio" \
		> "$log" 2>&1 < /dev/null
	rc=$?
	e=$(date +%s)
	echo "---- $mode dom0: summary ($((e - s)) s, qemu exit $rc) ----"
	tr -d '\r' < "$log" | grep -a -E "XGM-(BOOT|STEP|PASS|FAIL|TIME|SIMCMP|RESULT|WARN|EMUFAULT)|GUEST_(READ|WINDOW)" |
		sed 's/^(XEN) //'
	grep -a -q "XGM-RESULT PASS" "$log"
}

# The simulated host's prediction for the rig's topology against what
# real Xen did (step 6 of dom0-test.sh): the same hypercall counts, or the
# model is wrong.
compare_sim() {
	mode=$1
	ok=0
	# The version the rig booted (Debian's archive decides which).
	ver=$(tr -d '\r' < "$cache/serial-$mode.log" |
		sed -n 's/.*Xen version \(4\.17\.[0-9]*\) .*/\1/p' | head -n 1)
	echo "check-xen: $mode dom0: the rig runs Xen ${ver:-of an unknown version}; the sim models it"
	predicted=$("$here/sim-predict.sh" "$build/xgpumap" "$mode" "$ver") || {
		echo "check-xen: $mode dom0: the simulated host's prediction failed"
		return 1
	}
	for name in fresh unaligned realigned; do
		line=$(tr -d '\r' < "$cache/serial-$mode.log" |
			grep -a "XGM-SIMCMP \[$mode\] $name " | head -n 1)
		rig=$(echo "$line" | sed -n 's/.* hypercalls=\([0-9]*\).*/\1/p')
		counted=$(echo "$line" | sed -n 's/.* domctls_counted=\([0-9]*\).*/\1/p')
		xen=$(echo "$line" | sed -n 's/.* domctls_xen=\([0-9]*\).*/\1/p')
		sim=$(echo "$predicted" | sed -n "s/^$name hypercalls=\([0-9]*\)$/\1/p")
		# The backend counts what Xen logged, and the sim predicts it.
		if [ -n "$rig" ] && [ "$rig" = "$sim" ] && [ -n "$xen" ] &&
		   [ "$counted" = "$xen" ]; then
			verdict=match
		else
			verdict=DIFFER
			ok=1
		fi
		echo "check-xen: $mode dom0: sim vs rig, 16M $name: rig ${rig:-?} hypercalls (memory_mapping: Xen logged ${xen:-?}, xgpumap counted ${counted:-?}), sim ${sim:-?}: $verdict"
	done
	return $ok
}

# Names a crash of dom0 that the emulator is known to cause, if the log
# shows one; fails otherwise (a failure of the test itself).
emulator_crash() {
	tr -d '\r' < "$1" > "$1.plain"
	# Its thread-pointer load (mov %fs:...) faults at 0 or at garbage.
	if grep -a -q -E "segfault at [0-9a-f]+ ip .* in busybox" "$1.plain"; then
		echo "busybox crashed in dom0"
	elif grep -a -q "XGM-EMUFAULT" "$1.plain"; then
		echo "dom0's copy between its own VRAM mappings wrote another page's data (tests/xen/ioserv-rig.c)"
	elif grep -a -q "(XEN) d0v[0-9]* Triple fault" "$1.plain"; then
		echo "dom0's vCPU $(sed -n 's/.*(XEN) d0v\([0-9]*\) Triple fault.*/\1/p' "$1.plain" | head -n 1) triple-faulted"
	# The guest's kernel, in its own boot, before any read of ours.
	elif grep -a -q "the guest's reader never came up" "$1.plain" &&
		grep -a -q "(XEN) d[1-9][0-9]*v[0-9]* Triple fault" "$1.plain"; then
		echo "the guest's vCPU triple-faulted while its kernel booted"
	else
		return 1
	fi
}

status=0
passed=0
failed=0
for mode in $modes; do
	booted=false
	if boot_once "$mode"; then
		booted=true
	# Two crashes of dom0 itself have been seen under TCG once in a few
	# boots: static busybox faulting on its thread pointer, and a PVH
	# dom0's vCPU triple-faulting in the kernel (once while dom0 only
	# polled xenstore as the guest read, once during step 6). Neither
	# has been seen on PV dom0's hypercall paths or in Xen itself. A
	# third: dom0's own copy between two of its VRAM mappings writes
	# another page's data (step 7, XGM-EMUFAULT; ioserv-rig.c). A fourth,
	# once: the guest's kernel triple-faulting in its early boot, before
	# its reader ran, on a PVH dom0. Such a
	# run gets one more boot, and the summary says which crash it was.
	elif why=$(emulator_crash "$cache/serial-$mode.log"); then
		echo "check-xen: $mode dom0: $why (TCG); booting once more"
		cp "$cache/serial-$mode.log" "$cache/serial-$mode.first.log"
		boot_once "$mode" && booted=true
	fi
	# Step 7 alone (XGM_ONLY=ioserv) runs no step 6 to compare.
	if $booted && { [ -n "${XGM_ONLY:-}" ] || compare_sim "$mode"; }; then
		passed=$((passed + 1))
		continue
	fi
	if ! $booted; then
		echo "---- $mode dom0: FAILED; serial log tail ----"
		tr -d '\r' < "$cache/serial-$mode.log" | tail -n 60
	fi
	status=1
	failed=$((failed + 1))
done
echo "check-xen: $( [ $status = 0 ] && echo PASS || echo FAIL ) in $(($(date +%s) - t0)) s"
echo "check-xen: $passed passed, $failed failed"
exit $status
