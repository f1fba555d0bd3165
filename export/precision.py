"""The numeric precision of an exported encoder, as one enum.

Strings from the user are parsed once, where they come in (`signclip export --precision`, or
`ExportOptions` from Python); past that, code compares members. The members are `str`s whose value
is what bundles and reports carry ("fp32", "fp16", "int8"), so files read the same as before.

(Its own module rather than formats.py: the format table imports the builders, which need it.)
"""

from __future__ import annotations

import enum

from signclip.runtime.errors import SignclipError


class Precision(str, enum.Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"

    def __str__(self) -> str:  # f-strings and str() give the value, as they did for the plain string
        return self.value

    @classmethod
    def parse(cls, text, valid=None, flag: str = "--precision") -> Precision:
        """The member for `text` (a string or a member) if it is one of `valid` (default: all), else one
        SignclipError line naming the valid values."""
        valid = tuple(cls) if valid is None else tuple(valid)
        try:
            member = cls(text)
        except ValueError:
            member = None
        if member not in valid:
            raise SignclipError(f"{flag} {str(text)!r}; valid: {', '.join(v.value for v in valid)}")
        return member


TENSORRT_PRECISIONS = (Precision.FP16, Precision.INT8)   # --precision (--format tensorrt)
TENSORRT_DEFAULT = Precision.FP16
