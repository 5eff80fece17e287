"""Build backend: setuptools, except that it builds no wheel and no sdist for distribution.

Stepwise runs from a checkout. Flask finds templates/ and static/ beside app.py, and the starter
library in template_library/; a wheel of app.py, core/ and blueprints/ would install a server
that cannot render a page. So only the editable install (`make venv`, `pip install -e .`) is
built: it puts the checkout's own modules on the path and installs the pinned dependencies.
"""
from setuptools import build_meta as _setuptools

MESSAGE = ("Stepwise runs from a checkout and is not distributed as a wheel or sdist "
           "(its templates, static files and starter library stay in the checkout). "
           "Set it up with `make venv` (pip install -e '.[dev]'); see README.md.")


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise SystemExit(MESSAGE)


def build_sdist(sdist_directory, config_settings=None):
    raise SystemExit(MESSAGE)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    raise SystemExit(MESSAGE)  # pip asks this first: say why before anything else fails


# The editable install and the hooks pip asks before it.
build_editable = _setuptools.build_editable
get_requires_for_build_editable = _setuptools.get_requires_for_build_editable
prepare_metadata_for_build_editable = _setuptools.prepare_metadata_for_build_editable
get_requires_for_build_wheel = _setuptools.get_requires_for_build_wheel
get_requires_for_build_sdist = _setuptools.get_requires_for_build_sdist
