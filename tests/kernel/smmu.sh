# A device behind QEMU's SMMUv3 (its DT node given `iommus`): a real IOMMU group and a type1
# container. On GICv2 type1 refuses until allow_unsafe_interrupts is set (no MSI remapping).
. /lib.sh
insmod vfio.ko && insmod vfio_iommu_type1.ko && insmod vfio_virqfd.ko || exit 1
insmod vfio-platform-base.ko && insmod vfio-platform.ko && insmod vfio_platform_virtio_mmio_reset.ko || exit 1
# The generic reset module is not loaded by hand: `platreset kmod --install` wrote its modprobe
# file (options and vfio-reset: aliases) and DKMS tree on the host, the rig built that tree, and
# vfio-platform's request_module() loads it when the dedicated transport is bound.
step modprobe-conf cat /etc/modprobe.d/platreset-reset-generic.conf
step lsmod-before lsmod
step group readlink /sys/bus/platform/devices/$D/iommu_group
step bind platreset host bind $D --yes --force --format json
step lsmod-after lsmod
step parameters cat /sys/module/vfio_platform_reset_generic/parameters/compatibles /sys/module/vfio_platform_reset_generic/parameters/pulse_us
step info platreset host info $D --format json
step allow sh -c 'echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts'
step info-allowed platreset host info $D --format json
step reset platreset host reset $D --yes --format json
step unbind platreset host unbind $D --yes --format json
# Transport 3 has no `iommus`, so no group, and no-IOMMU mode is off: refused before any
# write; with --force the kernel's own refusal is met (it has a reset handler, the virtio-mmio
# test module, so the probe gets as far as the group) and rolled back.
step nogroup-before state $E
step nogroup platreset host bind $E --yes
step nogroup-forced platreset host bind $E --yes --force
step nogroup-after state $E
step dmesg dmesg
