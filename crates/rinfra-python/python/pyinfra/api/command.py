"""Commands an operation yields: shell text (with quoted and masked parts), uploads,
downloads and Python functions run at execute time."""

import shlex


class MaskString(str):
    """A part of a command shown as `***` in output (a password)."""


class QuoteString:
    """A part of a command that is shell-quoted."""

    def __init__(self, obj):
        self.obj = obj

    def __repr__(self):
        return f"QuoteString({self.obj})"


class PyinfraCommand:
    def __init__(self, *args, **kwargs):
        self.connector_arguments = {k: v for k, v in kwargs.items() if k.startswith("_")}

    def __eq__(self, other):
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))


def _render(bit, masked):
    if isinstance(bit, StringCommand):
        return bit.separator.join(_render(b, masked) for b in bit.bits)
    if isinstance(bit, QuoteString):
        return shlex.quote(_render(bit.obj, masked))
    if isinstance(bit, MaskString):
        return "*MASKED*" if masked else str(bit)
    return str(bit)


class StringCommand(PyinfraCommand):
    """A shell command built from parts, joined by `separator`."""

    def __init__(self, *bits, _separator=" ", **kwargs):
        super().__init__(**kwargs)
        self.bits = bits
        self.separator = _separator

    def get_raw_value(self):
        return _render(self, False)

    def get_masked_value(self):
        return _render(self, True)

    def __str__(self):
        return self.get_masked_value()

    def __repr__(self):
        return f"StringCommand({self.get_masked_value()})"


class _FileCommand(PyinfraCommand):
    def __init__(self, src, dest, remote_temp_filename=None, **kwargs):
        super().__init__(**kwargs)
        self.src = src
        self.dest = dest
        self.remote_temp_filename = remote_temp_filename

    def __repr__(self):
        return f"{type(self).__name__}({self.src}, {self.dest})"


class FileUploadCommand(_FileCommand):
    """Upload `src` (a local path or a file-like object) to the remote `dest`."""


class FileDownloadCommand(_FileCommand):
    """Download the remote `src` to the local path `dest`."""


class FunctionCommand(PyinfraCommand):
    """Python code run at execute time, on the controller, for one host."""

    def __init__(self, function, args, func_kwargs, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.args = args
        self.kwargs = func_kwargs

    def __repr__(self):
        name = getattr(self.function, "__name__", repr(self.function))
        return f"FunctionCommand({name}, {self.args}, {self.kwargs})"


class RsyncCommand(PyinfraCommand):
    def __init__(self, src, dest, flags, **kwargs):
        super().__init__(**kwargs)
        self.src = src
        self.dest = dest
        self.flags = flags


def make_formatted_string_command(string, *args, **kwargs):
    """`make_formatted_string_command("tar -C {0} -xf {1}", QuoteString(d), QuoteString(f))`."""
    import string as _string

    bits = []
    for literal, field, spec, conv in _string.Formatter().parse(string):
        if literal:
            bits.append(literal)
        if field is not None:
            if field == "":
                raise ValueError("make_formatted_string_command needs numbered fields ({0})")
            value = args[int(field)] if field.isdigit() else kwargs[field]
            bits.append(value)
    return StringCommand(*bits, _separator="")
