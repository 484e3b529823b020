#!/bin/sh
# tools/make-lambda.sh -- the AWS Lambda deployment zip (`make lambda`).
#
#   tools/make-lambda.sh [BINARY [OUT.zip]]     default: ./awstopo, build/awstopo-lambda-<arch>.zip
#
# The zip holds what the custom runtime (provided.al2023, or provided.al2) needs, at
# its root:
#   bootstrap    starts `awstopo lambda` (the Runtime API loop, docs/lambda.md)
#   awstopo      the binary; mappings/ and models/ next to it (AWSTOPO_HOME)
#   lib/         every shared library it loads, glibc and its loader included:
#                bootstrap runs the binary through lib/'s loader, so the zip
#                works whatever glibc the runtime has (Debian 12 builds need
#                2.36; provided.al2023 has 2.34)
# The architecture is the build machine's (x86_64 or arm64: build on an arm64
# machine for arm64 functions). Needs: sh, ldd, python3 (zipfile).
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-./awstopo}
ARCH=$(uname -m)
OUT=${2:-build/awstopo-lambda-$ARCH.zip}

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/awstopo-lambda.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/lib"
cp "$BIN" "$STAGE/awstopo"
cp -R mappings models "$STAGE/"
rm -rf "$STAGE/mappings/fixtures"
LOADER=$(ldd "$BIN" | awk '/ld-linux/ { print ($3 ~ /^\//) ? $3 : $1 }')
cat > "$STAGE/bootstrap" <<SH
#!/bin/sh
# The Lambda custom runtime's entry point: awstopo's Runtime API loop, run by
# the loader and libraries of the zip (not the runtime's glibc).
ROOT="\${LAMBDA_TASK_ROOT:-\$(dirname "\$0")}"
export AWSTOPO_HOME="\$ROOT"
# the runtime's CA certificates (Amazon Linux keeps them elsewhere than Debian)
if [ -z "\${AWS_CA_BUNDLE:-}" ]; then
    for ca in /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/certs/ca-certificates.crt; do
        [ -f "\$ca" ] && export AWS_CA_BUNDLE="\$ca" && break
    done
fi
exec "\$ROOT/lib/$(basename "$LOADER")" --library-path "\$ROOT/lib" "\$ROOT/awstopo" lambda
SH
chmod 755 "$STAGE/bootstrap" "$STAGE/awstopo"

# every library the binary loads, and the loader
ldd "$BIN" | awk '/=> \// { print $3 }' | while read -r lib; do cp -L "$lib" "$STAGE/lib/"; done
cp -L "$LOADER" "$STAGE/lib/"
chmod 755 "$STAGE/lib/$(basename "$LOADER")"
echo "lambda: $(ls "$STAGE/lib" | wc -l) libraries bundled, glibc $(ldd --version | head -n 1 | awk '{ print $NF }'), $ARCH"

mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"
python3 tools/zipdir.py "$STAGE" "$OUT"
echo "lambda: $OUT ($(du -k "$OUT" | cut -f1) KiB)"
