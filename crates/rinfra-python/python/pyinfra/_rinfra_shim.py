"""What rinfra's Rust side calls: set up the run's state and inventory, run deploy files for a
host, and call deploy functions at execute time with that host current."""

import logging
import os
import sys

import _rinfra
from pyinfra import context
from pyinfra.api.config import Config
from pyinfra.api.host import Host
from pyinfra.api.inventory import Inventory
from pyinfra.api.state import State


class _RinfraHandler(logging.Handler):
    def emit(self, record):
        try:
            message = self.format(record)
        except Exception:  # a bad format string must not stop the deploy
            message = str(record.msg)
        host = context.ctx_host.get()
        _rinfra.log(record.levelno, message, host.name if host is not None else None)


def _setup_logging():
    logger = logging.getLogger("pyinfra")
    if not any(isinstance(h, _RinfraHandler) for h in logger.handlers):
        logger.addHandler(_RinfraHandler())
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


_hosts = []


def setup(hosts, groups, cwd, config):
    """`hosts`: (name, groups, data) in state order; `groups`: name -> host names."""
    global _hosts
    _setup_logging()
    _hosts = [Host(name, g, data, index=i) for i, (name, g, data) in enumerate(hosts)]
    inventory = Inventory(_hosts, groups)
    state = State(inventory=inventory, config=Config(config), cwd=cwd)
    context.ctx_state.set(state)
    context.ctx_inventory.set(inventory)
    if cwd and cwd not in sys.path:
        sys.path.insert(0, cwd)


def _run_globals(path):
    return {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}


def begin_host(index, config):
    """Make host `index` and a fresh copy of the config current on this thread."""
    context.ctx_host.set(_hosts[index])
    context.ctx_config.set(Config(config))


def run_file(path, code, n):
    """Run one deploy file's code for the current host."""
    state = context.ctx_state.get()
    state.current_op_file_number = n
    state.current_deploy_filename = path
    exec(code, _run_globals(path))


def end_host():
    context.ctx_host.reset()
    context.ctx_config.reset()


def compile_file(path):
    with open(path, "rb") as f:
        source = f.read()
    return compile(source, path, "exec")


def exec_file(path):
    """`local.include`: run another file here."""
    with open(path, "rb") as f:
        source = f.read()
    exec(compile(source, path, "exec"), _run_globals(path))


def call_for_host(index, function, args, kwargs):
    """Call deploy code at execute time with host `index` current."""
    with context.ctx_host.use(_hosts[index]):
        return function(*args, **kwargs)


def run_operation(index, function, args, kwargs):
    """A Python `@operation`'s generator, for host `index`: the commands it yields."""
    host = _hosts[index]
    with context.ctx_host.use(host):
        host.in_op = True
        try:
            return list(function(*args, **kwargs))
        finally:
            host.in_op = False


def exec_data_file(path):
    """Run an inventory, group_data or config file; returns its top-level names."""
    with open(path, "rb") as f:
        source = f.read()
    scope = {"__name__": "__rinfra_data__", "__file__": path, "__builtins__": __builtins__}
    exec(compile(source, path, "exec"), scope)
    return scope


def exec_config_file(path):
    """Run a config.py with `config` current (pyinfra 3's `config.SUDO = True`); returns
    the names it set on `config`, and its top-level names (the pyinfra 2 form, `SUDO = True`)."""
    from pyinfra.api.config import CONFIG_CHECKERS

    config = Config()
    with context.ctx_config.use(config):
        scope = exec_data_file(path)
    names = data_names(scope)
    # The top-level form is checked as `config.X = ...` is (pyinfra's Config.__setattr__).
    for key, checker in CONFIG_CHECKERS.items():
        if key in names:
            try:
                checker(names[key])
            except Exception as e:
                from pyinfra.api.exceptions import PyinfraError

                # The caller names the file (`cannot load the config file ...`).
                raise PyinfraError(f"{key}: {e}") from None
    return config.get_changed(), names


def _is_data(name, value):
    import types

    return not (
        name.startswith("_")
        or isinstance(value, (types.ModuleType, type))
        or callable(value)
    )


def data_names(scope):
    """A group_data or config file's public top-level values."""
    return {k: v for k, v in scope.items() if _is_data(k, v)}


def _imported_names(path):
    """Names bound by a file's top-level imports (pyinfra's `_get_imported_names`)."""
    import ast

    with open(path, "rb") as f:
        tree = ast.parse(f.read(), filename=path)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name)
    return names


