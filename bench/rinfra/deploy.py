# The bench workload (10 operations, see ../README.md), written without Python's `os` module:
# the static inventory (make-inventory.sh) passes the files directory and the target root as
# host data. rinfra and pyinfra 3.10 both run this file unchanged.
from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.facts.server import Os
from pyinfra.operations import files, server

FILES = host.data.bench_files
root = f"{host.data.bench_root}/{host.name}"
app = f"{root}/app"

os_name = host.get_fact(Os)  # the one gathered fact (uname -s), used in the template

files.directory(name="app dir", path=app, mode="755")
files.directory(name="logs dir", path=f"{app}/logs", mode="750")
files.put(name="upload payload", src=f"{FILES}/payload.txt", dest=f"{app}/payload.txt", mode="644")
files.template(
    name="render app.conf",
    src=f"{FILES}/app.conf.j2",
    dest=f"{app}/app.conf",
    mode="644",
    host_name=host.name,
    bench_port=host.data.bench_port,
    os_name=os_name,
)
files.line(name="ensure line", path=f"{app}/extra.conf", line="managed_by=bench")
files.link(name="symlink", path=f"{app}/current", target=f"{app}/payload.txt")
files.file(name="stale file absent", path=f"{root}/stale.txt", present=False)
# like ansible's `creates:`: only run the command while its output file is missing
if not host.get_fact(File, path=f"{app}/shell.out"):
    server.shell(name="shell command", commands=[f"uname -a > {app}/shell.out"])
files.file(name="secret 0640", path=f"{app}/secret.txt", mode="640", touch=False)
