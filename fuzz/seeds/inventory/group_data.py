import os
from os import path
SUDO = True
PARALLEL = 4
_sudo_user = "app"
ssh_user = os.getenv("NOPE", "deploy")
packages = ["nginx"] + ["git"] * 2
config = {"a": {"b": [1, 2.5, None, True]}, "n": len(inventory.get_group("web")) if "web" in inventory.groups else 0}
name = "%s-%d" % ("x", 3)
def helper(x):
    return x * 2
doubled = [helper(i) for i in range(3) if i is not None]
