"""pyinfra's `pyinfra.api`, implemented by rinfra."""

from .command import (  # noqa: F401
    FileDownloadCommand,
    FileUploadCommand,
    FunctionCommand,
    MaskString,
    QuoteString,
    RsyncCommand,
    StringCommand,
)
from .config import Config  # noqa: F401
from .deploy import deploy  # noqa: F401
from .exceptions import (  # noqa: F401
    ArgumentTypeError,
    ConnectError,
    DeployError,
    FactError,
    FactProcessError,
    FactTypeError,
    FactValueError,
    InventoryError,
    NestedOperationError,
    NoConnectorError,
    NoGroupError,
    NoHostError,
    OperationError,
    OperationTypeError,
    OperationValueError,
    PyinfraError,
)
from .facts import FactBase, ShortFactBase  # noqa: F401
from .host import Host  # noqa: F401
from .inventory import Inventory  # noqa: F401
from .operation import operation  # noqa: F401
from .state import State  # noqa: F401
