#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image. It
# unpacks the kit that `make gradescope LAB=NN` put in the zip, installs the Debian
# packages the kit needs, and builds labcheck.
set -euo pipefail

source_dir=${AUTOGRADER_ROOT:-/autograder}/source
kit=$source_dir/kit
mkdir -p "$kit"
tar -xzf "$source_dir/kit.tar.gz" -C "$kit"
bash "$kit/scripts/install-deps.sh"
cmake -S "$kit" -B "$kit/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$kit/build" --target labcheck -j "$(nproc)"
echo "setup.sh: labcheck is built in $kit/build"
