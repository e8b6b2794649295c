"""Helpers that operation packages written in Python import from pyinfra
(`pyinfra.operations.util.files`): command builders for chmod/chown and path and mode helpers.
rinfra's own file operations are Rust; these are for users' `@operation()` functions."""

import re
from datetime import datetime

from pyinfra.api.command import QuoteString, StringCommand
from pyinfra.api.exceptions import OperationError


def unix_path_join(*parts):
    """Join path parts with `/`, without doubling the slashes between them."""
    parts = list(parts)
    return "/".join([p.rstrip("/") for p in parts[:-1]] + parts[-1:])


def ensure_mode_int(mode):
    """`644`, `"644"`, `"0644"` and `"0o644"` as the int `644`; symbolic modes and None as
    given; non-octal digits are a ValueError."""
    if mode is None or isinstance(mode, bool):
        return mode
    text = str(mode) if isinstance(mode, int) else mode.strip().lower()
    if text.startswith("0o"):
        text = text[2:]
    if not text.isdigit():
        return mode
    if set(text) - set("01234567"):
        raise ValueError(f"Invalid file mode: {mode!r} contains non-octal digits")
    return int(text)


def get_timestamp():
    """A timestamp for backup file names (`yymmddHHMM`)."""
    return datetime.now().strftime("%y%m%d%H%M")


def chmod(target, mode, recursive=False):
    """`chmod [-R] MODE 'target'`."""
    head = "chmod -R" if recursive else "chmod"
    return StringCommand(f"{head} {mode}", QuoteString(target))


def chown(target, user=None, group=None, recursive=False, dereference=True):
    """`chown user[:group] 'target'` (or `chgrp group 'target'`)."""
    if user:
        command, owner = "chown", f"{user}:{group}" if group else user
    elif group:
        command, owner = "chgrp", group
    else:
        raise OperationError("chown() requires at least one of user or group")
    flags = (" -R" if recursive else "") + ("" if dereference else " -h")
    return StringCommand(command + flags, QuoteString(owner), QuoteString(target))


def adjust_regex(line, escape_regex_characters):
    """A regex matching whole lines that contain `line` (escaped when asked)."""
    if escape_regex_characters:
        line = re.sub(r"([\.\\\+\*\?\[\^\]\$\(\)\{\}\-])", r"\\\1", line)
    if not line.startswith("^"):
        line = "^.*" + line
    if not line.endswith("$"):
        line = line + ".*$"
    return line


def strip_regex_anchors(line):
    """`line` without a leading `^` and an unescaped trailing `$`."""
    if line.startswith("^"):
        line = line[1:]
    if line.endswith("$") and not line.endswith("\\$"):
        line = line[:-1]
    return line
