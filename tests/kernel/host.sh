# The main real-kernel run (no-IOMMU mode, iomem=relaxed): list, the policy's refusals, bind,
# info, reset, unbind, a real rollback, a guard against a real SIGKILL, and a reset written
# through /dev/mem to the reset-simple register.
. /lib.sh
insmod vfio.ko enable_unsafe_noiommu_mode=1 && insmod vfio_iommu_type1.ko && insmod vfio_virqfd.ko || exit 1
insmod vfio-platform-base.ko && insmod vfio-platform.ko && insmod vfio_platform_virtio_mmio_reset.ko || exit 1

step list platreset host list --format json
step list-text platreset host list
step state-before state $D
step shared-before state $S
step shared-refused platreset host bind $S --yes
step shared-after state $S
step bind platreset host bind $D --yes --force --format json
step group-name cat /sys/bus/platform/devices/$D/iommu_group/name
step info platreset host info $D --format json
step reset platreset host reset $D --yes --format json
step unbind platreset host unbind $D --yes --format json
step state-after state $D
step refused-before state $F
step refused platreset host bind $F --yes --force --format json
step refused-after state $F

# The guard: a VMM stand-in holds the device open; the guard watches it through a pidfd; the
# stand-in dies by SIGKILL; the guard resets through VFIO and gives the device back, once.
step rebind platreset host bind $D --yes --force --format json
vfio-hold $D > /tmp/hold.log 2>&1 &
hold=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q holding /tmp/hold.log && break; sleep 0.2; done
step hold cat /tmp/hold.log
platreset host guard --pid $hold $D --yes --restore > /tmp/guard.log 2>&1 &
guard=$!
sleep 1
echo "@@@ killed at $(cut -d' ' -f1 /proc/uptime)"
kill -9 $hold
wait $guard
echo "guard exit $?" >> /tmp/guard.log
echo "@@@ guard finished at $(cut -d' ' -f1 /proc/uptime)"
step guard cat /tmp/guard.log
step guard-after state $D

# /dev/mem under iomem=relaxed: bit 5 of the controller's register is set first, so the
# read-modify-write sequence is seen to read the real register back and keep that bit.
step devmem-set devmem 0x50000000 32 0x20
step devmem platreset reset /sys/firmware/fdt /virtio_mmio@a000000 --backend devmem --write-hardware --force --format json
step devmem-after devmem 0x50000000 32
step dmesg dmesg
