"""The compiled kernel (r1data/_minhash.c): MinHash signatures, the normal form's tokens, Jaccard estimates, the
number-change rule and the keep sweeps. It is optional: without it (no C compiler at install, `R1DATA_NO_KERNEL=1`, or
a build from another version of r1data) every caller takes its numpy/Python path, which gives the same values.

The kernel is stamped with an interface version (`VERSION`, set in the C source); it is used only when the stamp is
the one this code was written for, never probed function by function.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

KERNEL_VERSION = 2  # r1data/_minhash.c's KERNEL_VERSION: raise both together

log = logging.getLogger(__name__)


@functools.cache
def kernel() -> Any | None:
    """The kernel module, or None where the slower, identical paths must run."""
    if os.environ.get("R1DATA_NO_KERNEL", "") not in ("", "0"):
        return None
    try:
        from r1data import _minhash
    except ImportError:
        return None
    found = getattr(_minhash, "VERSION", None)
    if found != KERNEL_VERSION:
        log.warning(
            "r1data's compiled kernel is version %s, this r1data needs %s: it is not used (same results, "
            "slower). Rebuild it: pip install -e . (or reinstall r1data).",
            found,
            KERNEL_VERSION,
        )
        return None
    return _minhash
