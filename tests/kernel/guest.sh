# Guest device trees platreset built from corpus devices (crates/cli/tests/kernel.rs): the
# kernel creates each device on QEMU's platform bus, with its parts (an MDIO bus and PHY,
# stmmac's queue configuration) beneath it, registers the stand-in fixed clocks, and the
# fixed-regulator driver takes the stand-in regulators at their voltages. No driver of the
# devices themselves is loaded (the rig inserts none), so nothing touches the empty window.
. /lib.sh
mount -t debugfs debugfs /sys/kernel/debug
step fixed insmod /lib/modules/$(uname -r)/kernel/drivers/regulator/fixed.ko
step devices sh -c 'for d in /sys/bus/platform/devices/*; do n=${d##*/}; c=$(tr "\0" " " < $d/of_node/compatible 2>/dev/null); echo "$n | $c"; done'
step children sh -c 'cd /sys/firmware/devicetree/base/platform-bus@c000000 && find . -name name | sort'
step clocks cat /sys/kernel/debug/clk/clk_summary
step regulators sh -c 'for r in /sys/class/regulator/regulator.*; do echo "$(cat $r/name) $(cat $r/microvolts 2>/dev/null)"; done'
