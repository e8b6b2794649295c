"""Facts: pyinfra's `FactBase` for facts written in Python, and `get_fact`. Facts written in
Rust are classes of `pyinfra.facts.<module>` with a `_rinfra_name`."""

import inspect

import _rinfra
from pyinfra.api.exceptions import FactError


class FactBase:
    """A fact: `command()` run on the host, its output lines given to `process()`."""

    name = None
    abstract = True
    shell_executable = None
    _rinfra_name = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        module = cls.__module__.replace("pyinfra.facts.", "")
        cls.name = f"{module}.{cls.__name__}"

    def requires_command(self, *args, **kwargs):
        return None

    def check_preconditions(self, state, host):
        return None

    @staticmethod
    def default():
        return None

    def process(self, output):
        return "\n".join(output)

    def process_pipeline(self, args, output):
        return {arg: self.process([output[i]]) for i, arg in enumerate(args)}


class ShortFactBase:
    """A fact derived from another fact's value (`fact` and `process_data`)."""

    name = None
    fact = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        module = cls.__module__.replace("pyinfra.facts.", "")
        cls.name = f"{module}.{cls.__name__}"

    def process_data(self, data):
        return data


def _command_text(command):
    from pyinfra.api.command import StringCommand

    if isinstance(command, StringCommand):
        return command
    if not isinstance(command, str):
        raise FactError(f"a fact's command must be a string, got {type(command).__name__}")
    return command.strip()


def _value(attribute, args, kwargs):
    """A fact's `command` / `requires_command`: a method, or a plain value (pyinfra takes both)."""
    return attribute(*args, **kwargs) if callable(attribute) else attribute


def get_host_fact(host, fact, args, kwargs):
    if isinstance(fact, type) and issubclass(fact, ShortFactBase):
        value = get_host_fact(host, fact.fact, args, kwargs)
        return fact().process_data(value)
    if not (isinstance(fact, type) and issubclass(fact, FactBase)):
        raise TypeError(f"get_fact needs a fact class, got {fact!r}")
    # Global arguments given to get_fact (`_sudo=True`) apply to the fact's command.
    fact_globals = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith("_")}
    if fact._rinfra_name is not None:
        return _rinfra.get_fact(fact._rinfra_name, fact._rinfra_params, args, kwargs, fact_globals)
    instance = fact()
    reason = instance.check_preconditions(None, host)
    if reason:
        from pyinfra.api.exceptions import FactPreconditionError

        raise FactPreconditionError(f"{fact.name}: {reason}")
    command = _command_text(_value(instance.command, args, kwargs))
    requires = _value(instance.requires_command, args, kwargs)
    lines = _rinfra.get_command_lines(fact.name, command, requires, fact_globals)
    if lines is None:
        return instance.default()
    return instance.process(lines)


def get_fact(state, host, cls, *args, **kwargs):
    """pyinfra's `get_fact(state, host, Fact, ...)`."""
    return get_host_fact(host, cls, args, kwargs)


def fact_signature(params):
    return inspect.Signature(
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for p in params]
    )
