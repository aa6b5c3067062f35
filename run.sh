#!/usr/bin/env bash
# AudioFetch's one entry point for people and CI.
#   ./run.sh [serve options]   set up .venv if needed and start the server (127.0.0.1:8080; HOST/PORT env)
#   ./run.sh test [pytest args] install the test extra and the Debian packages the tests need, run the suite
#   ./run.sh bench [name]       run the benchmarks under bench/ (installs what they compare against)
#   ./run.sh cli ARGS...        run the audiofetch CLI from the venv, in the folder it was called from
# Environment: PYTHON (interpreter for a new venv, default python3); VENV (the virtual environment to use,
# default .venv in this checkout; another checkout's venv may be shared: this checkout's code always runs).
set -euo pipefail
CALLER_DIR=$PWD
ROOT=$(cd "$(dirname "$0")" && pwd)
cd "$ROOT"

PYTHON=${PYTHON:-python3}
VENV=${VENV:-$ROOT/.venv}
case "$VENV" in /*) ;; *) VENV=$CALLER_DIR/$VENV ;; esac
# This checkout's package comes first whatever the venv was installed from.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "run.sh: need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_install() {
  # Installs the Debian packages given that are not installed yet; does nothing when all are there.
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "run.sh: installing Debian packages: ${missing[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      apt_install python3-venv
      "$PYTHON" -m venv "$VENV"
    fi
  fi
}

pip_install() {
  # Installs the package with the given extras (comma-separated, "" for none). Skipped when setup.cfg and
  # setup.py are the ones last installed (compared by content, so a fresh clone sharing a venv through VENV
  # installs nothing) and the extras asked for are among those installed then.
  local wanted hash="" have="" all extra
  wanted=$(cat setup.cfg setup.py | sha256sum | cut -d' ' -f1)
  read -r hash have <"$VENV/.installed" 2>/dev/null || true
  [ "$hash" = "$wanted" ] || have=""
  all=$have
  for extra in ${1//,/ }; do
    case ",$all," in *",$extra,"*) ;; *) all=${all:+$all,}$extra ;; esac
  done
  if [ "$hash" != "$wanted" ] || [ "$all" != "$have" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e ".${all:+[$all]}"
    echo "$wanted $all" >"$VENV/.installed"
  fi
  compile_bytecode
}

compile_bytecode() {
  # The package is installed editable, so pip compiles none of its modules; with PYTHONDONTWRITEBYTECODE
  # set, every run would compile them again (about 0.1 s). compileall writes what is missing or stale.
  "$VENV/bin/python" -m compileall -q -j 0 audiofetch >/dev/null
}

ensure_chromium() {
  # The render pass needs Debian's chromium: installed when we can (root or sudo without a password),
  # otherwise the server starts with the pass off and says how to turn it on.
  if [ -x /usr/bin/chromium ]; then return 0; fi
  if [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then
    apt_install chromium && return 0
  fi
  echo "run.sh: the render pass is off (no Chromium); turn it on with: sudo apt-get install chromium" >&2
  export AUDIOFETCH_RENDER="${AUDIOFETCH_RENDER:-never}"
}

cmd=${1:-serve}
case "$cmd" in
  test)
    shift
    ensure_venv
    pip_install "test,dev"
    apt_install unzip p7zip-full libarchive-tools lame flac vorbis-tools opus-tools chromium nginx-light postgresql
    set +e
    "$VENV/bin/python" -m pytest "$@"
    status=$?
    set -e
    exit $status
    ;;
  bench)
    shift
    ensure_venv
    pip_install "test,dev,bench"
    apt_install nginx-light aria2 curl
    if [ $# -eq 0 ]; then set -- download zipwriter detect detect_pages; fi
    for name in "$@"; do "$VENV/bin/python" "bench/$name.py"; done
    ;;
  container-test)
    # Lint, build and smoke-test the container image (Containerfile) with buildah and podman.
    shift
    exec .ci/container-test
    ;;
  cli)
    shift
    ensure_venv
    pip_install ""
    cd "$CALLER_DIR"  # NAME.zip, the default folder and relative --out paths land where the user is
    exec "$VENV/bin/audiofetch" "$@"
    ;;
  serve|-*)
    if [ "$cmd" = serve ] && [ $# -gt 0 ]; then shift; fi
    ensure_venv
    pip_install ""
    ensure_chromium
    exec "$VENV/bin/audiofetch" serve "$@"
    ;;
  *)
    echo "usage: ./run.sh [serve [options] | test [pytest args] | bench [name...] | cli ARGS...]" >&2
    exit 2
    ;;
esac
