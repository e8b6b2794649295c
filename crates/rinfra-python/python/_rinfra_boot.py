"""Put rinfra's `pyinfra` package ahead of any installed pyinfra: a meta path finder that
serves the embedded modules (`SOURCES`, set by rinfra before this runs) and generates
`pyinfra.operations.<module>` and `pyinfra.facts.<module>` from rinfra's registries."""

import importlib.abc
import importlib.util
import sys

import _rinfra

PREFIX = "<rinfra>/"


class RinfraFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, sources):
        self.sources = sources
        # Operations and facts by module path: `files` for `files.put`, `freebsd.pkg` for
        # `freebsd.pkg.install` (pyinfra's sub-modules); `freebsd` is then a package.
        ops = {}
        for name, params, doc, extra in _rinfra.operations():
            ops.setdefault(name.rsplit(".", 1)[0], []).append((name, params, doc, extra))
        facts = {}
        for name, params, doc in _rinfra.facts():
            facts.setdefault(name.rsplit(".", 1)[0], []).append((name, params, doc))
        self.ops = ops
        self.facts = facts
        self.packages = {
            kind: {m.rsplit(".", 1)[0] for m in table if "." in m}
            for kind, table in (("operations", ops), ("facts", facts))
        }

    def _kind(self, fullname):
        if fullname in self.sources:
            return "source"
        for kind, table in (("operations", self.ops), ("facts", self.facts)):
            prefix = f"pyinfra.{kind}."
            if fullname.startswith(prefix):
                module = fullname[len(prefix):]
                if module in table or module in self.packages[kind]:
                    return kind
        if fullname == "pyinfra" or fullname.startswith("pyinfra."):
            # Never fall through to an installed pyinfra.
            return "missing"
        return None

    def _module_hint(self, fullname):
        """`did you mean ...?` for an unknown `pyinfra.operations.X`/`pyinfra.facts.X`, or
        None."""
        for kind, table in (("operations", self.ops), ("facts", self.facts)):
            prefix = f"pyinfra.{kind}."
            if fullname.startswith(prefix):
                module = fullname[len(prefix):]
                modules = [f"{m}._" for m in table]
                best = _rinfra.suggest_name(f"{module}._", modules)
                if best:
                    return f"did you mean `{prefix}{best[:-2]}`?"
        return None

    def find_spec(self, fullname, path=None, target=None):
        kind = self._kind(fullname)
        if kind is None:
            return None
        if kind == "missing":
            error = ModuleNotFoundError(
                f"No module named '{fullname}' (rinfra implements pyinfra's API; this part is "
                f"not implemented)",
                name=fullname,
            )
            _add_hint(error, self._module_hint(fullname))
            raise error
        if kind == "source":
            is_pkg = self.sources[fullname][1]
        else:
            is_pkg = fullname.split(".", 2)[2] in self.packages[kind]
        spec = importlib.util.spec_from_loader(fullname, self, is_package=is_pkg)
        if kind == "source":
            spec.origin = PREFIX + fullname.replace(".", "/") + ("/__init__.py" if is_pkg else ".py")
            spec.has_location = False
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        fullname = module.__name__
        kind = self._kind(fullname)
        if kind == "source":
            source, is_pkg = self.sources[fullname]
            module.__file__ = module.__spec__.origin
            if is_pkg:
                module.__path__ = []
            code = compile(source, module.__spec__.origin, "exec")
            exec(code, module.__dict__)
            # A hand-written module may also have generated operations (python.call beside
            # Rust ones): none today, but generated members never shadow hand-written ones.
            return
        module_name = fullname.split(".", 2)[2]
        module.__file__ = PREFIX + fullname.replace(".", "/") + ".py"
        if module_name in self.packages[kind]:
            module.__path__ = []
        table = self.ops if kind == "operations" else self.facts
        names = [n for n, *_ in table.get(module_name, ())]
        module.__getattr__ = _missing_member(fullname, module_name, names)
        if kind == "operations":
            from pyinfra.api.operation import rust_operation

            for name, params, doc, extra in self.ops.get(module_name, ()):
                setattr(module, name.rsplit(".", 1)[1], rust_operation(name, params, doc, extra))
        else:
            from pyinfra.api.facts import FactBase, fact_signature

            for name, params, doc in self.facts.get(module_name, ()):
                short = name.rsplit(".", 1)[1]
                cls = type(
                    short,
                    (FactBase,),
                    {
                        "__module__": fullname,
                        "__doc__": doc,
                        "_rinfra_name": name,
                        "_rinfra_params": tuple(params),
                        "abstract": False,
                    },
                )
                cls.command = lambda self, *a, **k: None
                cls.command.__signature__ = fact_signature(params)
                setattr(module, short, cls)


def _missing_member(fullname, module_name, names):
    """A generated module's `__getattr__`: pyinfra's AttributeError, with a suggestion when a
    name of this module is close in meaning (`server.shel` → `shell`)."""

    def __getattr__(attr):
        error = AttributeError(f"module '{fullname}' has no attribute '{attr}'")
        if not attr.startswith("__"):
            best = _rinfra.suggest_name(f"{module_name}.{attr}", names)
            if best:
                _add_hint(error, f"did you mean `{best.rsplit('.', 1)[1]}`?")
        raise error

    return __getattr__


def _add_hint(error, hint):
    """A hint as a note on `error` (shown in tracebacks; the CLI prints it as `hint:`)."""
    if hint:
        error.add_note(_rinfra.HINT_NOTE + hint)


def install(sources):
    for name in [m for m in sys.modules if m == "pyinfra" or m.startswith("pyinfra.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, RinfraFinder(sources))
