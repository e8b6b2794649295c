"""Command output and helpers for Python connectors."""

import shlex
import subprocess


class OutputLine:
    def __init__(self, buffer_name, line):
        self.buffer_name = buffer_name
        self.line = line

    def __repr__(self):
        return f"OutputLine({self.buffer_name!r}, {self.line!r})"


class CommandOutput:
    """Interleaved stdout/stderr lines of a command."""

    def __init__(self, combined_lines):
        self.combined_lines = list(combined_lines)

    def __iter__(self):
        return iter(self.combined_lines)

    def __len__(self):
        return len(self.combined_lines)

    @property
    def stdout_lines(self):
        return [l.line for l in self.combined_lines if l.buffer_name == "stdout"]

    @property
    def stderr_lines(self):
        return [l.line for l in self.combined_lines if l.buffer_name == "stderr"]

    @property
    def stdout(self):
        return "\n".join(self.stdout_lines)

    @property
    def stderr(self):
        return "\n".join(self.stderr_lines)


def extract_control_arguments(arguments):
    """Split off the arguments that control output rather than the command."""
    control = {}
    for key in ("_get_pty", "_stdin", "_timeout", "_success_exit_codes"):
        if key in arguments:
            control[key] = arguments.pop(key)
    return control


def make_unix_command_for_host(state, host, command, **arguments):
    """Wrap `command` with the host's sudo/su/env/chdir arguments, as pyinfra does (the
    wrapping is rinfra's, in Rust)."""
    import _rinfra
    from pyinfra.api.command import StringCommand

    if not isinstance(command, StringCommand):
        command = StringCommand(command)
    return _rinfra.make_unix_command(command, arguments)


def run_local_process(command, stdin=None, timeout=None, print_output=False, print_prefix=None):
    """Run `command` through the local shell; returns `(exit code, CommandOutput)`."""
    proc = subprocess.run(
        command,
        shell=True,
        input=stdin if isinstance(stdin, (str, type(None))) else "\n".join(stdin),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    lines = [OutputLine("stdout", l) for l in proc.stdout.splitlines()]
    lines += [OutputLine("stderr", l) for l in proc.stderr.splitlines()]
    return proc.returncode, CommandOutput(lines)


def split_combined_output(output):
    return output.stdout_lines, output.stderr_lines


__all__ = ["CommandOutput", "OutputLine", "extract_control_arguments", "make_unix_command_for_host", "run_local_process", "shlex"]
