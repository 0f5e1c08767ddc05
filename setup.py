"""Build script: the Cython extensions ``actors._core`` (laid out like uvloop) and
``actors.dist._etf`` (the External Term Format codec)."""
import os

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

annotate = bool(os.environ.get("ACTORS_CYTHON_ANNOTATE"))


class BuildExt(build_ext):
    """Optimise as hard as each compiler spells it: ``-O3`` for GCC and Clang,
    ``/O2`` for MSVC (which rejects ``-O3``)."""

    def build_extensions(self) -> None:
        flags = ["/O2"] if self.compiler.compiler_type == "msvc" else ["-O3"]
        for ext in self.extensions:
            ext.extra_compile_args = flags + list(ext.extra_compile_args or [])
        super().build_extensions()


extensions = [
    Extension(
        "actors._core",
        ["src/actors/_core.pyx"],
        include_dirs=["src/actors"],
    ),
    # The External Term Format codec of the Erlang distribution (actors.dist.etf).
    Extension("actors.dist._etf", ["src/actors/dist/_etf.pyx"]),
]

setup(
    cmdclass={"build_ext": BuildExt},
    ext_modules=cythonize(
        extensions,
        annotate=annotate,
        compiler_directives={"language_level": "3"},
    ),
)
