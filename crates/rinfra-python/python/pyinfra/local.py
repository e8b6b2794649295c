"""`local.include` and `local.shell`, as pyinfra's."""

import os
import subprocess

from pyinfra import config, host, logger, state  # noqa: F401
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.util import get_file_path


def include(filename, data=None):
    """Run another deploy file here, for the current host (`data` adds to `host.data`)."""
    from pyinfra import _rinfra_shim

    path = get_file_path(state, filename)
    if not os.path.isfile(path):
        raise PyinfraError(f"local.include: no such file `{filename}` ({path})")
    deploy_name = os.path.relpath(path, state.cwd) if state.cwd else path
    saved = config.get_current_state()
    try:
        with host.deploy(deploy_name, None, data, in_deploy=False):
            _rinfra_shim.exec_file(path)
    finally:
        config.set_current_state(saved)


def shell(commands, splitlines=False, ignore_errors=False, print_output=False, print_input=False):
    """Run shell commands on this machine (the controller); returns the output of the last."""
    if isinstance(commands, str):
        commands = [commands]
    out = ""
    for command in commands:
        if print_input:
            logger.info(">>> %s", command)
        proc = subprocess.run(
            command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        out = proc.stdout
        if print_output:
            logger.info("%s", out)
        if proc.returncode != 0 and not ignore_errors:
            raise PyinfraError(f"local.shell: `{command}` exited with {proc.returncode}: {out.strip()}")
    return out.splitlines() if splitlines else out
