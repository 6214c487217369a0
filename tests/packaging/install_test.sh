#!/usr/bin/env bash
# Install-tree test: `cmake --install <build> --prefix <tmp>`, check the layout, run the
# installed robotni (version, a real robot task on a copy of a fixture robot), then move the
# whole prefix elsewhere and run it again (the tree is relocatable: robotni finds
# share/robotni/python relative to itself, never through the build or source tree).
#
#   install_test.sh BUILD_DIR SOURCE_DIR [CMAKE]
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cmake=${3:-cmake}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/robotni-install-test-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# The PostgreSQL step needs the ctest fixture's server (pg_server_start writes its URL here).
[[ -r ${ROBOTNI_TEST_PG_STATE:-} ]] ||
  { echo "FAIL: ROBOTNI_TEST_PG_STATE names no readable state file: run this through ctest" >&2; exit 1; }
# The installed binary must not lean on the developer's environment.
unset ROBOTNI_PYTHON_DIR RC_WORKITEM_DB_PATH RC_WORKITEM_QUEUE_NAME \
      RC_WORKITEM_OUTPUT_QUEUE_NAME RC_WORKITEM_ADAPTER RC_WORKITEM_INPUT_PATH \
      RC_WORKITEM_OUTPUT_PATH VIRTUAL_ENV PYTHONPATH PYTHONHOME

prefix=$tmp/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install"; }
ok "cmake --install --prefix $prefix"

# --- layout -------------------------------------------------------------------------------
must_exist() { [[ -e $prefix/$1 ]] || fail "missing $1"; }
must_exist bin/robotni
[[ -x $prefix/bin/robotni ]] || fail "bin/robotni is not executable"
must_exist share/robotni/python/host/robotni_host.py
must_exist share/robotni/python/shims/robocorp/tasks/__init__.py
must_exist share/robotni/python/shims/robocorp/workitems/__init__.py
must_exist share/robotni/python/shims/actions/work_items/__init__.py
must_exist share/robotni/python/shims/robotni/__init__.py
ls "$prefix"/share/robotni/python/shims/robocorp/tasks/__pycache__/__init__.cpython-311.pyc \
  >/dev/null 2>&1 || fail "robotni's Python packages are not byte-compiled"
must_exist share/man/man1/robotni.1
must_exist share/bash-completion/completions/robotni
must_exist share/doc/robotni/examples/robotni.service
if find "$prefix" -name tests -o -name 'test_*.py' | grep -q .; then
  fail "tests installed: $(find "$prefix" -name tests -o -name 'test_*.py' | head -3)"
fi
if find "$prefix" -name robotni-python-dir.txt | grep -q .; then
  fail "the build tree's marker file was installed"
