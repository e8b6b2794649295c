"""pyinfra's Python API, implemented by rinfra: deploy code imports this package, and the
operations, facts and engine under it are rinfra's (Rust)."""

import logging

# Deploy code only ever runs under the CLI here.
is_cli = True

# pyinfra's logger: records reach rinfra's output (see pyinfra/_rinfra_shim.py).
logger = logging.getLogger("pyinfra")

from .context import config, host, inventory, state  # noqa: E402
from .version import __version__  # noqa: E402
