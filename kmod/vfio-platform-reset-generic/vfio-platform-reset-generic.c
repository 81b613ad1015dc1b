// SPDX-License-Identifier: GPL-2.0-only
/*
 * A generic vfio-platform reset handler: resets a device through the
 * reset lines its device tree node lists in "resets", with the kernel's
 * reset framework, for the compatibles it is given.
 *
 * vfio-platform refuses a device-tree device unless a reset handler is
 * registered for its first compatible.  Which devices may safely be reset
 * through their reset lines alone (the lines dedicated to the device, the
 * reset known to stop its DMA and interrupts) is not something the kernel
 * can tell; platreset's policy decides it, and "platreset kmod" writes the
 * list of compatibles this module takes:
 *
 *   modprobe vfio-platform-reset-generic compatibles="vendor,a;vendor,b"
 *
 * The handler takes every line of the node exclusively, as one array, and
 * calls reset_control_reset().  A controller without a .reset operation
 * (reset-simple probed from DT, for one) makes that fail with -ENOTSUPP;
 * with pulse_us set, the lines are then asserted, held pulse_us and
 * released instead.  The framework undoes a partial assert or deassert of
 * an array, and the lines are released again before the handler returns,
 * so the device's host driver can take them back after unbinding.
 *
 * At load, every node of each compatible must have reset lines no other
 * node of the tree lists (enabled or not): a shared line makes that
 * compatible refused, naming the sharer, and no handler is registered for
 * it.  Each reset then takes the lines exclusively, so a line a driver
 * holds at that moment fails the reset (and the open) instead of pulling
 * the other device into reset.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/reset.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vfio_platform_private.h"

#define MAX_COMPATIBLES 64

static char *compatibles;
module_param(compatibles, charp, 0444);
MODULE_PARM_DESC(compatibles,
		 "compatibles to reset through their DT reset lines, separated by ';' (written by platreset kmod)");

static unsigned int pulse_us;
module_param(pulse_us, uint, 0644);
MODULE_PARM_DESC(pulse_us,
		 "when a controller has no .reset: assert, hold this long (us), release; 0 refuses such controllers");

struct generic_reset {
	struct vfio_platform_reset_node node;
	struct list_head link;
};

static LIST_HEAD(registered);

static int vfio_platform_reset_generic(struct vfio_platform_device *vdev)
{
	struct device_node *np = vdev->device->of_node;
	struct reset_control *rstc;
	unsigned int hold = READ_ONCE(pulse_us);
	int lines, ret;

	lines = of_count_phandle_with_args(np, "resets", "#reset-cells");
	if (lines <= 0) {
		dev_err(vdev->device, "generic reset: %pOF has no resets\n", np);
		return -ENOENT;
	}
	rstc = of_reset_control_array_get_exclusive(np);
	if (IS_ERR(rstc)) {
		ret = PTR_ERR(rstc);
		dev_err(vdev->device,
			"generic reset: cannot take the %d reset line(s) of %pOF exclusively: %d\n",
			lines, np, ret);
		return ret;
	}
	ret = reset_control_reset(rstc);
	if (!ret) {
		dev_info(vdev->device, "generic reset: %d line(s) reset\n", lines);
	} else if (ret == -ENOTSUPP && hold) {
		ret = reset_control_assert(rstc);
		if (!ret) {
			fsleep(hold);
			ret = reset_control_deassert(rstc);
		}
		if (!ret)
			dev_info(vdev->device,
				 "generic reset: %d line(s) asserted for %u us, released\n",
				 lines, hold);
	}
	if (ret)
		dev_err(vdev->device, "generic reset of %pOF failed: %d\n", np, ret);
	reset_control_put(rstc);
	return ret;
}

/* Whether reset specifier i of a and specifier j of b name the same line. */
static bool same_line(struct device_node *a, int i, struct device_node *b, int j)
{
	struct of_phandle_args x, y;
	bool same = false;

	if (of_parse_phandle_with_args(a, "resets", "#reset-cells", i, &x))
		return false;
	if (!of_parse_phandle_with_args(b, "resets", "#reset-cells", j, &y)) {
		same = x.np == y.np && x.args_count == y.args_count &&
		       !memcmp(x.args, y.args, x.args_count * sizeof(x.args[0]));
		of_node_put(y.np);
	}
	of_node_put(x.np);
	return same;
}

