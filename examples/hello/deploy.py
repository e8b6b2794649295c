# A first deploy: run it with `rinfra @local examples/hello/deploy.py -y` (twice: the second
# run changes nothing).
from pyinfra import host
from pyinfra.operations import files, server

files.directory(
    name="Create the demo directory",
    path="/tmp/rinfra-hello",
    mode="755",
)

files.put(
    name="Upload the greeting",
    src="./files/hello.txt",
    dest="/tmp/rinfra-hello/hello.txt",
    mode="644",
)

server.shell(
    name="Say hello",
    commands=[f"echo hello from {host.name}"],
)
