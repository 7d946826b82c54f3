"""The one compiled module (the uniform line-protocol scan); everything else is in pyproject."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "kapacitor.lineprotocol._uniform",
            ["kapacitor/lineprotocol/_uniform.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
            optional=True,  # without a C compiler the per-line Python pass reads every body
        )
    ]
)