/*
 * Another node of the whole tree that lists one of np's reset lines, with
 * a reference the caller puts; NULL when every line is np's alone.  The
 * tree is searched rather than the lines taken: a second get of a line
 * someone holds makes the reset core warn, and the device's own driver may
 * still hold its lines while this module loads.
 */
static struct device_node *sharer_of(struct device_node *np)
{
	struct device_node *other;
	int i, j, n, m;

	n = of_count_phandle_with_args(np, "resets", "#reset-cells");
	for_each_node_with_property(other, "resets") {
		if (other == np)
			continue;
		m = of_count_phandle_with_args(other, "resets", "#reset-cells");
		for (i = 0; i < n; i++)
			for (j = 0; j < m; j++)
				if (same_line(np, i, other, j))
					return other;
	}
	return NULL;
}

/*
 * Marks refused[i] for each compatible with no node in the tree, or a node
 * without resets or with a line another node also lists.
 */
static void check_dedicated(char **compat, int count, bool *refused)
{
	struct device_node *np, *sharer;
	int i, found;

	for (i = 0; i < count; i++) {
		found = 0;
		for_each_compatible_node(np, NULL, compat[i]) {
			found++;
			if (of_count_phandle_with_args(np, "resets", "#reset-cells") <= 0) {
				pr_err("%s: %pOF has no resets: not registering it\n",
				       compat[i], np);
				refused[i] = true;
				continue;
			}
			sharer = sharer_of(np);
			if (!sharer)
				continue;
			pr_err("%s: %pOF shares a reset line with %pOF (%s): not registering it\n",
			       compat[i], np, sharer,
			       of_device_is_available(sharer) ? "enabled" : "disabled");
			of_node_put(sharer);
			refused[i] = true;
		}
		if (!found) {
			pr_err("%s: no node of this compatible in the device tree: not registering it\n",
			       compat[i]);
			refused[i] = true;
		}
	}
}

static void unregister_all(void)
{
	struct generic_reset *entry, *tmp;

	list_for_each_entry_safe(entry, tmp, &registered, link) {
		vfio_platform_unregister_reset(entry->node.compat,
					       vfio_platform_reset_generic);
		list_del(&entry->link);
		kfree(entry->node.compat);
		kfree(entry);
	}
}

static int __init vfio_platform_reset_generic_init(void)
{
	char *list, *cursor, *name;
	char *compat[MAX_COMPATIBLES];
	bool refused[MAX_COMPATIBLES] = { false };
	int count = 0, i, ret = 0;

	if (!compatibles || !*compatibles) {
		pr_err("no compatibles given: load it with compatibles=\"vendor,a;vendor,b\" (platreset kmod writes the line)\n");
		return -EINVAL;
	}
	list = kstrdup(compatibles, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	cursor = list;
	while ((name = strsep(&cursor, ";"))) {
		name = strim(name);
		if (!*name)
			continue;
		for (i = 0; i < count && strcmp(compat[i], name); i++)
			;
		if (i < count)
			continue;
		if (count == MAX_COMPATIBLES) {
			pr_err("more than %d compatibles given\n", MAX_COMPATIBLES);
			ret = -E2BIG;
			goto out;
		}
		compat[count++] = name;
	}
	check_dedicated(compat, count, refused);
	for (i = 0; i < count; i++) {
		struct generic_reset *entry;

		if (refused[i])
			continue;
		entry = kzalloc(sizeof(*entry), GFP_KERNEL);
		if (entry)
			entry->node.compat = kstrdup(compat[i], GFP_KERNEL);
		if (!entry || !entry->node.compat) {
			kfree(entry);
			unregister_all();
			ret = -ENOMEM;
			goto out;
		}
		entry->node.owner = THIS_MODULE;
		entry->node.of_reset = vfio_platform_reset_generic;
		__vfio_platform_register_reset(&entry->node);
		list_add_tail(&entry->link, &registered);
		pr_info("%s: registered\n", compat[i]);
	}
	if (list_empty(&registered)) {
		pr_err("no compatible could be registered\n");
		ret = -ENODEV;
	}
out:
	kfree(list);
	return ret;
}

static void __exit vfio_platform_reset_generic_exit(void)
{
	unregister_all();
}

module_init(vfio_platform_reset_generic_init);
module_exit(vfio_platform_reset_generic_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-platform reset through a device's DT reset lines, for the compatibles platreset's policy finds safe");
