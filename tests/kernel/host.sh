# The main real-kernel run (no-IOMMU mode, iomem=relaxed, reset_required=1): the generic reset
# module (kmod/vfio-platform-reset-generic) for the rig's compatibles; list, the policy's
# refusals, bind, info, reset (the reset-simple register seen asserted, then released), unbind,
# real rollbacks, a guard against a real SIGKILL, and a reset written through /dev/mem to the
# reset-simple register.
. /lib.sh
insmod vfio.ko enable_unsafe_noiommu_mode=1 && insmod vfio_iommu_type1.ko && insmod vfio_virqfd.ko || exit 1
insmod vfio-platform-base.ko && insmod vfio-platform.ko || exit 1
step generic insmod vfio-platform-reset-generic.ko "$GENERIC" pulse_us=10
step reset-required cat /sys/module/vfio_platform/parameters/reset_required

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
# The shared compatible: the module refused it, so vfio-platform finds no reset and the bind
# is rolled back.
step shared-forced platreset host bind $S --yes --force
step shared-forced-after state $S

# The reset seen from outside the kernel: with a 1 s pulse, the controller's register read
# through /dev/mem while the reset runs has the line's bit set, and clear afterwards.
step rebind-slow platreset host bind $D --yes --force --format json
echo 1000000 > /sys/module/vfio_platform_reset_generic/parameters/pulse_us
platreset host reset $D --yes --format json > /tmp/slow.log 2>&1 &
slow=$!
sleep 0.5
step during devmem 0x50000000 32
wait $slow
step slow-reset cat /tmp/slow.log
step after devmem 0x50000000 32
echo 10 > /sys/module/vfio_platform_reset_generic/parameters/pulse_us
step unbind-slow platreset host unbind $D --yes --format json

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

# The clock summary of a real kernel, read by guest-dt for the UART on the running host's own
# tree (no --from-host needed there): each clock by the consumer the kernel lists.
mount -t debugfs debugfs /sys/kernel/debug
step clk-summary cat /sys/kernel/debug/clk/clk_summary
step guest-dt-live platreset guest-dt /sys/firmware/fdt /pl011@9000000 --target qemu -o /tmp/uart.dts --format json
step dmesg dmesg
