"""Only for the optional C kernel; everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and r1data computes the
same MinHash signatures with numpy (slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("r1data._minhash", ["r1data/_minhash.c"], extra_compile_args=["-O3"], optional=True),
    ]
)
