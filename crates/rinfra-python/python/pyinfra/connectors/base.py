"""`BaseConnector` and `DataMeta`, for connectors written in Python."""


class DataMeta:
    """Describes one data key a connector reads (`ssh_port`, ...)."""

    def __init__(self, description, default=None):
        self.description = description
        self.default = default


class ConnectorData(dict):
    pass


class BaseConnector:
    """A connector: `make_names_data` lists hosts; when `handles_execution`, an instance per
    host runs its commands and moves its files."""

    state = None
    host = None
    handles_execution = False
    data_cls = ConnectorData
    data_meta = {}

    def __init__(self, state, host):
        self.state = state
        self.host = host
        self.data = self.data_cls(getattr(host, "data", {}) and {})

    @staticmethod
    def make_names_data(name):
        raise NotImplementedError

    def connect(self):
        pass

    def disconnect(self):
        pass

    def run_shell_command(self, command, print_output, print_input, **arguments):
        raise NotImplementedError

    def put_file(self, filename_or_io, remote_filename, remote_temp_filename=None, print_output=False, print_input=False, **arguments):
        raise NotImplementedError

    def get_file(self, remote_filename, filename_or_io, remote_temp_filename=None, print_output=False, print_input=False, **arguments):
        raise NotImplementedError

    def check_can_rsync(self):
        raise NotImplementedError("this connector does not support rsync")

    def rsync(self, *args, **kwargs):
        raise NotImplementedError("this connector does not support rsync")
