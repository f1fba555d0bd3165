"""The INT8 instruction sets this CPU offers ONNX Runtime's kernels, and what they mean for saturation.

Which of several VNNI-class kernels ONNX Runtime picks (AMX needs the kernel's permission, for one)
is its own choice; all of them sum into 32 bits, so the line names what is there, not the pick.

x86-64: AMX, AVX-512 VNNI or AVX-VNNI add u8 x s8 products straight into 32 bits; AVX2 alone uses
VPMADDUBSW, whose 16-bit pair sums saturate with full 8-bit weights (exact with 7-bit ones).
ARM64: SDOT/UDOT (the dot-product extension) or I8MM, else widening NEON; all exact.
"""

from __future__ import annotations

import platform
from pathlib import Path


def cpuinfo() -> dict:
    """The first value of each field of Linux's /proc/cpuinfo ({} elsewhere)."""
    path = Path("/proc/cpuinfo")
    fields = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_features() -> set:
    """Instruction-set names this CPU reports: NumPy's own run-time detection (CPUID on x86,
    HWCAP on ARM), plus the Linux flags NumPy does not name (AVX-VNNI, AMX, I8MM), unless
    /proc/cpuinfo describes another CPU than the one running us (an emulator passes the host's)."""
    try:
        from numpy.core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy 2 moved it
        from numpy._core._multiarray_umath import __cpu_features__
    features = {name.lower() for name, present in __cpu_features__.items() if present}
    info = cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    if ("avx512f" in flags) == ("avx512f" in features):
        features |= flags & {"avx_vnni", "amx_int8", "i8mm"}
    return features


def cpu_name() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what the platform module knows."""
    info = cpuinfo()
    name = info.get("model name") or info.get("Model") or info.get("Hardware")
    return name or platform.processor() or platform.machine()


def int8_path(machine: str | None = None, features: set | None = None) -> str:
    """One line naming the INT8 product kernel of this machine (or of `machine` with `features`)."""
    machine = (machine or platform.machine()).lower()
    features = cpu_features() if features is None else features
    if machine in ("x86_64", "amd64", "i686", "x86"):
        has = {"AMX-INT8": "amx_int8" in features,
               "AVX-512 VNNI": bool(features & {"avx512_clx", "avx512_icl"}),
               "AVX-VNNI": "avx_vnni" in features}
        vnni = [name for name, present in has.items() if present]
        if vnni:
            return f"x86-64 with {', '.join(vnni)} (32-bit sums, no saturation)"
        if "avx2" in features:
            return ("x86-64 AVX2 without VNNI (VPMADDUBSW: 16-bit pair sums, which saturate with 8-bit "
                    "weights; exact with 7-bit ones)")
        return "x86-64 SSE (widening 16-bit products, no saturation)"
    if machine in ("aarch64", "arm64"):
        if "i8mm" in features:
            return "ARM64 with I8MM and dot product (no saturation)"
        if "asimddp" in features:
            return "ARM64 with dot product SDOT/UDOT (no saturation)"
        return "ARM64 NEON without dot product (widening products, no saturation)"
    return f"{machine}: ONNX Runtime's portable kernel"
