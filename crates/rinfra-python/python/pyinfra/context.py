"""pyinfra's context objects: `host`, `state`, `inventory` and `config` stand for the current
ones. Hosts evaluate on threads of their own, so `host` and `config` are per thread."""

import threading
from contextlib import contextmanager


class container:
    module = None


class ContextObject:
    _container_cls = container

    def __init__(self):
        object.__setattr__(self, "_container", self._container_cls())
        self._container.module = None

    def _get_module(self):
        return getattr(self._container, "module", None)

    def __repr__(self):
        return f"ContextObject({self._get_module()!r})"

    def __str__(self):
        return str(self._get_module())

    def __dir__(self):
        return dir(self._get_module())

    def __getattr__(self, key):
        mod = self._get_module()
        if mod is None:
            raise AttributeError(
                f"no current {self.__dict__.get('_rinfra_context_name', 'context')}: `{key}` is only "
                "available while a deploy runs for a host"
            )
        return getattr(mod, key)

    def __setattr__(self, key, value):
        if key in ("_container", "_base_cls"):
            return object.__setattr__(self, key, value)
        mod = self._get_module()
        if mod is None:
            raise TypeError("Cannot assign to context base module")
        return setattr(mod, key, value)

    def __iter__(self):
        return iter(self._get_module())

    def __len__(self):
        return len(self._get_module())

    def __eq__(self, other):
        return self._get_module() == other

    def __hash__(self):
        return hash(self._get_module())

    def __bool__(self):
        return self._get_module() is not None


class LocalContextObject(ContextObject):
    _container_cls = threading.local


class ContextManager:
    def __init__(self, key, context_cls):
        self.key = key
        self.context = context_cls()
        object.__setattr__(self.context, "_rinfra_context_name", key)

    def get(self):
        return getattr(self.context._container, "module", None)

    def set(self, module):
        self.context._container.module = module

    def set_base(self, module):
        pass

    def reset(self):
        self.context._container.module = None

    def isset(self):
        return self.get() is not None

    @contextmanager
    def use(self, module):
        old = self.get()
        if old is module:
            yield
            return
        self.set(module)
        try:
            yield
        finally:
            self.set(old)


ctx_state = ContextManager("state", ContextObject)
state = ctx_state.context

ctx_inventory = ContextManager("inventory", ContextObject)
inventory = ctx_inventory.context

ctx_config = ContextManager("config", LocalContextObject)
config = ctx_config.context

ctx_host = ContextManager("host", LocalContextObject)
host = ctx_host.context


def init_base_classes():
    pass
