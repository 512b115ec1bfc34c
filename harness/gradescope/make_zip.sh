#!/usr/bin/env bash
# Makes the zip an instructor uploads to Gradescope for one lab (make gradescope LAB=NN):
# setup.sh and run_autograder at the zip's root, lab.env naming the lab, and the kit
# itself as kit.tar.gz (the committed tree: git archive HEAD).
# usage: harness/gradescope/make_zip.sh LAB OUT.zip
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: make_zip.sh LAB OUT.zip" >&2; exit 2; }
lab=$1 out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kit=$(cd "$here/../.." && pwd)
labs=$(ls "$kit/labs" | grep '^[0-9]' | tr '\n' ' ')
[[ ${lab%%-*} =~ ^[0-9]+$ ]] || { echo "make_zip: '$lab' is not a lab number (labs: $labs)" >&2; exit 2; }
number=$(printf '%02d' "$((10#${lab%%-*}))")
folder=$(cd "$kit/labs" && ls -d "$number"-* 2>/dev/null | head -1 || true)
[[ -n $folder ]] || { echo "make_zip: there is no lab $number (labs: $labs)" >&2; exit 2; }
git -C "$kit" rev-parse --git-dir >/dev/null 2>&1 || { echo "make_zip: $kit is not a git clone: the zip holds the committed kit (git archive)" >&2; exit 2; }
if [[ -n $(git -C "$kit" status --porcelain -- labs solutions harness scripts CMakeLists.txt) ]]; then
  echo "make_zip: note: uncommitted changes are not in the zip (it holds git archive HEAD)" >&2
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git -C "$kit" archive --format=tar.gz -o "$scratch/kit.tar.gz" HEAD
cp "$here/setup.sh" "$here/run_autograder" "$scratch/"
echo "LAB=$folder" >"$scratch/lab.env"
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
(cd "$scratch" && cmake -E tar cf "$out" --format=zip setup.sh run_autograder lab.env kit.tar.gz)
echo "make_zip: $out is ready for Gradescope (lab $folder)"
