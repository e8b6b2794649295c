"""`State`: the run's shared state as deploy code sees it."""


class StateStage:
    Setup = 1
    Connect = 2
    Prepare = 3
    Execute = 4
    Disconnect = 5


class State:
    """`pyinfra.state`: the working directory, the inventory and the config of the run."""

    current_stage = StateStage.Prepare
    is_executing = False

    def __init__(self, inventory=None, config=None, cwd=None):
        self.inventory = inventory
        self.config = config
        self.cwd = cwd
        self.current_deploy_filename = None
        self.current_op_file_number = 0

    def should_check_for_changes(self):
        return True
