from pyinfra import host, local, config
from pyinfra.operations import files, server, apt, python
from pyinfra.facts.server import LinuxName, Hostname
from pyinfra.api import deploy
from helper import greet, VALUE

config.SUDO = True

@deploy("Install")
def install(packages=None):
    apt.packages(name="install " + greet(host.name), packages=packages or ["nginx"], update=True, _sudo=True)

op = files.directory(path="/srv/app", mode="755", user=host.data.app_user)
server.shell(name="after", commands=["echo %d" % VALUE], _if=op.did_change)
if host.name == "web1" and "web" in host.groups:
    install(packages=["git"])
for port in host.data.ports:
    files.line(path="/etc/ports", line=f"port {port}")
local.include("tasks/inc.py", data={"keyword": "x"})
text = local.read_file("data.txt")
server.shell(commands=[text.strip()], _retry_until=lambda out: "done" in out["stdout_lines"])
def cb():
    host.run_shell_command("true")
python.call(name="cb", function=cb)
print(host.get_fact(Hostname) if False else "no facts")
