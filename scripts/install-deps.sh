#!/usr/bin/env bash
# Installs the Debian packages the kit builds and tests with.
# Idempotent: installs only what is missing, and says what that is.
set -euo pipefail

# Build and test dependencies. Keep this list the only one: the Makefile
# checks for the marker below, CI and students both come through here.
packages=(
  g++ cmake make pkg-config
  doctest-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev
  libpugixml-dev libarchive-dev
  iproute2 procps psmisc netcat-openbsd time
  graphviz mscgen fonts-liberation2  # the diagrams and labcheck --trace (Liberation Sans: Helvetica's metrics)
  socat gnuplot-nox  # lab 10: socat's fork server for harness/bench/ratios.sh, gnuplot for make compare's plot
)
quiet=0
for argument in "$@"; do
  case "$argument" in
    --with-stress) packages+=(stress-ng) ;;  # for the repeated-runs-under-load script
    --quiet) quiet=1 ;;
    *) echo "install-deps: unknown option $argument (known: --with-stress --quiet)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  ((quiet)) || echo "install-deps: all build packages are present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: cannot install ${missing[*]}: this is not a Debian system (no apt-get); install them by hand" >&2
  exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: need root to install ${missing[*]}: run this script as root, or install sudo" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/install-deps.log 2>&1; then
  # The package lists may be stale or absent on a fresh machine: refresh once.
  if ! { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; } >>/tmp/install-deps.log 2>&1; then
    echo "install-deps: apt-get could not install ${missing[*]}; see /tmp/install-deps.log" >&2
    exit 1
  fi
fi
echo "install-deps: done"
