# Shared by the guest scripts of crates/cli/tests/kernel.rs (sourced by each as /lib.sh). Each
# step prints "@@@ <name>", its output, then "@@@ rc <exit status>"; the test reads them from the
# serial console.
step() { name=$1; shift; echo "@@@ $name"; "$@"; echo "@@@ rc $?"; }
state() { echo "$(cat /sys/bus/platform/devices/$1/driver_override) $(readlink /sys/bus/platform/devices/$1/driver)"; }

# The devices of the rig's DT (crates/cli/tests/kernel.rs writes it on top of QEMU's dumpdtb):
# a reset-simple controller over RAM the kernel does not use (mem=256M), line 0 dedicated to
# transport 0 (a virtio-rng, first compatible platreset,rig-dedicated), line 1 shared by
# transports 1 (a virtio-rng) and 2 (empty), both platreset,rig-shared, and fw-cfg without any
# reset. Transport 3 (E) is empty, plain virtio,mmio.
RC=50000000.reset-controller
D=a000000.virtio_mmio
S=a000200.virtio_mmio
F=9020000.fw-cfg
E=a000600.virtio_mmio
# What platreset kmod would list for this board with --allow-pulse --trust-reset: the generic
# reset module takes the dedicated compatible and refuses the shared one itself.
GENERIC="compatibles=platreset,rig-dedicated;platreset,rig-shared"

# Kernel messages stay in the log (the dmesg step), not interleaved with JSON on the console.
dmesg -n 1
mkdir -p /run/lock
cd /lib/modules || exit 1
insmod virtio_mmio.ko && insmod virtio-rng.ko || exit 1
