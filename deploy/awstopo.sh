# awstopo.sh -- sourced by install.sh and uninstall.sh: finds the awstopo binary and
# turns the AWS CLI's environment variables into options (given options come later
# on the command line, so they win).
#
# The binary, first found of: $AWSTOPO; ../awstopo in a source checkout; the one
# inside the Lambda package next to this script (the manual install zip: it carries
# its own libraries and loader, so it runs on any x86_64 Linux); awstopo on PATH.

here=$(cd "$(dirname "$0")" && pwd)
package=$(ls "$here"/awstopo-lambda-*.zip 2>/dev/null | head -n 1)
runtime=""

cleanup() { [ -n "$runtime" ] && rm -rf "$runtime"; }
trap cleanup EXIT INT TERM

# unpacks the Lambda package and runs its binary with its own loader and libraries
run_packaged() {
    runtime=$(mktemp -d "${TMPDIR:-/tmp}/awstopo-install.XXXXXX")
    if command -v unzip >/dev/null 2>&1; then
        unzip -q "$package" -d "$runtime"
    else
        python3 -m zipfile -e "$package" "$runtime"
    fi
    chmod 755 "$runtime/awstopo" "$runtime"/lib/ld-linux*
    if [ -z "${AWS_CA_BUNDLE:-}" ]; then
        for ca in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
            [ -f "$ca" ] && export AWS_CA_BUNDLE="$ca" && break
        done
    fi
    AWSTOPO_HOME="$runtime" "$runtime"/lib/ld-linux* --library-path "$runtime/lib" "$runtime/awstopo" "$@"
}

# awstopo COMMAND ARGS...: with the environment's session name / external id first
awstopo_run() {
    cmd=$1; shift
    set -- "$cmd" ${AWS_ROLE_SESSION_NAME:+--session-name "$AWS_ROLE_SESSION_NAME"} \
        ${AWS_EXTERNAL_ID:+--external-id "$AWS_EXTERNAL_ID"} "$@"
    if [ -n "${AWSTOPO:-}" ]; then
        "$AWSTOPO" "$@"
    elif [ -x "$here/../awstopo" ] && [ -d "$here/../core" ]; then
        "$here/../awstopo" "$@"
    elif [ -n "$package" ] && [ "$(uname -sm)" = "Linux x86_64" ]; then
        run_packaged "$@"
    elif command -v awstopo >/dev/null 2>&1; then
        awstopo "$@"
    else
        echo "$(basename "$0"): no awstopo binary (set AWSTOPO=/path/to/awstopo; the bundled one runs on x86_64 Linux)" >&2
        return 2
    fi
}
