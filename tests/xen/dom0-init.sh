#!/bin/sh
# dom0's /init on the rig: bring up the Xen toolstack, run the test, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/lib/xen-4.17/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
# busybox insmod does not apply module.param= from the command line (kmod's
# modprobe does): pass them on ourselves.
while read -r m; do
	name=$(basename "$m" .ko | tr - _)
	args=$(tr ' ' '\n' < /proc/cmdline | sed -n "s/^$name\.//p" | tr '\n' ' ')
	insmod "$m" $args || echo "XGM-WARN insmod $m failed"
done < /etc/xgm-modules
mount -t xenfs xenfs /proc/xen
mkdir -p /run/xen /run/xenstored /var/run/xenstored
echo "XGM-BOOT dom0 up: $(cat /proc/xen/capabilities) $(uname -r)"
xenstored --pid-file=/run/xenstored.pid
xen-init-dom0
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
sh /xgm/dom0-test.sh
echo "XGM-END"
sync
reboot -f