fi
# Headers: exactly the public ones (runtime/include/robotni/*.h), nothing internal.
if [[ -d $prefix/include ]]; then
  expected=$(cd "$src/runtime/include" && ls robotni/*.h | sort)
  got=$(cd "$prefix/include" && find . -type f | sed 's|^\./||' | sort)
  [[ $got == "$expected" ]] || fail "installed headers differ from the public ones:
$got
--- expected ---
$expected"
  ok "headers: $(echo $got)"
fi
# The library, its CMake package and pkg-config file (when librobotni is built).
lib=$(find "$prefix" -name 'librobotni.so.0' | head -1)
if [[ -n $lib ]]; then
  libdir=$(dirname "$lib")
  [[ -e $libdir/librobotni.so ]] || fail "no librobotni.so link in $libdir"
  [[ $(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p') == librobotni.so.0 ]] ||
    fail "SONAME of $lib is not librobotni.so.0"
  [[ -f $libdir/cmake/robotni/robotniConfig.cmake ]] || fail "no robotniConfig.cmake"
  [[ -f $libdir/cmake/robotni/robotniConfigVersion.cmake ]] || fail "no robotniConfigVersion.cmake"
  [[ -f $libdir/cmake/robotni/robotniTargets.cmake ]] || fail "no robotniTargets.cmake"
  [[ -f $libdir/pkgconfig/robotni.pc ]] || fail "no robotni.pc"
  ok "librobotni: $lib"
fi
if [[ -d $prefix/lib/python3/dist-packages/robotni ]]; then
  ls "$prefix"/lib/python3/dist-packages/robotni/_native*.so >/dev/null ||
    fail "no robotni._native in lib/python3/dist-packages/robotni"
  must_exist lib/python3/dist-packages/robotni/__init__.py
  ok "python package: lib/python3/dist-packages/robotni"
fi
# Nothing installed names the source or build tree (binaries' debug info aside).
if grep -rIl -e "$src/" -e "$build" "$prefix" >"$tmp/leaks" 2>/dev/null; then
  fail "installed text files name the source or build tree: $(head -3 "$tmp/leaks")"
fi
ok "layout"

# --- run the installed robotni ------------------------------------------------------------
run_installed() {  # PREFIX: robotni version + the fixture robot's task, from elsewhere
  local p=$1 out
  out=$(cd "$tmp" && "$p/bin/robotni" version 2>&1) || fail "$p/bin/robotni version: $out"
  echo "$out"
  grep -qx "packages $p/share/robotni/python (installed)" <<<"$out" ||
    fail "version does not report $p/share/robotni/python (installed)"
  grep -q '^python 3\.11\.' <<<"$out" || fail "version: no python 3.11 line"
  grep -q '^sqlite 3\.' <<<"$out" || fail "version: no sqlite line"

  rm -rf "$tmp/robot"
  cp -r "$src/tests/fixtures/robots/run_single" "$tmp/robot"
  out=$(cd "$tmp" && "$p/bin/robotni" run -r "$tmp/robot/robot.yaml" 2>&1) ||
    fail "$p/bin/robotni run (exit $?): $out"
  grep -q "the sole task ran" <<<"$out" || fail "the task's output is missing: $out"
  ok "$p/bin/robotni run: the task ran"

  # The APIs real robots import (issue #13), from the installed shims: robocorp.log (log.html),
  # vault (a local secrets file), storage, fixtures, an output saved after its input loop.
  rm -rf "$tmp/apis"
  cp -r "$src/tests/fixtures/robots/real_apis" "$tmp/apis"
  out=$(cd "$tmp/apis" && "$p/bin/robotni" run -t Orders -e devdata/env.json \
        --input devdata/work-items.json 2>&1) || fail "$p/bin/robotni run real_apis (exit $?): $out"
  grep -q "task orders: total 35" <<<"$out" || fail "real_apis: no total: $out"
  grep -q "fixtures: setup orders, teardown orders failed=False" <<<"$out" ||
    fail "real_apis: fixtures did not run: $out"
  [[ -s $tmp/apis/output/log.html ]] || fail "real_apis: no output/log.html"
  ! grep -q "s3cret" "$tmp/apis/output/log.html" || fail "real_apis: the secret is in log.html"
  out=$(cd "$tmp/apis" && "$p/bin/robotni" items list --queue orders_output 2>&1)
  grep -q '{"total": 35, "assets": \["price"\]}' <<<"$out" || fail "real_apis: output: $out"
  # actions-work-items (`from actions.work_items import inputs, outputs`).
  rm -rf "$tmp/awi"
  cp -r "$src/tests/fixtures/robots/run_actions_wi" "$tmp/awi"
  out=$(cd "$tmp/awi" && "$p/bin/robotni" run -t Double \
        --input devdata/work-items.json 2>&1) || fail "$p/bin/robotni run run_actions_wi: $out"
  grep -q "doubled [1-9][0-9]* items" <<<"$out" || fail "run_actions_wi: $out"
  ok "$p/bin/robotni run: robocorp.log, vault, storage, fixtures, actions.work_items"

  # The same robot on PostgreSQL (issue #14): the installed binary's libpq store, in a schema
  # of its own on the ctest fixture's server, read back with the installed `items`.
  local pg_url
  pg_url="$(head -n1 "$ROBOTNI_TEST_PG_STATE")?search_path=install_$$_$RANDOM"
  out=$(cd "$tmp/apis" && "$p/bin/robotni" run -t Orders -e devdata/env.json \
        --input devdata/work-items.json --store "$pg_url" 2>&1) ||
    fail "$p/bin/robotni run --store postgresql (exit $?): $out"
  grep -q "task orders: total 35" <<<"$out" || fail "real_apis on postgresql: no total: $out"
  out=$("$p/bin/robotni" items list --store "$pg_url" --queue orders_output 2>&1)
  grep -q '{"total": 35, "assets": \["price"\]}' <<<"$out" ||
    fail "real_apis on postgresql: output: $out"
  ok "$p/bin/robotni run and items on PostgreSQL"

  # The robot as a conda package (issue #15): package, unpack into an environment, run there
  # with a module only that environment's site-packages holds.
  rm -rf "$tmp/pkg" "$tmp/env" && cp -r "$src/tests/fixtures/robots/real_apis" "$tmp/pkg"
  out=$("$p/bin/robotni" package -r "$tmp/pkg/robot.yaml" -o "$tmp/pkg/dist" 2>&1) ||
    fail "$p/bin/robotni package (exit $?): $out"
  out=$("$p/bin/robotni" env create -p "$tmp/env" "$tmp"/pkg/dist/*.conda 2>&1) ||
    fail "$p/bin/robotni env create (exit $?): $out"
  ls "$tmp"/env/conda-meta/pkg-*.json >/dev/null || fail "env create wrote no conda-meta record"
  echo 'print("env module imported")' >"$tmp/env/lib/python3.11/site-packages/env_only.py"
  echo 'import env_only  # noqa: from the environment' >>"$tmp/env/share/robotni/robots/pkg/tasks.py"
  out=$(cd "$tmp/env/share/robotni/robots/pkg" && "$p/bin/robotni" run -t Orders \
        -e devdata/env.json --input devdata/work-items.json --python-prefix "$tmp/env" 2>&1) ||
    fail "$p/bin/robotni run from the environment (exit $?): $out"
  grep -q "env module imported" <<<"$out" && grep -q "task orders: total 35" <<<"$out" ||
    fail "run from the environment: $out"
  ok "$p/bin/robotni package, env create, run in the environment"

  if [[ -f $p/lib/pkgconfig/robotni.pc ]] || ls "$p"/lib/*/pkgconfig/robotni.pc >/dev/null 2>&1; then
    local pcdir
    pcdir=$(dirname "$(find "$p" -name robotni.pc | head -1)")
    # robotni.pc's prefix is ${pcfiledir}/..: it follows the tree wherever it is.
    out=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags-only-I robotni | xargs)
    [[ $(realpath -m "${out#-I}") == "$p/include" ]] ||
      fail "pkg-config --cflags does not follow the prefix: $out"
    out=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir robotni | xargs)
    [[ -e $out/librobotni.so ]] || fail "pkg-config libdir has no librobotni.so: $out"
    ok "pkg-config follows the prefix"
  fi
}
run_installed "$prefix"

