/*
 * ACPI fixture for platreset's AML reader: devices with and without _RST, a device whose _RST is
 * added from an outer Scope by path, nested scopes reached with a parent prefix (^), dual- and
 * multi-segment names, EISAID and string _HID/_CID, a _CID package, a power resource with _PRR,
 * and objects the reader must skip by their package length. _CRS: Memory32Fixed, DWordMemory and
 * QWordMemory (above 4 GiB; a producer window moved by its translation offset) among descriptors
 * that are not memory, a _CRS method (never evaluated), and a device without _CRS.
 */
DefinitionBlock ("", "DSDT", 2, "PLTRST", "DEVICES", 0x00000001)
{
    Scope (\_SB)
    {
        Device (ETH0)
        {
            Name (_HID, "AMDI8001")
            Name (_CID, "AMDI8002")
            Name (_UID, Zero)
            Method (_RST, 0, NotSerialized)
            {
                Return (Zero)
            }
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xE0700000, 0x00010000, )
                Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, ) { 0x00000040 }
                Memory32Fixed (ReadOnly, 0xE0710000, 0x00000100, )
            })
        }

        Device (UAR0)
        {
            Name (_HID, EisaId ("PNP0501"))
            Name (_CID, Package (0x02) { EisaId ("PNP0500"), "ARMH0011" })
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08, )
                DWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                    0x00000000, // Granularity
                    0xE1010000, // Range Minimum
                    0xE1010FFF, // Range Maximum
                    0x00000000, // Translation Offset
                    0x00001000, // Length
                    ,, , AddressRangeMemory, TypeStatic)
                IRQNoFlags () { 4 }
            })
            OperationRegion (UREG, SystemMemory, 0xE1010000, 0x1000)
            Field (UREG, DWordAcc, NoLock, Preserve)
            {
                DATA, 32
            }
        }

        PowerResource (PRST, 0x00, 0x0000)
        {
            Method (_STA, 0, NotSerialized) { Return (One) }
            Method (_ON, 0, NotSerialized) { }
            Method (_OFF, 0, NotSerialized) { }
            Method (_RST, 0, NotSerialized) { }
        }
        Device (DMA0)
        {
            Name (_HID, "ARMH0330")
            Name (_PRR, Package (0x01) { \_SB.PRST })
        }

        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A08"))
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x00FF, 0x0000, 0x0100, ,, )
                DWordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x00000000, 0x00000000, 0x0000FFFF, 0x3EFF0000, 0x00010000, ,, , TypeStatic, DenseTranslation)
                // PCI addresses 0x80000000-0xFFFFFFFF appear to the CPU at 0x3F80000000.
                QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                    0x0000000000000000, // Granularity
                    0x0000000080000000, // Range Minimum
                    0x00000000FFFFFFFF, // Range Maximum
                    0x0000003F00000000, // Translation Offset
                    0x0000000080000000, // Length
                    ,, , AddressRangeMemory, TypeStatic)
            })
            Device (GPU0)
            {
                Name (_HID, "PRP0001")
                Name (_CRS, ResourceTemplate ()
                {
                    QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed, Prefetchable, ReadWrite,
                        0x0000000000000000, // Granularity
                        0x0000004000000000, // Range Minimum
                        0x00000040FFFFFFFF, // Range Maximum
                        0x0000000000000000, // Translation Offset
                        0x0000000100000000, // Length
                        ,, , AddressRangeMemory, TypeStatic)
                    Memory32Fixed (ReadWrite, 0xE2000000, 0x01000000, )
                })
                Method (_STA, 0, NotSerialized)
                {
                    If (LEqual (One, One))
                    {
                        Return (0x0F)
                    }
                    Return (Zero)
                }
                Scope (^^DMA0)
                {
                    Method (_RST, 0, NotSerialized) { }
                }
            }
        }

    }

    Scope (\_SB.ETH0)
    {
        Name (EXTR, 0x1234)
    }

    Device (\_SB.PCI0.SATA)
    {
        Name (_HID, "AMDI0600")
    }

    Scope (\_SB.PCI0.SATA)
    {
        Method (_RST, 0, NotSerialized) { }
        // Its ranges exist only when the method runs: the reader must not report this buffer.
        Method (_CRS, 0, NotSerialized)
        {
            Return (ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xE3000000, 0x00002000, )
            })
        }
    }
}
