"""`@deploy`: a function whose operations carry its name, global arguments and data
defaults."""

import functools

import _rinfra
from pyinfra import context
from pyinfra.api.exceptions import PyinfraError


def deploy(name=None, data_defaults=None):
    """Wrap a function of operations as a deploy (pyinfra's `@deploy("Name")`)."""
    if name is not None and not isinstance(name, str):
        raise PyinfraError("The `deploy` decorator must be called, ie `@deploy()`")

    def decorator(func):
        func.deploy_name = name or func.__name__
        if data_defaults:
            func.deploy_data = data_defaults

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            deploy_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if _rinfra.is_global_argument(k)}
            with context.host.deploy(
                name=func.deploy_name, kwargs=deploy_kwargs, data=getattr(func, "deploy_data", None)
            ):
                return func(*args, **kwargs)

        wrapper._inner = func
        return wrapper

    return decorator


def add_deploy(state, deploy_func, *args, **kwargs):
    raise PyinfraError("`add_deploy` is pyinfra's API mode; rinfra runs deploy files (CLI mode)")
