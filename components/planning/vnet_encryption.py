"""Azure Virtual Network encryption: which VM sizes it covers. Pure data, no Pulumi.

Source: Microsoft Learn, "What is Azure Virtual Network encryption?"
(https://learn.microsoft.com/azure/virtual-network/virtual-network-encryption-overview; MicrosoftDocs/azure-docs
articles/virtual-network/virtual-network-encryption-overview.md), section "Requirements":

- encryption is supported on the VM series in `SUPPORTED_SERIES` below (the page's table: general purpose D v4/v5/v6,
  memory intensive E v4/v5/v6 and M v2/v3, storage intensive L v3, compute optimized F v6);
- Accelerated Networking must be enabled on the VM's network interface;
- only traffic between VMs, private IP to private IP, is encrypted; traffic to an unsupported VM stays unencrypted
  (virtual network flow logs show, per flow, whether it was encrypted);
- existing VMs must be stopped and started after encryption is turned on in their VNet.

Limitations on the same page: `AllowUnencrypted` is the only enforcement supported at general availability
(`DropUnencrypted` "will be supported in the future"); behind an internal load balancer every VM must be a supported
size; a VNet with encryption does not support Azure DNS Private Resolver, and one configured with an Azure Private Link
*service* should not enable it (private endpoints, which this toolkit uses, are not a Private Link service).

A size name is `Standard_<family><vCPUs>[-<constrained vCPUs>]<features>[_<memory tier>]_v<generation>`
(https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions): the series is family + features +
generation, e.g. Standard_E8ds_v5 is the Edsv5 series.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The enforcement modes of the ARM property `encryption.enforcement` on Microsoft.Network/virtualNetworks, and the one
# Azure supports at general availability (the page above, "Limitations").
ENFORCEMENT_MODES = ("AllowUnencrypted", "DropUnencrypted")
SUPPORTED_ENFORCEMENT = "AllowUnencrypted"


@dataclass(frozen=True)
class Series:
    """A row of the page's table: its documented name, and the family, feature letters and generation of its sizes."""

    documented: str
    family: str
    features: frozenset[str]
    generation: int


def _row(documented: str, family: str, generation: int, *features: str) -> Series:
    return Series(documented, family, frozenset(features), generation)


SUPPORTED_SERIES: tuple[Series, ...] = (
    # General purpose: D-series v4, v5, v6.
    _row("Dv4 and Dsv4", "D", 4, "", "s"),
    _row("Ddv4 and Ddsv4", "D", 4, "d", "ds"),
    _row("Dav4 and Dasv4", "D", 4, "a", "as"),
    _row("Dv5 and Dsv5", "D", 5, "", "s"),
    _row("Ddv5 and Ddsv5", "D", 5, "d", "ds"),
    _row("Dlsv5 and Dldsv5", "D", 5, "ls", "lds"),
    _row("Dasv5 and Dadsv5", "D", 5, "as", "ads"),
    _row("Dasv6 and Dadsv6", "D", 6, "as", "ads"),
    _row("Dalsv6 and Daldsv6", "D", 6, "als", "alds"),
    _row("Dsv6", "D", 6, "s"),
    # Memory intensive: E-series v4, v5, v6; M-series v2, v3 (sizes carry m for memory-heavy and i for isolated,
    # https://learn.microsoft.com/azure/virtual-machines/sizes/memory-optimized/msv2-mdsv2-series).
    _row("Ev4 and Esv4", "E", 4, "", "s"),
    _row("Edv4 and Edsv4", "E", 4, "d", "ds"),
    _row("Eav4 and Easv4", "E", 4, "a", "as"),
    _row("Ev5 and Esv5", "E", 5, "", "s"),
    _row("Edv5 and Edsv5", "E", 5, "d", "ds"),
    _row("Easv5 and Eadsv5", "E", 5, "as", "ads"),
    _row("Easv6 and Eadsv6", "E", 6, "as", "ads"),
    _row("Mv2, Msv2 and Mdsv2 Medium Memory", "M", 2, "s", "ms", "is", "ims", "ds", "dms", "ids", "idms"),
    _row("Msv3 and Mdsv3 Medium Memory", "M", 3, "s", "ds"),
    # Storage intensive: L-series v3.
    _row("LSv3", "L", 3, "s"),
    # Compute optimized: F-series v6.
    _row("Falsv6", "F", 6, "als"),
    _row("Famsv6", "F", 6, "ams"),
    _row("Fasv6", "F", 6, "as"),
)

_SIZE = re.compile(r"Standard_([A-Z]+)(\d+)(?:-\d+)?([a-z]*)(?:_\d+)?_v(\d+)")


def series_of(size: str) -> Series | None:
    """The supported series `size` belongs to, or None (an unsupported series, or a name outside the convention)."""
    m = _SIZE.fullmatch(size)
    if m is None:
        return None
    family, _, features, generation = m.groups()
    for series in SUPPORTED_SERIES:
        if series.family == family and series.generation == int(generation) and features in series.features:
            return series
    return None


def supports_vnet_encryption(size: str) -> bool:
    return series_of(size) is not None


def unsupported_sizes(sizes: tuple[str, ...] | list[str]) -> list[str]:
    """The sizes of `sizes` whose traffic Azure Virtual Network encryption does not cover, in their given order."""
    return [size for size in sizes if not supports_vnet_encryption(size)]


def unsupported_reason(sizes: list[str]) -> str:
    """One reason naming every unsupported size at once."""
    listed = ", ".join(sizes)
    return (f"{listed}: not a VM series Azure Virtual Network encryption supports, so traffic to and from "
            f"{'it' if len(sizes) == 1 else 'them'} would cross the encrypted VNet in clear text; use a size of a "
            "supported series (e.g. Ddsv5, Edsv5, Dadsv5; the table in components/planning/vnet_encryption.py, from "
            "learn.microsoft.com/azure/virtual-network/virtual-network-encryption-overview) or turn "
            "network.vnet_encryption.enabled off outside prod")
