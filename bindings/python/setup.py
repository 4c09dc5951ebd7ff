"""setuptools entry point: cffi's build hook cannot be declared in pyproject.toml."""

from setuptools import setup
from setuptools.command.build_ext import build_ext


class BuildExtAlwaysLink(build_ext):
    """Always relinks: the static core library may have changed while the generated C
    file did not, and setuptools only compares the latter's timestamps."""

    def initialize_options(self):
        super().initialize_options()
        self.force = True


setup(cffi_modules=["weft/_build.py:ffibuilder"], cmdclass={"build_ext": BuildExtAlwaysLink})
