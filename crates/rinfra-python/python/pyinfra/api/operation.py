"""Operations: calling one in deploy code records it for the current host (rinfra's engine runs
it later, in order across hosts) and returns its `OperationMeta`. `@operation()` turns a
generator of commands into an operation whose generator rinfra calls at prepare and execute
time."""

import functools
import inspect
import sys

import _rinfra
from pyinfra import context
from pyinfra.api.exceptions import OperationError

_SHIM_PREFIX = "<rinfra>"


class OperationMeta:
    """What an operation call returns: its results on this host, known once it has run."""

    def __init__(self, host, index):
        self._host = host
        self._index = index

    def __repr__(self):
        status = _rinfra.op_status(self._index, False)
        if status is None:
            return f"OperationMeta(executed=False, index={self._index})"
        return f"OperationMeta(executed=True, status={status})"

    def _status(self):
        status = _rinfra.op_status(self._index, True)
        if status is None:
            return "not run"
        return status

    def is_complete(self):
        return _rinfra.op_status(self._index, False) is not None

    def did_change(self):
        return self._status() == "changed"

    def did_not_change(self):
        return not self.did_change()

    def did_succeed(self, _raise_if_not_complete=True):
        return self._status() in ("changed", "no change")

    def did_error(self):
        return self._status() == "error"

    @property
    def executed(self):
        return self.did_change()

    @property
    def changed(self):
        if self.is_complete():
            return self.did_change()
        raise OperationError(
            "`.changed` before the run is not known in rinfra (changes are detected after the "
            "deploy code ran); use `_if=op.did_change` on the later operation"
        )

    @property
    def will_change(self):
        return self.changed

    @property
    def stdout_lines(self):
        return _rinfra.op_output(self._index)[0]

    @property
    def stderr_lines(self):
        return _rinfra.op_output(self._index)[1]

    @property
    def stdout(self):
        return "\n".join(self.stdout_lines)

    @property
    def stderr(self):
        return "\n".join(self.stderr_lines)


def _caller_frames():
    """(filename, line) of the user frames calling the operation, outermost first."""
    frames = []
    f = sys._getframe(2)
    while f is not None:
        name = f.f_code.co_filename
        if not name.startswith(_SHIM_PREFIX):
            frames.append((name, f.f_lineno))
        f = f.f_back
    frames.reverse()
    return frames


def _conditions(value):
    """`_if` as rinfra's conditions: op results' methods stay Rust checks, anything else
    callable is called at execute time."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(_conditions(v))
        return out
    if isinstance(value, bool):
        return [value]
    if isinstance(value, OperationMeta):
        from pyinfra.api.exceptions import ArgumentTypeError

        raise ArgumentTypeError(
            "Invalid argument `_if`: got an operation result, not a condition; write "
            "`_if=op.did_change` (or `did_not_change`, `did_succeed`, `did_error`)"
        )
    bound = getattr(value, "__self__", None)
    if isinstance(bound, OperationMeta) and value.__name__ in (
        "did_change",
        "did_not_change",
        "did_succeed",
        "did_error",
    ):
        return [("op", bound._index, value.__name__)]
    combined = getattr(value, "_rinfra_combined", None)
    if combined is not None:
        kind, metas = combined
        return [(kind, [("op", m._index, "did_change") for m in metas])]
    if callable(value):
        return [value]
    raise TypeError(f"`_if` must be a function, an operation result or a list of them, got {value!r}")


def record(op_name, args, kwargs, operation=None):
    """Record a call of `op_name` for the current host; returns its `OperationMeta`."""
    host = context.ctx_host.get()
    if host is None:
        raise OperationError(f"`{op_name}` called outside a deploy (no current host)")
    if host.in_op:
        raise OperationError(
            f"`{op_name}` called within another operation; use `yield from {op_name}._inner(...)`"
        )
    kwargs = dict(kwargs)
    conditions = _conditions(kwargs.pop("_if", None))
    retry_until = kwargs.pop("_retry_until", None)
    deploy_names = []
    deploy_args = {}
    for name, dargs, dconds in host._deploys:
        if name:
            deploy_names.append(name)
        deploy_args.update(dargs)
        conditions.extend(_conditions(dconds))
    # A `@deploy` function's `_retry_until` is the default of the operations inside it.
    deploy_retry_until = deploy_args.pop("_retry_until", None)
    if retry_until is None:
        retry_until = deploy_retry_until
    frames = _caller_frames()
    config = context.ctx_config.get()
    index = _rinfra.record(
        op_name,
        tuple(args),
        kwargs,
        [line for _, line in frames] + list(host.loop_position),
        frames[-1] if frames else ("<unknown>", 0),
        deploy_names,
        deploy_args,
        conditions,
        retry_until,
        operation,
        config.get_changed() if config is not None else {},
    )
    return OperationMeta(host, index)


def rust_operation(name, params, doc, extra_kwargs):
    """The deploy-facing function of operation `name`, written in Rust."""
    module, short = name.rsplit(".", 1)

    def op(*args, **kwargs):
        return record(name, args, kwargs)

    def _inner(*args, **kwargs):
        yield from _rinfra.generate(name, args, kwargs)

    op.__name__ = short
    op.__qualname__ = short
    op.__module__ = f"pyinfra.operations.{module}"
    op.__doc__ = doc
    parameters = [
        inspect.Parameter(
            p,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            **({} if required else {"default": None}),
        )
        for p, required, _ in params
    ]
    # Required parameters may not follow optional ones in a Signature.
    parameters.sort(key=lambda p: p.default is not inspect.Parameter.empty)
    if extra_kwargs:
        parameters.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    op.__signature__ = inspect.Signature(parameters)
    op._inner = _inner
    op._rinfra_name = name
    return op


def operation(
    is_idempotent=True,
    idempotent_notice=None,
    is_deprecated=False,
    deprecated_for=None,
    _set_in_op=True,
):
    """Turn a generator of commands into an operation (pyinfra's `@operation()`)."""
    if callable(is_idempotent):
        raise OperationError("`@operation` must be called: write `@operation()`")

    def decorator(func):
        module = (func.__module__ or "").split(".")[-1]
        name = f"{module}.{func.__name__}" if module and module != "__main__" else func.__name__

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            op_kwargs = {k: v for k, v in kwargs.items() if not _rinfra.is_global_argument(k)}
            globals_ = {k: v for k, v in kwargs.items() if _rinfra.is_global_argument(k)}
            # A bad call is a TypeError here, at the caller's line, as in pyinfra.
            signature = inspect.signature(func)
            bound = signature.bind(*args, **op_kwargs)
            spec = (func, args, op_kwargs, bool(is_idempotent))
            # Arguments are shown by name in the operation's label (`**kwargs` flattened).
            shown = {}
            for pname, value in bound.arguments.items():
                kind = signature.parameters[pname].kind
                if kind is inspect.Parameter.VAR_KEYWORD:
                    shown.update(value)
                elif kind is inspect.Parameter.VAR_POSITIONAL:
                    shown.update({f"{pname}[{i}]": v for i, v in enumerate(value)})
                else:
                    shown[pname] = value
            return record(name, (), dict(shown, **globals_), operation=spec)

        wrapper._inner = func
        wrapper.is_idempotent = is_idempotent
        return wrapper

    return decorator


def add_op(state, op_func, *args, **kwargs):
    raise OperationError("`add_op` is pyinfra's API mode; rinfra runs deploy files (CLI mode)")
