#!/usr/bin/env bash
# Proves render.sh --check in both directions on a scratch copy: it passes a folder
# whose SVGs were just rendered, and fails (naming the file and the fix) on an edited
# source, a missing SVG, an SVG without a source, a misspelt colour and an unknown
# look value.
set -euo pipefail

diagrams=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$diagrams/render.sh" "$diagrams/look.toml" "$scratch/"
cat >"$scratch/graph.dot" <<'DOT'
digraph graph_example { a -> b [color="@client@", label="connect()"]; }
DOT
cat >"$scratch/chart.msc" <<'MSC'
msc { c [label="client"], s [label="server"]; c => s [label="SYN", linecolour="@client@"]; }
MSC

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# expect_check_fails WHAT WORDS: --check must exit non-zero and say WORDS.
expect_check_fails() {
  local output
  if output=$(bash "$scratch/render.sh" --check "$scratch" 2>&1); then
    fail "$1: --check passed; it should have failed"
  elif ! grep -qF -- "$2" <<<"$output"; then
    fail "$1: --check failed without saying '$2'; it said: $output"
  fi
}

bash "$scratch/render.sh" >/dev/null
bash "$scratch/render.sh" --check "$scratch" >/dev/null || fail "fresh renders: --check failed"

cp "$scratch/graph.dot" "$scratch/graph.keep"
echo '// an edit' >>"$scratch/graph.dot"
expect_check_fails "an edited source" "graph.svg is out of date with graph.dot: run make diagrams"
cp "$scratch/graph.keep" "$scratch/graph.dot"

sed -i 's/^client = .*/client = "#00ff00"/' "$scratch/look.toml"
expect_check_fails "a changed look" "chart.svg is out of date with chart.msc"
cp "$diagrams/look.toml" "$scratch/look.toml"

mv "$scratch/chart.svg" "$scratch/chart.keep"
expect_check_fails "a missing SVG" "chart.svg is missing"
mv "$scratch/chart.keep" "$scratch/chart.svg"

cp "$scratch/chart.svg" "$scratch/orphan.svg"
expect_check_fails "an SVG without a source" "orphan.svg has no source"
rm "$scratch/orphan.svg"

echo 'digraph broken { a -> b [color="bluu"]; }' >"$scratch/broken.dot"
expect_check_fails "a misspelt colour" "broken.dot does not render: Warning: bluu is not a known color"
echo 'digraph broken { a -> b [color="@no_such_value@"]; }' >"$scratch/broken.dot"
expect_check_fails "an unknown look value" "uses @no_such_value@ but look.toml defines no such value"
rm "$scratch/broken.dot"
echo 'msc { a, b; a => c; }' >"$scratch/broken.msc"
expect_check_fails "an mscgen error" "broken.msc does not render"
rm "$scratch/broken.msc"

bash "$scratch/render.sh" --check "$scratch" >/dev/null || fail "restored folder: --check failed"
((failures == 0)) && echo "render.sh --check: passes fresh renders and catches all 6 faults"
exit $((failures > 0))
