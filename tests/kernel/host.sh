# Run inside the real-kernel guest (scripts/kernel-rig boot) by crates/cli/tests/kernel.rs.
# Each step prints "@@@ <name>", its output, then "@@@ rc <exit status>"; the test reads them
# from the serial console. QEMU gives the guest a virtio-rng on transport 0 (a000000), which
# vfio-platform can reset through kmod/vfio-reset-virtio-mmio, and fw-cfg (9020000), for which
# no reset handler exists.
step() { name=$1; shift; echo "@@@ $name"; "$@"; echo "@@@ rc $?"; }
state() { echo "$(cat /sys/bus/platform/devices/$1/driver_override) $(readlink /sys/bus/platform/devices/$1/driver)"; }

# Kernel messages stay in the log (the dmesg step), not interleaved with JSON on the console.
dmesg -n 1
cd /lib/modules || exit 1
insmod virtio_mmio.ko && insmod virtio-rng.ko || exit 1
insmod vfio.ko enable_unsafe_noiommu_mode=1 && insmod vfio_iommu_type1.ko && insmod vfio_virqfd.ko || exit 1
insmod vfio-platform-base.ko && insmod vfio-platform.ko && insmod vfio_platform_virtio_mmio_reset.ko || exit 1

D=a000000.virtio_mmio
F=9020000.fw-cfg
step list platreset host list --format json
step state-before state $D
step bind platreset host bind $D --yes --force --format json
step group-name cat /sys/bus/platform/devices/$D/iommu_group/name
step info platreset host info $D --format json
step reset platreset host reset $D --yes --format json
step unbind platreset host unbind $D --yes --format json
step state-after state $D
step refused-before state $F
step refused platreset host bind $F --yes --force --format json
step refused-after state $F
step dmesg dmesg
