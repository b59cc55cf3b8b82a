#!/bin/bash
# test-completion.sh COMPLETION RAVTRACE - the bash completion for ravtrace
# driven the way bash drives it: COMP_WORDS split as readline splits a
# line ('=' is a word of its own), the function called, COMPREPLY checked.
# Run twice: with the plain script, and with the bash-completion package's
# helpers loaded (which reassemble "--opt=value").  The completion reads
# subcommands and options from RAVTRACE's own --help, so this also checks
# that the help texts keep the shape it parses.
set -u
[ $# -eq 2 ] || { echo "usage: $0 COMPLETION RAVTRACE" >&2; exit 2; }
COMPLETION=$(realpath "$1")
RAVTRACE=$(realpath "$2")
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ravscope-completion-test.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/dir/sub"
touch "$WORK/dir/a.ravtrace" "$WORK/dir/b.ravtrace" "$WORK/dir/notes.txt"
mkdir -p "$WORK/bin"
# ravtrace itself, except that `ravtrace list` shows one fixed program (the
# PIDs offered after "attach" come from it; the real list depends on what
# else runs on the machine).
cat >"$WORK/bin/ravtrace" <<EOF
#!/bin/sh
if [ "\$1" = list ] && [ \$# -eq 1 ]; then
  echo "    PID  USER       HEAPS   LIVE CELLS   UPTIME  ATTACHED  COMMAND"
  echo "   4242  someone        2          100       5s  -         ./myprog"
  exit 0
fi
exec "$RAVTRACE" "\$@"
EOF
chmod +x "$WORK/bin/ravtrace"

failures=0
for mode in plain bash-completion; do
  if [ $mode = bash-completion ] && [ ! -f $BASH_COMPLETION ]; then
    echo "FAIL: $BASH_COMPLETION missing (tools/deps.sh installs bash-completion)"
    failures=$((failures + 1))
    continue
  fi
  # expect LINE WANTED...: every WANTED word is offered (-x: exactly those)
  out=$(cd "$WORK/dir" && PATH=$WORK/bin:$PATH MODE=$mode BASH_COMPLETION=$BASH_COMPLETION COMPLETION=$COMPLETION bash --norc --noprofile <<'EOS'
[ "$MODE" = bash-completion ] && . "$BASH_COMPLETION"
. "$COMPLETION"
expect() {
  local exact=0
  [ "$1" = -x ] && { exact=1; shift; }
  local line=$1
  shift
  # readline's split: at blanks, and '=' as a word of its own
  local split=${line//=/ = }
  read -r -a COMP_WORDS <<<"$split"
  [[ $line == *" " || $line == *= && ${COMP_WORDS[-1]} != = ]] && COMP_WORDS+=("")
  [[ $line == *" " ]] && [[ ${COMP_WORDS[-1]} != "" ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE=$line
  COMP_POINT=${#line}
  COMPREPLY=()
  _ravtrace 2>/dev/null
  local got=" ${COMPREPLY[*]} " w
  for w in "$@"; do
    if [[ $got != *" $w "* ]]; then
      echo "FAIL [$MODE] '$line': '$w' not offered (got:$got)"
      return
    fi
  done
  if [ $exact = 1 ] && [ ${#COMPREPLY[@]} -ne $# ]; then
    echo "FAIL [$MODE] '$line': offered$got, expected only $*"
    return
  fi
  echo "ok [$MODE] '$line' ->$got"
}
expect "ravtrace " info dump stats validate export list attach help
expect -x "ravtrace st" stats
expect -x "ravtrace --v" --version
expect -x "ravtrace help ex" export
expect -x "ravtrace dump --ki" --kind=
expect "ravtrace dump --" --kind= --thread= --from= --to= --cell= --limit= --list-kinds --help
expect "ravtrace stats --" --json --top= --line-size= --bins=
expect -x "ravtrace info --j" --json
expect -x "ravtrace dump --kind=mo" move
expect -x "ravtrace dump --kind=move,fi" move,fixup
expect "ravtrace export --format=" chrome sqlite
expect -x "ravtrace export --format=sq" sqlite
expect -x "ravtrace sites --group=" line call stack
expect -x "ravtrace stats --group=st" stack
expect -x "ravtrace stats " a.ravtrace b.ravtrace sub
expect -x "ravtrace export --format=chrome -o no" notes.txt
expect "ravtrace attach --" --output= --seconds= --stats --lossless --queue= --access
expect -x "ravtrace list --j" --json
expect -x "ravtrace attach " 4242
expect -x "ravtrace attach --stats 42" 4242
expect -x "ravtrace attach 4242 -o no" notes.txt
expect -x "ravtrace list "
EOS
)
  echo "$out"
  failures=$((failures + $(echo "$out" | grep -c '^FAIL')))
  [ "$(echo "$out" | grep -c '^ok')" -ge 20 ] || { echo "FAIL [$mode]: the checks did not all run"; failures=$((failures + 1)); }
done
[ $failures -eq 0 ] || { echo "$failures completion check(s) failed"; exit 1; }
echo "completion checks passed"
