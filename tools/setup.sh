#!/bin/sh
# tools/setup.sh -- installs what awstopo needs to build and test, on Debian.
# Idempotent: installs only the packages that are missing. Run as root (CI)
# or as a user with sudo.
set -e
PACKAGES="build-essential pkg-config liblua5.4-dev lua5.4 libcurl4-openssl-dev libcjson-dev
libssl-dev libexpat1-dev zlib1g-dev python3 python3-botocore lua-check graphviz ca-certificates
prometheus"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    echo "setup: installing$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
echo "setup: ok"
