#!/usr/bin/env bash
# Renders the kit's pictures, in the one look that look.toml defines.
#
#   render.sh                  render every *.dot and *.msc here to the .svg beside it
#   render.sh --check [DIR]    render every source of DIR (default: here) to a scratch
#                              folder; fail when one does not render cleanly, or when a
#                              committed .svg was not rendered from its current source
#   render.sh SOURCE OUT.svg   render one source (labcheck --trace uses this)
#   render.sh --expand SOURCE  print SOURCE with the look's values put in
#
# Each SVG ends with a stamp: the sha256 of the source as rendered (look values in)
# and of the renderer's options. --check compares stamps, not bytes, because two
# Graphviz builds may place a label a pixel apart while the picture is the same.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
look="$here/look.toml"

die() {
  echo "render.sh: $*" >&2
  exit 1
}

[[ -r $look ]] || die "cannot read $look, which defines the look"

# look.toml's `name = "value"` lines, as a sed script that puts the values in.
look_script() {
  sed -n 's/^\([a-z_][a-z_0-9]*\) *= *"\([^"|]*\)".*/s|@\1@|\2|g/p' "$look"
}

look_value() {
  sed -n "s/^$1 *= *\"\\([^\"]*\\)\".*/\\1/p" "$look"
}

# The source with the look's values in; fails naming any @name@ that look.toml lacks.
expand() {
  local source=$1 expanded unknown
  [[ -r $source ]] || die "cannot read $source"
  expanded=$(sed -f <(look_script) "$source")
  unknown=$(grep -o '@[a-z_][a-z_0-9]*@' <<<"$expanded" | sort -u | tr '\n' ' ' || true)
  [[ -z $unknown ]] || die "$source uses ${unknown% } but look.toml defines no such value"
  printf '%s\n' "$expanded"
}

# Graphviz's defaults for every graph, node and edge: the look's font, ink and
# arrows, as statements put first inside the top graph's braces. A source's own
# `node [...]` or `edge [...]` after them still wins; command-line -N/-E flags would not.
dot_defaults() {
  local font size ink
  font=$(look_value font) size=$(look_value font_size) ink=$(look_value ink)
  printf '  graph [fontname="%s", fontsize=%s, fontcolor="%s", bgcolor="%s"];\n' \
    "$font" "$size" "$ink" "$(look_value paper)"
  printf '  node [fontname="%s", fontsize=%s, fontcolor="%s", color="%s"];\n' \
    "$font" "$size" "$ink" "$ink"
  printf '  edge [fontname="%s", fontsize=%s, fontcolor="%s", color="%s", arrowhead="%s", arrowtail="%s", arrowsize=%s];\n' \
    "$font" "$size" "$ink" "$ink" "$(look_value arrowhead)" "$(look_value arrowhead)" "$(look_value arrowsize)"
}

# The source with dot_defaults put right after the brace that opens the top graph.
with_dot_defaults() {
  DEFAULTS=$(dot_defaults) awk '
    !done && /^[ \t]*(strict[ \t]+)?(di)?graph([ \t][^{]*)?\{/ {
      brace = index($0, "{")
      print substr($0, 1, brace)
      print ENVIRON["DEFAULTS"]
      $0 = substr($0, brace + 1)
      done = 1
    }
    { print }
    END { if (!done) exit 3 }'
}

# mscgen draws on a transparent page: lay the look's paper under it, as Graphviz does.
paper_under_mscgen() {
  awk -v paper="$(look_value paper)" '
    { print }
    /^<svg/ { in_svg = 1 }
    in_svg && />$/ { print "<rect width=\"100%\" height=\"100%\" fill=\"" paper "\"/>"; in_svg = 0 }'
}

stamp_of() {
  local source=$1
  if [[ $source == *.dot ]]; then
    expand "$source" | with_dot_defaults
  else
    expand "$source"
  fi | sha256sum | cut -d' ' -f1
}

stamp_line() {
  echo "<!-- rendered by diagrams/render.sh from $(basename "$1"); stamp $2 -->"
}

# Renders one source to `out`. Any warning of the renderer counts as a failure: a
# misspelt colour or attribute would otherwise draw quietly in black.
render_one() {
  local source=$1 out=$2 expanded errors stamp
  expanded=$(expand "$source") || exit 1
  errors=$(mktemp)
  case $source in
    *.dot)
      command -v dot >/dev/null || die "dot is missing: install graphviz (make deps does)"
      if ! expanded=$(with_dot_defaults <<<"$expanded"); then
        rm -f "$errors"
        die "$source: no line opens the graph (\`digraph name {\` at the start of a line)"
      fi
      dot -Tsvg -o "$out.tmp" <<<"$expanded" 2>"$errors" || true
      ;;
    *.msc)
      command -v mscgen >/dev/null || die "mscgen is missing: install mscgen (make deps does)"
      mscgen -T svg -i - -o - <<<"$expanded" 2>"$errors" | paper_under_mscgen >"$out.tmp" || true
      ;;
    *) die "$source: only .dot (Graphviz) and .msc (mscgen) sources are rendered" ;;
  esac
  if [[ -s $errors ]] || ! grep -q '</svg>' "$out.tmp" 2>/dev/null; then
    rm -f "$out.tmp"
    die "$source does not render: $(head -c 600 "$errors"; rm -f "$errors")"
  fi
  rm -f "$errors"
  stamp=$(stamp_of "$source")
  stamp_line "$source" "$stamp" >>"$out.tmp"
  mv "$out.tmp" "$out"
}

sources_in() {
  find "$1" -maxdepth 1 \( -name '*.dot' -o -name '*.msc' \) | sort
}

scratch=""
check_all() {
  local dir=$1 failed=0 source svg want
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  while IFS= read -r source; do
    svg="${source%.*}.svg"
    if ! (render_one "$source" "$scratch/$(basename "$svg")"); then
      failed=1
      continue
    fi
    want=$(stamp_line "$source" "$(stamp_of "$source")")
    if [[ ! -f $svg ]]; then
      echo "render.sh: $svg is missing: run make diagrams and commit it" >&2
      failed=1
    elif [[ $(tail -n 1 "$svg") != "$want" ]]; then
      echo "render.sh: $svg is out of date with $(basename "$source"): run make diagrams and commit it" >&2
      failed=1
    fi
  done < <(sources_in "$dir")
  for svg in "$dir"/*.svg; do
    [[ -e $svg ]] || continue
    if [[ ! -e ${svg%.svg}.dot && ! -e ${svg%.svg}.msc ]]; then
      echo "render.sh: $svg has no source (${svg%.svg}.dot or .msc): delete it or add its source" >&2
      failed=1
    fi
  done
  ((failed == 0)) || return 1
  echo "render.sh: every diagram in $dir renders and is up to date"
}

case ${1:-} in
  --check) check_all "${2:-$here}" ;;
  --expand)
    [[ $# -eq 2 ]] || die "usage: render.sh --expand SOURCE"
    expand "$2"
    ;;
  "")
    while IFS= read -r source; do
      render_one "$source" "${source%.*}.svg"
      echo "rendered ${source#"$PWD"/} -> $(basename "${source%.*}.svg")"
    done < <(sources_in "$here")
    ;;
  -*) die "unknown option $1 (see the top of this script)" ;;
  *)
    [[ $# -eq 2 && $2 == *.svg ]] || die "usage: render.sh SOURCE OUT.svg"
    render_one "$1" "$2"
    ;;
esac
