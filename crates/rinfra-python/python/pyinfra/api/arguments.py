"""Global arguments (`_sudo`, `_env`, `name`, ...): rinfra's one table, as pyinfra's names."""

import _rinfra

# (name, kind) rows of rinfra's global-argument table.
_TABLE = _rinfra.global_arguments()

CONNECTOR_ARGUMENT_KEYS = tuple(n for n, kind in _TABLE if kind == "connector")
EXECUTION_KWARG_KEYS = tuple(n for n, kind in _TABLE if kind == "execution")
META_ARGUMENT_KEYS = tuple(n for n, kind in _TABLE if kind == "meta")


class ConnectorArguments(dict):
    """The connector arguments of a command (`_sudo`, `_su_user`, ...)."""


class AllArguments(dict):
    pass


def all_global_arguments():
    return [(n, None) for n, _ in _TABLE]


def pop_global_arguments(state, host, kwargs, keys_to_check=None):
    found = {k: kwargs.pop(k) for k in list(kwargs) if _rinfra.is_global_argument(k)}
    return found, list(found)
