"""`Config`: pyinfra's config names (`config.SUDO = True`); each host's deploy has its own
copy, so a change in deploy code applies to the operations after it, for that host."""

import _rinfra


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
