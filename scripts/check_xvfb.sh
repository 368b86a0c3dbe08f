#!/usr/bin/env bash
# Real-window check of the viewer under Xvfb:
#   1. start `histeq-gui FILE` on a virtual X display (the xcb platform, a real window),
#   2. find its window with xdotool and check the title holds the file name and "histeq-gui",
#   3. press Ctrl+Q with xdotool and check that the program exits with code 0, and how soon
#      (it must not linger: printed in seconds; more than 5 s fails).
#
# Usage: scripts/check_xvfb.sh            (uses `histeq-gui` from PATH, or installs this
#                                           checkout into a temporary prefix to get one)
# Needs: Xvfb and xdotool (apt-get install xvfb xdotool), PyQt5's xcb libraries.
# Environment: PYTHON (default: python3), TIMEOUT seconds per step (default: 30).
set -euo pipefail

PYTHON=${PYTHON:-python3}
TIMEOUT=${TIMEOUT:-30}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/histeq-xvfb.XXXXXX")
XVFB_PID=""
APP_PID=""

cleanup() {
    [[ -n "$APP_PID" ]] && kill "$APP_PID" 2>/dev/null || true
    [[ -n "$XVFB_PID" ]] && kill "$XVFB_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

command -v Xvfb >/dev/null || fail "Xvfb is not installed (apt-get install xvfb)"
command -v xdotool >/dev/null || fail "xdotool is not installed (apt-get install xdotool)"

# The program to check: histeq-gui on PATH, else this checkout installed (no deps) in $WORK.
if command -v histeq-gui >/dev/null; then
    APP=(histeq-gui)
elif "$PYTHON" -m pip install --quiet --no-deps --no-build-isolation --prefix "$WORK/prefix" \
        "$ROOT" >"$WORK/pip.log" 2>&1; then
    echo "histeq-gui is not on PATH; installed this checkout into a temporary prefix"
    SITE=$(echo "$WORK"/prefix/lib/python*/site-packages)
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    APP=("$WORK/prefix/bin/histeq-gui")
else
    echo "histeq-gui is not on PATH and this checkout does not install" \
         "($(grep -m1 -o 'OSError: .*' "$WORK/pip.log" || tail -n1 "$WORK/pip.log"));" \
         "using python -m histeq_gui from the checkout"
    export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
    APP=("$PYTHON" -m histeq_gui)
fi
echo "program: ${APP[*]}"

# A small stack file to open.
STACK="$WORK/xvfb_check_stack.npy"
"$PYTHON" -c "import numpy as np; np.save('$STACK', \
(np.random.default_rng(0).random((5, 1, 64, 64)) ** 2 * 255).astype(np.uint8))"

# A free display number, then wait until the server answers.
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$WORK/display" 2>"$WORK/xvfb.log" &
XVFB_PID=$!
for _ in $(seq 1 50); do [[ -s "$WORK/display" ]] && break; sleep 0.1; done
[[ -s "$WORK/display" ]] || fail "Xvfb did not start: $(cat "$WORK/xvfb.log")"
export DISPLAY=":$(head -n1 "$WORK/display")"
echo "display: $DISPLAY"

# Start the viewer with its own settings file (the user's settings stay untouched).
QT_QPA_PLATFORM=xcb "${APP[@]}" "$STACK" --settings "$WORK/settings.ini" \
    >"$WORK/app.out" 2>"$WORK/app.err" &
APP_PID=$!

WID=""
for _ in $(seq 1 $((TIMEOUT * 10))); do
    WID=$(xdotool search --name "xvfb_check_stack.npy" 2>/dev/null | head -n1 || true)
    [[ -n "$WID" ]] && break
    kill -0 "$APP_PID" 2>/dev/null || { cat "$WORK/app.err" >&2; fail "the viewer exited early"; }
    sleep 0.1
done
[[ -n "$WID" ]] || { cat "$WORK/app.err" >&2; fail "no window titled with the file name"; }
TITLE=$(xdotool getwindowname "$WID")
echo "window $WID title: $TITLE"
[[ "$TITLE" == *"xvfb_check_stack.npy"* && "$TITLE" == *"histeq-gui"* ]] \
    || fail "unexpected title: $TITLE"

# Let it finish loading, then Ctrl+Q (XTEST key events to the focused window).
sleep 1
xdotool windowfocus --sync "$WID" 2>/dev/null || true
QUIT_AT=$(date +%s%N)
xdotool key --clearmodifiers ctrl+q

CODE=""
for _ in $(seq 1 $((TIMEOUT * 10))); do
    if ! kill -0 "$APP_PID" 2>/dev/null; then
        set +e; wait "$APP_PID"; CODE=$?; set -e
        break
    fi
    sleep 0.1
done
APP_PID_DONE=$APP_PID
APP_PID=""
[[ -n "$CODE" ]] || { kill "$APP_PID_DONE" 2>/dev/null; fail "the viewer did not quit on Ctrl+Q"; }
EXIT_MS=$(( ($(date +%s%N) - QUIT_AT) / 1000000 ))
echo "exit code after Ctrl+Q: $CODE, $EXIT_MS ms after the key"
(( EXIT_MS <= 5000 )) || fail "the process lingered $EXIT_MS ms after Ctrl+Q"
if grep -q "Traceback" "$WORK/app.err"; then cat "$WORK/app.err" >&2; fail "a traceback was printed"; fi
[[ "$CODE" == 0 ]] || { cat "$WORK/app.err" >&2; fail "exit code $CODE"; }
echo "PASS: window titled '$TITLE' quit with Ctrl+Q in $EXIT_MS ms, exit code 0"