def group_data_names(scope, path):
    """A group_data file's data, as pyinfra takes it: the names in `__all__` when it is set,
    else the top-level names less `__x` ones and those bound by imports (issue #1297); `_x`
    names are data (`_sudo = True`). Modules, classes and functions are left out (host data is
    JSON)."""
    import types

    if "__all__" in scope:
        keys = set(scope["__all__"])
    else:
        keys = set(scope) - _imported_names(path)
    return {
        k: v
        for k, v in scope.items()
        if k in keys
        and not k.startswith("__")
        and not isinstance(v, (types.ModuleType, type))
        and not callable(v)
    }


def inventory_groups(scope):
    """An inventory file's groups: `(name, [(host, data)], data)`, and the names of lists that
    are not groups of hosts."""
    groups, ignored = [], []
    for name, value in scope.items():
        if not _is_data(name, value):
            continue
        data = {}
        if (
            isinstance(value, tuple)
            and len(value) == 2
            and isinstance(value[0], (list, tuple))
            and isinstance(value[1], dict)
        ):
            value, data = value
        elif not isinstance(value, (list, tuple)):
            continue
        hosts = []
        for item in value:
            if isinstance(item, str):
                hosts.append((item, {}))
            elif (
                isinstance(item, tuple)
                and len(item) == 2
                and isinstance(item[0], str)
                and isinstance(item[1], dict)
            ):
                hosts.append(item)
            else:
                hosts = None
                break
        if hosts is None:
            ignored.append(name)
        else:
            groups.append((name, hosts, data))
    return groups, ignored


def connector_entry_points():
    """`(name, "module:Class")` of the environment's `pyinfra.connectors` entry points, less
    pyinfra's own (rinfra has those built in)."""
    from importlib.metadata import entry_points

    out = []
    for ep in entry_points(group="pyinfra.connectors"):
        if ep.value.startswith("pyinfra.") or ep.value.startswith("pyinfra:"):
            continue
        out.append((ep.name, ep.value))
    return out


def load_connector(value):
    """The class an entry point names (`module:Class`)."""
    import importlib

    module, _, attr = value.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def connector_names_data(cls, arg):
    """`make_names_data(arg)` as `[(name, data, groups)]`."""
    out = []
    for item in cls.make_names_data(arg):
        name, data, groups = item
        out.append((str(name), dict(data or {}), [str(g) for g in (groups or [])]))
    return out


def new_connector(cls, name, data, groups):
    """An instance of a Python connector for one host."""
    host = Host(name, groups, data)
    state = context.ctx_state.get() or State()
    instance = cls(state, host)
    return instance


def command_output_lines(output):
    """A connector's `CommandOutput` as `[(stream, line)]`."""
    lines = getattr(output, "combined_lines", None)
    if lines is None:
        lines = list(output)
    return [(getattr(l, "buffer_name", "stdout"), str(getattr(l, "line", l))) for l in lines]


def import_attribute(path, prefix=None):
    """pyinfra's `module.attr` / `module:attr` lookup (`tasks.install`, then
    `pyinfra.operations.tasks`): the attribute, or None when no candidate module has it."""
    import importlib
    import importlib.util

    if ":" in path:
        mod_path, attr = path.rsplit(":", 1)
    elif "." in path:
        mod_path, attr = path.rsplit(".", 1)
    else:
        return None
    candidates = [mod_path] + ([f"{prefix}.{mod_path}"] if prefix else [])
    for candidate in candidates:
        try:
            if importlib.util.find_spec(candidate) is None:
                continue
        except (ModuleNotFoundError, ValueError):
            continue
        value = getattr(importlib.import_module(candidate), attr, None)
        if value is not None:
            return value
    return None


def run_function(function, args, kwargs):
    """A deploy function given on the command line, for the current host."""
    function(*args, **kwargs)


def inventory_from_function(value):
    """A `module:function` (or `module.attr`) inventory: a function returning
    `{group: hosts or (hosts, data)}`, or a list of hosts. Returns `(groups, ignored)` as
    `inventory_groups` does."""
    if callable(value):
        groups = value()
        if not isinstance(groups, dict):
            raise TypeError(f"inventory function {value.__name__} did not return a dictionary")
    elif isinstance(value, (list, tuple)):
        groups = {"all": list(value)}
    else:
        raise TypeError(f"inventory attribute is not a list, tuple or function: {type(value).__name__}")
    return inventory_groups(groups)
