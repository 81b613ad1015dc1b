# Debian's stock kernel as it ships: its own vfio modules (no vfio-platform, no no-IOMMU mode)
# and strict /dev/mem. Every command must say what is missing and which options provide it.
. /lib.sh
insmod stock/vfio.ko && insmod stock/vfio_iommu_type1.ko || exit 1
step list-text platreset host list
step bind platreset host bind $D --yes --force
step info platreset host info $D
step devmem platreset reset /sys/firmware/fdt /virtio_mmio@a000000 --backend devmem --write-hardware --force