# --- examples: host programs built against the prefix only -------------------------------
# (issue #10 point 6) Each is copied out of the source tree and built with only what the
# prefix gives (pkg-config, find_package); the C and C++ hosts must not see the source tree.
build_examples() {  # PREFIX
  local p=$1 out pcdir libdir
  rm -rf "$tmp/examples" && mkdir -p "$tmp/examples"
  cp -r "$src/examples/robot" "$src/examples/c_host" "$src/examples/cpp_host" \
        "$src/examples/python" "$tmp/examples/"
  pcdir=$(dirname "$(find "$p" -name robotni.pc | head -1)")
  libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir robotni)
  # C: pkg-config; 1,000 jobs between a C type and a Python type, and a robot task.
  (cd "$tmp/examples/c_host" && env -u CPATH -u C_INCLUDE_PATH PKG_CONFIG_PATH="$pcdir" \
     make -s host >"$tmp/c_build.log" 2>&1) || { cat "$tmp/c_build.log" >&2; fail "c_host build"; }
  out=$(cd "$tmp" && "$tmp/examples/c_host/host" "$tmp/examples/robot" "$tmp/c_host.db" 2>&1) ||
    fail "c_host (exit $?): $out"
  grep -q "1000 of 1000 jobs done with the right result (500 ran in C)" <<<"$out" ||
    fail "c_host: $out"
  ok "examples/c_host: $(grep 'jobs done' <<<"$out")"
  # C++: find_package(robotni CONFIG) with CMAKE_PREFIX_PATH; drives serve from poll().
  "$cmake" -S "$tmp/examples/cpp_host" -B "$tmp/examples/cpp_build" -DCMAKE_PREFIX_PATH="$p" \
    >"$tmp/cpp_build.log" 2>&1 && "$cmake" --build "$tmp/examples/cpp_build" \
    >>"$tmp/cpp_build.log" 2>&1 || { cat "$tmp/cpp_build.log" >&2; fail "cpp_host build"; }
  if grep -q -- "$src" "$tmp/examples/cpp_build/compile_commands.json" 2>/dev/null ||
     grep -rq -- "-I$src" "$tmp/examples/cpp_build/CMakeFiles" 2>/dev/null; then
    fail "cpp_host was built with the source tree on its include path"
  fi
  out=$(cd "$tmp" && "$tmp/examples/cpp_build/cpp_host" "$tmp/examples/robot" "$tmp/cpp.db" 2>&1) ||
    fail "cpp_host (exit $?): $out"
  grep -q "^ok$" <<<"$out" || fail "cpp_host: $out"
  ok "examples/cpp_host: $(grep 'jobs done' <<<"$out")"
  # Python: the installed module, imported by Debian's python3.11.
  out=$(cd "$tmp" && PYTHONPATH="$p/lib/python3/dist-packages" /usr/bin/python3.11 \
        "$tmp/examples/python/host.py" "$tmp/examples/robot" 2>&1) ||
    fail "python host (exit $?): $out"
  ok "examples/python/host.py"
  # The host-module test suite, importing the installed module (not the build tree's).
  if /usr/bin/python3.11 -c "import pytest" 2>/dev/null; then
    out=$(cd "$tmp" && PYTHONPATH="$p/lib/python3/dist-packages" /usr/bin/python3.11 -m pytest \
          -q -p no:cacheprovider "$src/tests/python_host" 2>&1) || fail "python_host suite: $out"
    grep -q "passed" <<<"$out" || fail "python_host suite ran nothing: $out"
    ok "tests/python_host against the installed module: $(tail -1 <<<"$out")"
  fi
}

# --- relocate: move the whole prefix and run again ----------------------------------------
mkdir -p "$tmp/elsewhere"
mv "$prefix" "$tmp/elsewhere/moved-prefix"
run_installed "$tmp/elsewhere/moved-prefix"
ok "relocated prefix works"
build_examples "$tmp/elsewhere/moved-prefix"

echo "PASS"
