"""`any_changed` and `all_changed` for `_if=`."""


def _combined(kind, metas):
    if kind == "any":
        check = lambda: any(m.did_change() for m in metas)  # noqa: E731
    else:
        check = lambda: all(m.did_change() for m in metas)  # noqa: E731
    # rinfra checks these itself at execute time, without calling back into Python.
    check._rinfra_combined = (kind, metas)
    return check


def any_changed(*args):
    return _combined("any", args)


def all_changed(*args):
    return _combined("all", args)
