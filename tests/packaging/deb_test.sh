#!/usr/bin/env bash
# Debian package test: `cpack -G DEB` from the build dir into a temporary directory, then
# the control fields (dpkg-deb -f) and the file list (dpkg-deb -c). Nothing is installed.
#
#   deb_test.sh BUILD_DIR [CPACK] [VERSION]
set -euo pipefail

build=$(cd "$1" && pwd)
cpack=${2:-cpack}
version=${3:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/robotni-deb-test-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

(cd "$build" && "$cpack" -G DEB -B "$tmp" --config "$build/CPackConfig.cmake") >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB"; }
deb=$(ls "$tmp"/*.deb 2>/dev/null | head -1)
[[ -n $deb ]] || { cat "$tmp/cpack.log" >&2; fail "cpack made no .deb"; }
ok "built $(basename "$deb")"

# --- control fields -----------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
dpkg-deb -f "$deb"
[[ $(field Package) == robotni ]] || fail "Package: $(field Package)"
[[ -z $version || $(field Version) == "$version" ]] || fail "Version: $(field Version), expected $version"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] ||
  fail "Architecture: $(field Architecture)"
[[ -n $(field Maintainer) ]] || fail "no Maintainer"
[[ -n $(field Description) ]] || fail "no Description"
[[ -n $(field Section) ]] || fail "no Section"
[[ -z $(field Homepage) ]] || fail "Homepage set: $(field Homepage)"
depends=$(field Depends)
for pkg in libpython3.11 python3.11 libuv1 libsqlite3-0 libyaml-cpp0.7 libdate-tz3; do
  # A whole package name in the comma-separated list (optionally with a version).
  grep -Eq "(^|, *)$pkg( *\(|,|$)" <<<"$depends" || fail "Depends lacks $pkg: $depends"
done
grep -Eq "(^|, *)libcurl4( *\(|,|$)" <<<"$(field Depends), $(field Recommends)" ||
  fail "libcurl4 neither in Depends nor Recommends"
# Every dependency is a Debian package this system knows (all of them are in bookworm).
for pkg in $(sed 's/([^)]*)//g; s/|/,/g; s/,/ /g' <<<"$depends, $(field Recommends)"); do
  dpkg-query -W -f='${Status}\n' "$pkg" >/dev/null 2>&1 || apt-cache show "$pkg" >/dev/null 2>&1 ||
    fail "dependency $pkg is not a known Debian package"
done
ok "control fields"

# --- file list ----------------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/files"
has() { grep -qx -- "$1" "$tmp/files" || fail "not in the package: $1"; }
has /usr/bin/robotni
has /usr/share/robotni/python/host/robotni_host.py
has /usr/share/robotni/python/shims/robocorp/tasks/__init__.py
grep -Eqx '/usr/share/man/man1/robotni\.1(\.gz)?' "$tmp/files" || fail "no man page"
has /usr/share/bash-completion/completions/robotni
has /usr/share/doc/robotni/examples/robotni.service
# Headers: only the public ones under /usr/include/robotni/.
if grep '^/usr/include/.' "$tmp/files" | grep -v '/$' | grep -Ev '^/usr/include/robotni/[a-z_]+\.h$' >"$tmp/bad"; then
  fail "internal headers in the package: $(head -3 "$tmp/bad")"
fi
if grep -q '^/usr/include/robotni/.*\.h$' "$tmp/files"; then
  src_include=$(sed -n 's|^CMAKE_HOME_DIRECTORY:INTERNAL=||p' "$build/CMakeCache.txt")/runtime/include/robotni
  for h in $(grep '^/usr/include/robotni/.*\.h$' "$tmp/files"); do
    [[ -f $src_include/$(basename "$h") ]] || fail "$h is not a public header"
  done
fi
if grep -Eq '/tests?/|robotni-python-dir\.txt|/_CPack_|/build' "$tmp/files"; then
  fail "test or build files in the package: $(grep -E '/tests?/|robotni-python-dir\.txt|/_CPack_|/build' "$tmp/files" | head -3)"
fi
# Everything under /usr.
if grep -v '^/usr' "$tmp/files" | grep -v '^/$' | grep -q .; then
  fail "files outside /usr: $(grep -v '^/usr' "$tmp/files" | grep -v '^/$' | head -3)"
fi
ok "file list ($(grep -vc '/$' "$tmp/files") files)"

# --- the unpacked tree runs (unpacked into a temporary root, not installed) ---------------
dpkg-deb -x "$deb" "$tmp/root"
out=$(cd "$tmp" && env -u ROBOTNI_PYTHON_DIR "$tmp/root/usr/bin/robotni" version 2>&1) ||
  fail "unpacked robotni version: $out"
grep -qx "packages $tmp/root/usr/share/robotni/python (installed)" <<<"$out" ||
  fail "the unpacked robotni does not find its packages: $out"
ok "unpacked /usr/bin/robotni finds /usr/share/robotni/python"
echo "PASS"
