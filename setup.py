"""Build script: one Cython extension, ``actors._core`` (laid out like uvloop)."""
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

annotate = bool(os.environ.get("ACTORS_CYTHON_ANNOTATE"))

extensions = [
    Extension(
        "actors._core",
        ["src/actors/_core.pyx"],
        include_dirs=["src/actors"],
        extra_compile_args=["-O3"],
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        annotate=annotate,
        compiler_directives={"language_level": "3"},
    )
)
