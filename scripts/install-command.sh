#!/bin/sh
# Puts a `medfed` command into DIR (default /usr/local/bin) that runs this checkout on its own
# Node.js 24 (the `node` development dependency), whatever `node` the system has. A wrapper script,
# not an alias, so it works everywhere a command does: scripts, `exec`, sudo, systemd units.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/usr/local/bin}
node=$(readlink -f "$root/node_modules/.bin/node")
main="$root/cli/dist/main.js"
[ -x "$node" ] || { echo "no Node.js 24 in $root/node_modules: run npm install first" >&2; exit 1; }
[ -f "$main" ] || { echo "$main is missing: run npm install (it builds) first" >&2; exit 1; }
mkdir -p "$dir"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$node" "$main" > "$dir/medfed.tmp"
chmod 0755 "$dir/medfed.tmp"
mv "$dir/medfed.tmp" "$dir/medfed"
echo "installed $dir/medfed (runs $main on $("$node" --version))"
case ":$PATH:" in *":$dir:"*) ;; *) echo "note: $dir is not on your PATH; add it, e.g. export PATH=\"$dir:\$PATH\"" ;; esac
