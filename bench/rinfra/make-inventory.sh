#!/bin/bash
# Writes a static inventory of the first N bench hosts (no Python needed to read it):
#   make-inventory.sh N > inventory.py
. "$(dirname "$0")/../lib.sh"
n=${1:?usage: make-inventory.sh N}
echo "bench_hosts = (["
hosts_n "$n" | while read -r name a p; do
  echo "    (\"$name\", {\"ssh_hostname\": \"$a\", \"ssh_port\": $p, \"bench_port\": $((8000 + ${name#h}))}),"
done
echo "], {"
echo "    \"ssh_user\": \"root\", \"ssh_key\": \"$KEY\", \"ssh_known_hosts_file\": \"$KNOWN_HOSTS\","
echo "    \"ssh_strict_host_key_checking\": \"yes\", \"bench_files\": \"$BENCH/files\", \"bench_root\": \"$TARGET_ROOT\","
echo "})"
