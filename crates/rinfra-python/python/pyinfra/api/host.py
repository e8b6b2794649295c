"""`Host` and `HostData`: the host a deploy runs for, its data and its facts."""

from contextlib import contextmanager
from copy import copy

import _rinfra


def extract_callable_datas(datas):
    for data in datas:
        if callable(data):
            data = data()
        yield data


class HostData:
    """`host.data`: override data (set by deploy code), the host's merged inventory data, then
    the `data_defaults` of the `@deploy` functions being run."""

    def __init__(self, host, *datas):
        self.__dict__["host"] = host
        self.__dict__["override_datas"] = {}
        self.__dict__["datas"] = (self.override_datas,) + tuple(datas)

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        for data in extract_callable_datas(self.datas):
            if key in data:
                return copy(data[key])
        raise AttributeError(f"Host `{self.host}` has no data `{key}`")

    def __setattr__(self, key, value):
        self.override_datas[key] = value

    def __contains__(self, key):
        return any(key in d for d in extract_callable_datas(self.datas))

    def __str__(self):
        return str(self.dict())

    def get(self, key, default=None):
        try:
            return self.__getattr__(key)
        except AttributeError:
            return default

    def dict(self):
        out = {}
        for data in reversed(list(extract_callable_datas(self.datas))):
            out.update(data)
        return out


class Host:
    """A target host: its name, groups, data and facts."""

    in_op = False
    in_callback_op = False
    in_deploy = False
    current_deploy_name = None
    current_deploy_kwargs = None
    current_deploy_data = None
    current_op_hash = None
    current_op_global_arguments = None
    connected = True

    def __init__(self, name, groups=(), data=None, index=None):
        self.name = name
        self.groups = list(groups)
        self.index = index
        self.loop_position = []
        self.connector_data = {}
        self.op_hash_order = []
        self._host_data = data or {}
        # (name, global arguments, conditions) of the @deploy functions being run, outermost first.
        self._deploys = []
        self._deploy_datas = []
        self.data = HostData(self, self._host_data, self._deploy_data)

    def _deploy_data(self):
        # Inner deploys' defaults win over outer ones.
        out = {}
        for d in reversed(self._deploy_datas):
            out.update(d or {})
        return out

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"Host({self.name})"

    def __eq__(self, other):
        if isinstance(other, Host):
            return self.name == other.name
        return NotImplemented

    def __hash__(self):
        return hash(self.name)

    @property
    def host_data(self):
        return self._host_data

    @property
    def print_prefix(self):
        return f"[{self.name}] "

    def style_print_prefix(self, *args, **kwargs):
        return self.print_prefix

    def loop(self, iterable):
        """Loop in deploy code so each pass's operations keep their own order."""
        self.loop_position.append(0)
        try:
            for i, item in enumerate(iterable):
                self.loop_position[-1] = i
                yield item
        finally:
            self.loop_position.pop()

    @contextmanager
    def deploy(self, name, kwargs, data, in_deploy=True):
        """Run the block as deploy `name` (`@deploy` and `local.include` use this)."""
        kwargs = dict(kwargs or {})
        conditions = kwargs.pop("_if", None)
        old = (self.in_deploy, self.current_deploy_name, self.current_deploy_kwargs)
        self.in_deploy = in_deploy or self.in_deploy
        # A name prefixes operation names (`local.include` passes the file's path); `when` and
        # `arguments` pass none.
        self._deploys.append((name or None, kwargs, conditions))
        self._deploy_datas.insert(0, data)
        self.current_deploy_name = name
        self.current_deploy_kwargs = kwargs
        try:
            yield
        finally:
            self._deploys.pop()
            self._deploy_datas.pop(0)
            self.in_deploy, self.current_deploy_name, self.current_deploy_kwargs = old

    def when(self, condition):
        """Run the block's operations only when `condition()` is true at execute time."""
        return self.deploy("", {"_if": [condition]}, {}, in_deploy=False)

    def arguments(self, **arguments):
        """Give the block's operations these global arguments (`_sudo=True`, ...)."""
        return self.deploy("", arguments, {}, in_deploy=False)

    def noop(self, description):
        """Say why an operation does nothing (shown with -v)."""
        _rinfra.noop(description)

    def get_fact(self, fact, *args, **kwargs):
        """Load `fact` for this host (cached; the deploy waits for it, other hosts go on)."""
        from pyinfra.api.facts import get_host_fact

        return get_host_fact(self, fact, args, kwargs)

    def run_shell_command(self, command, print_output=False, print_input=False, **arguments):
        """At execute time (a `python.call` function, an `_if` callable): run `command` on
        the host. Returns `(success, CommandOutput)`."""
        from pyinfra.api.command import StringCommand
        from pyinfra.connectors.util import CommandOutput, OutputLine

        if not isinstance(command, StringCommand):
            command = StringCommand(command)
        ok, lines = _rinfra.run_shell_command(command, arguments)
        return ok, CommandOutput([OutputLine(b, l) for b, l in lines])

    def connect(self, *args, **kwargs):
        return True

    def disconnect(self):
        pass
