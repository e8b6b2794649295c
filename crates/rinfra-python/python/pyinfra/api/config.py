"""`Config`: pyinfra's config names (`config.SUDO = True`); each host's deploy has its own
copy, so a change in deploy code applies to the operations after it, for that host."""

import os

import _rinfra
from pyinfra.api.exceptions import PyinfraError


class Config:
    def __init__(self, values=None):
        object.__setattr__(self, "_values", dict(_rinfra.config_defaults()))
        object.__setattr__(self, "_changed", {})
        for k, v in (values or {}).items():
            self._values[k] = v
            self._changed[k] = v

    def __getattr__(self, key):
        values = object.__getattribute__(self, "_values")
        if key in values:
            return values[key]
        raise AttributeError(f"config has no `{key}`")

    def __setattr__(self, key, value):
        if key.isupper():
            _rinfra.check_config_name(key)
        self._values[key] = value
        self._changed[key] = value
        checker = CONFIG_CHECKERS.get(key)
        if checker:
            checker(value)

    def get_changed(self):
        return dict(self._changed)

    def get_current_state(self):
        return (dict(self._values), dict(self._changed))

    def set_current_state(self, saved):
        object.__setattr__(self, "_values", dict(saved[0]))
        object.__setattr__(self, "_changed", dict(saved[1]))

    def copy(self):
        c = Config()
        c.set_current_state(self.get_current_state())
        return c


def _packaging(name):
    """`packaging` (pyinfra's dependency), else the copy pip carries; rinfra itself needs
    neither, so without both the requirement is refused rather than ignored."""
    try:
        import packaging.requirements
        import packaging.specifiers
        import packaging.markers  # noqa: F401

        return packaging
    except ImportError:
        pass
    try:
        from pip._vendor import packaging
        import pip._vendor.packaging.requirements
        import pip._vendor.packaging.specifiers  # noqa: F401

        return packaging
    except ImportError:
        import sys

        raise PyinfraError(
            f"{name} cannot be checked: it needs the Python package `packaging` (or pip) in "
            f"the Python environment rinfra runs deploys with ({sys.prefix})"
        ) from None


def check_pyinfra_version(required):
    """pyinfra's check: the running pyinfra version (rinfra implements pyinfra's API of
    this version) must be in the PEP 440 specifier set."""
    if not required:
        return
    from pyinfra import __version__

    packaging = _packaging("REQUIRE_PYINFRA_VERSION")
    if __version__ not in packaging.specifiers.SpecifierSet(required):
        raise PyinfraError(
            f"pyinfra version requirement not met (requires {required}, running "
            f"{__version__}: rinfra implements pyinfra {__version__})"
        )


def _requirements_not_met(packaging, requirements):
    """The requirements (and, recursively, their installed dependencies' requirements) no
    installed distribution satisfies, as pyinfra checks them."""
    import importlib.metadata as metadata

    Requirement = packaging.requirements.Requirement
    todo = [Requirement(r) for r in requirements]
    seen = set()
    missing = []
    while todo:
        req = todo.pop()
        if str(req) in seen:
            continue
        seen.add(str(req))
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            missing.append(req)
            continue
        if not req.specifier.contains(dist.version, prereleases=True):
            missing.append(req)
            continue
        envs = [{"extra": e} for e in req.extras] or [{"extra": ""}]
        for dep in dist.requires or []:
            dep = Requirement(dep)
            if dep.marker is None or any(dep.marker.evaluate(env) for env in envs):
                todo.append(dep)
    return missing


def check_require_packages(requirements_config):
    """pyinfra's REQUIRE_PACKAGES: a list of requirements, or a requirements file (relative
    to the working directory), installed in the Python environment deploys run with."""
    if not requirements_config:
        return
    if isinstance(requirements_config, (list, tuple)):
        requirements = list(requirements_config)
    else:
        with open(os.path.join(os.getcwd(), requirements_config), encoding="utf-8") as f:
            requirements = [line.split("#egg=")[-1] for line in f.read().splitlines()]
    packaging = _packaging("REQUIRE_PACKAGES")
    missing = _requirements_not_met(packaging, requirements)
    if missing:
        raise PyinfraError(
            f"Deploy requirements ({requirements_config}) not met: missing "
            + ", ".join(str(r) for r in missing)
        )


CONFIG_CHECKERS = {
    "REQUIRE_PYINFRA_VERSION": check_pyinfra_version,
    "REQUIRE_PACKAGES": check_require_packages,
}
