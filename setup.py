"""Build hook: the JSON schemas in schemas/ (generated, checked by CI) ship inside the package.

They stay at the repository root, where editors and the example files find them
(`$schema=../../schemas/config.schema.json`); the wheel carries a copy as
reconciler/schemas/*.json, which `reconciler schema` prints. Everything else is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithSchemas(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "reconciler" / "schemas"
        self.mkpath(str(target))
        for src in sorted((ROOT / "schemas").glob("*.json")):
            self.copy_file(str(src), str(target / src.name))


setup(cmdclass={"build_py": BuildWithSchemas})
