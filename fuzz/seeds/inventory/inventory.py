from pyinfra import inventory
_private = ["hidden"]
app_servers = ["app-1.net", ("app-2.net", {"install_postgres": True, "ports": [80, 443]})]
db_servers = (["db-1.net"], {"db": "pg", "_sudo": True})
targets = ["@docker/ubuntu", "@local", "@ssh/10.0.0.1"]
port = 22
not_hosts = [1, 2]
all = ["app-1.net", "db-1.net"]
