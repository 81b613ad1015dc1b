// SPDX-License-Identifier: GPL-2.0-only
/*
 * A vfio-platform reset handler for virtio-mmio transports.
 *
 * Writing zero to a virtio-mmio transport's Status register resets the
 * device (virtio 1.2, 4.2.2.1 and 3.1.1); a version 2 transport reads the
 * register back as zero once the reset is complete.  platreset's real-kernel
 * test rig uses this handler so that QEMU's virtio-mmio devices can be bound
 * to vfio-platform with reset_required=1, and so that every open, every
 * VFIO_DEVICE_RESET and every release of the device shows in the kernel log.
 *
 * It is matched on the first compatible string, as vfio-platform matches
 * every reset handler.
 */

#include <linux/io.h>
#include <linux/module.h>
#include <linux/virtio_mmio.h>

#include "vfio_platform_private.h"

static int vfio_platform_virtio_mmio_reset(struct vfio_platform_device *vdev)
{
	struct vfio_platform_region *reg;
	u32 status;

	if (vdev->num_regions < 1)
		return -ENODEV;
	reg = &vdev->regions[0];
	if (reg->size < VIRTIO_MMIO_STATUS + sizeof(u32))
		return -ENODEV;

	/* vfio-platform maps regions lazily, on the first access by the user. */
	if (!reg->ioaddr) {
		reg->ioaddr = ioremap(reg->addr, reg->size);
		if (!reg->ioaddr)
			return -ENOMEM;
	}

	status = readl(reg->ioaddr + VIRTIO_MMIO_STATUS);
	writel(0, reg->ioaddr + VIRTIO_MMIO_STATUS);
	if (readl(reg->ioaddr + VIRTIO_MMIO_STATUS)) {
		dev_err(vdev->device, "virtio-mmio reset: status did not clear\n");
		return -EIO;
	}
	dev_info(vdev->device, "virtio-mmio reset: status 0x%x -> 0\n", status);
	return 0;
}

module_vfio_reset_handler("virtio,mmio", vfio_platform_virtio_mmio_reset);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-platform reset handler for virtio-mmio transports (platreset test rig)");
