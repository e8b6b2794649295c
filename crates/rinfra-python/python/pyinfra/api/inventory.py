"""`Inventory`: the run's hosts and groups (`inventory.get_group("web")`)."""

from pyinfra.api.exceptions import NoGroupError, NoHostError

_none = object()


class Inventory:
    def __init__(self, hosts, groups):
        self._hosts = {h.name: h for h in hosts}
        self._groups = {g: [self._hosts[n] for n in names if n in self._hosts] for g, names in groups.items()}

    def __len__(self):
        return len(self._hosts)

    def __iter__(self):
        return iter(self._hosts.values())

    def get_host(self, name, default=_none):
        if name in self._hosts:
            return self._hosts[name]
        if default is _none:
            raise NoHostError(f"No such host: {name}")
        return default

    def get_group(self, name, default=_none):
        if name in self._groups:
            return self._groups[name]
        if default is _none:
            raise NoGroupError(f"No such group: {name}")
        return default

    def get_groups(self):
        return dict(self._groups)

    def iter_active_hosts(self):
        return iter(self._hosts.values())

    def get_active_hosts(self):
        return list(self._hosts.values())

    def len_active_hosts(self):
        return len(self._hosts)

    @property
    def hosts(self):
        return dict(self._hosts)

    @property
    def groups(self):
        return self.get_groups()

    def get_host_data(self, name):
        return self._hosts[name].host_data

    def get_data(self):
        return {}

    def get_override_data(self):
        return {}
