"""`python.call` and `python.raise_exception`: Python run at execute time, per host."""

from pyinfra.api import FunctionCommand, operation


@operation(is_idempotent=False)
def call(function, *args, **kwargs):
    """Call `function(*args, **kwargs)` at execute time, for each host."""
    yield FunctionCommand(function, args, kwargs)


@operation(is_idempotent=False)
def raise_exception(exception, *args, **kwargs):
    """Raise `exception(*args, **kwargs)` at execute time (fails the operation)."""

    def raise_exc(*args, **kwargs):
        raise exception(*args, **kwargs)

    yield FunctionCommand(raise_exc, args, kwargs)
