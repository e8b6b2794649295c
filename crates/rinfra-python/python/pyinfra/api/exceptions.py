"""pyinfra's exceptions (same names and bases)."""


class PyinfraError(Exception):
    pass


class ConnectError(PyinfraError):
    pass


class FactError(PyinfraError):
    pass


class FactTypeError(FactError, TypeError):
    pass


class FactValueError(FactError, ValueError):
    pass


class FactProcessError(FactError, RuntimeError):
    pass


class OperationError(PyinfraError):
    pass


class OperationTypeError(OperationError, TypeError):
    pass


class OperationValueError(OperationError, ValueError):
    pass


class NestedOperationError(OperationError):
    pass


class FactNotCollected(FactError):
    pass


class MissingCommandError(FactNotCollected):
    pass


class FactPreconditionError(FactNotCollected):
    pass


class DeployError(PyinfraError):
    pass


class InventoryError(PyinfraError):
    pass


class NoConnectorError(PyinfraError, ValueError):
    pass


class NoHostError(PyinfraError, KeyError):
    pass


class NoGroupError(PyinfraError, KeyError):
    pass


class ConnectorDataTypeError(PyinfraError, TypeError):
    pass


class ArgumentTypeError(PyinfraError, TypeError):
    pass
