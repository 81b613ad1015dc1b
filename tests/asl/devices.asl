/*
 * ACPI fixture for platreset's AML reader: devices with and without _RST, a device whose _RST is
 * added from an outer Scope by path, nested scopes reached with a parent prefix (^), dual- and
 * multi-segment names, EISAID and string _HID/_CID, a _CID package, a power resource with _PRR,
 * and objects the reader must skip by their package length.
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
            })
        }

        Device (UAR0)
        {
            Name (_HID, EisaId ("PNP0501"))
            Name (_CID, Package (0x02) { EisaId ("PNP0500"), "ARMH0011" })
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
            Device (GPU0)
            {
                Name (_HID, "PRP0001")
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
    }
}
