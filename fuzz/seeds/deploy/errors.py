import os
from os.path import join
from pyinfra.operations import files
name = None
if name is None:
    files.put(src=join("a", "b"), dest=os.path.basename("/x/y.txt"))
elif name is not None and not name in ["a"]:
    pass
local.include("tasks/self.py")
