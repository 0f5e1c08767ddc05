"""The version of actors, in one place: pyproject.toml reads it when building
(``[tool.setuptools.dynamic]``) and ``actors.__version__`` re-exports it.

The distribution is ``actors-otp`` on PyPI (``pip install actors-otp``); the
package it installs is ``actors`` (``import actors``).
"""

#: The name to ``pip install`` (the name ``actors`` on PyPI is another project).
DISTRIBUTION = "actors-otp"

__version__ = "0.2.0.dev0"
