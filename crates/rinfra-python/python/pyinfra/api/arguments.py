"""Global arguments (`_sudo`, `_env`, `name`, ...): rinfra's one table, as pyinfra's names."""

import _rinfra

# (name, layer, config name, default, help) rows of rinfra's global-argument table.
_TABLE = _rinfra.global_arguments()

CONNECTOR_ARGUMENT_KEYS = tuple(row[0] for row in _TABLE if row[1] == "connector")
EXECUTION_KWARG_KEYS = tuple(row[0] for row in _TABLE if row[1] == "execution")
META_ARGUMENT_KEYS = tuple(row[0] for row in _TABLE if row[1] == "meta")


class ArgumentMeta:
    """pyinfra's description of a global argument."""

    def __init__(self, description, default=None, config=None):
        self.description = description
        self.default = default
        self.config = config


# pyinfra's name -> ArgumentMeta, for tools that list the arguments.
all_argument_meta = {row[0]: ArgumentMeta(row[4], row[3], row[2]) for row in _TABLE}


class ConnectorArguments(dict):
    """The connector arguments of a command (`_sudo`, `_su_user`, ...)."""


class AllArguments(dict):
    pass


def all_global_arguments():
    return list(all_argument_meta.items())


def pop_global_arguments(state, host, kwargs, keys_to_check=None):
    found = {k: kwargs.pop(k) for k in list(kwargs) if _rinfra.is_global_argument(k)}
    return found, list(found)
