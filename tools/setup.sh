#!/bin/sh
# tools/setup.sh -- installs what awstopo needs to build and test, on Debian.
# Idempotent: installs only the packages that are missing. Run as root (CI)
# or as a user with sudo.
set -e
PACKAGES="build-essential pkg-config liblua5.4-dev lua5.4 libcurl4-openssl-dev libcjson-dev
libssl-dev libexpat1-dev zlib1g-dev python3 python3-botocore lua-check graphviz ca-certificates
prometheus time openssl
clang libclang-rt-dev"   # clang + libFuzzer: make fuzz (docs/fuzzing.md)

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm (for kinesalite, below): Debian's, unless some node with npm is there already
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    echo "setup: installing$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
# npm packages the tests use, into tools/node as package-lock.json pins them:
# kinesalite (a real Kinesis) and @aws-cdk/aws-service-spec (the CloudFormation
# resource specification the templates are checked against)
if [ ! -d "$(dirname "$0")/node/node_modules/kinesalite" ] ||
   [ ! -f "$(dirname "$0")/node/node_modules/@aws-cdk/aws-service-spec/db.json.gz" ]; then
    echo "setup: installing npm packages into tools/node"
    (cd "$(dirname "$0")/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: ok"
