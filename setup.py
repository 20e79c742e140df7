"""Packaging the part pyproject.toml cannot say: ``templates/`` and ``static/`` live at the
repository's top level (where the page's authors edit them) and ship inside the import package,
as ``app/templates`` and ``app/static``, in the wheel and in the sdist.

Every other setting is in pyproject.toml. Packages are discovered here (not listed) so a new room
under ``app/`` ships without touching this file.
"""

from setuptools import find_packages, setup

ASSETS = {"app.templates": "templates", "app.static": "static"}

setup(
    packages=find_packages(include=["app", "app.*"]) + list(ASSETS),
    package_dir=ASSETS,
    package_data={name: ["**/*"] for name in ASSETS},
)
