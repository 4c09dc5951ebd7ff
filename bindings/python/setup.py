"""setuptools entry point: cffi's build hook cannot be declared in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["weft/_build.py:ffibuilder"])
