"""pyinfra's helpers that deploy packages import."""

import functools
import hashlib
import os
import sys
from io import BytesIO, StringIO


def memoize(func):
    """Cache a function's results by its arguments."""
    cache = {}

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        try:
            return cache[key]
        except KeyError:
            value = cache[key] = func(*args, **kwargs)
            return value
        except TypeError:
            return func(*args, **kwargs)

    wrapper.cache = cache
    return wrapper


def get_file_path(state, filename):
    """pyinfra's lookup of a local path given in deploy code."""
    if os.path.isabs(filename):
        return filename
    cwd = getattr(state, "cwd", None) or os.getcwd()
    if filename.startswith("./"):
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith("<rinfra>"):
            frame = frame.f_back
        if frame is not None:
            return os.path.join(os.path.dirname(os.path.abspath(frame.f_code.co_filename)), filename)
    return os.path.join(cwd, filename)


class get_file_io:
    """Open a path or pass through a file-like object (`with get_file_io(src) as f:`)."""

    def __init__(self, filename_or_io, mode="rb"):
        self.filename_or_io = filename_or_io
        self.mode = mode
        self._opened = None

    def __enter__(self):
        if hasattr(self.filename_or_io, "read"):
            return self.filename_or_io
        self._opened = open(self.filename_or_io, self.mode)
        return self._opened

    def __exit__(self, *exc):
        if self._opened is not None:
            self._opened.close()

    @property
    def cache_key(self):
        if hasattr(self.filename_or_io, "read"):
            return get_file_sha1(self.filename_or_io)
        return self.filename_or_io


def get_file_sha1(filename_or_io):
    h = hashlib.sha1()
    if hasattr(filename_or_io, "read"):
        pos = filename_or_io.tell() if hasattr(filename_or_io, "tell") else None
        data = filename_or_io.read()
        if pos is not None:
            filename_or_io.seek(pos)
        h.update(data.encode() if isinstance(data, str) else data)
    else:
        with open(filename_or_io, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def get_call_location(frame_offset=1):
    frame = sys._getframe(1 + frame_offset)
    while frame is not None and frame.f_code.co_filename.startswith("<rinfra>"):
        frame = frame.f_back
    if frame is None:
        return "line ? in ?"
    return f"line {frame.f_lineno} in {os.path.relpath(frame.f_code.co_filename)}"


def make_hash(obj):
    return hashlib.sha1(repr(obj).encode()).hexdigest()


def get_kwargs_str(kwargs):
    return ", ".join(f"{k}={v}" for k, v in kwargs.items())


__all__ = ["memoize", "get_file_io", "get_file_path", "get_file_sha1", "StringIO", "BytesIO"]
