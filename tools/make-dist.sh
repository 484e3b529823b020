#!/bin/sh
# make-dist.sh -- the manual installation zip (make dist): build/awstopo-aws-install-<version>.zip
# with install.sh, uninstall.sh (and awstopo.sh, which they source), the CloudFormation
# templates, the Lambda package, the IAM policies and a README, in one folder of the
# same name.
#
#   sh tools/make-dist.sh BINARY LAMBDA_ZIP [OUT_DIR]
set -eu
cd "$(dirname "$0")/.."
BIN=$1
LAMBDA=$2
OUTDIR=${3:-build}
VERSION=$("$BIN" version | awk '{ print $2 }')
NAME=awstopo-aws-install-$VERSION
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/awstopo-dist.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/$NAME/cloudformation" "$STAGE/$NAME/policies"
cp deploy/install.sh deploy/uninstall.sh deploy/awstopo.sh "$STAGE/$NAME/"
cp deploy/README.md "$STAGE/$NAME/README.md"
cp deploy/cloudformation/*.json "$STAGE/$NAME/cloudformation/"
cp policies/*.json "$STAGE/$NAME/policies/"
cp "$LAMBDA" "$STAGE/$NAME/"
mkdir -p "$OUTDIR"
OUT=$OUTDIR/$NAME.zip
rm -f "$OUT"
python3 tools/zipdir.py "$STAGE" "$OUT"
echo "dist: $OUT ($(du -k "$OUT" | cut -f1) KiB): $(cd "$STAGE/$NAME" && ls | tr '\n' ' ')"
