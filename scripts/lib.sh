# Shared by the install scripts and the README's two commands (source it; bash only).
#   step NAME ESTIMATE CMD...  one progress line per step with its elapsed time; the step's
#                              full output goes to $IPFS_KIT_LOG_DIR/NAME.log, which a failure names
#   apt_install PKG...         Debian packages, waiting for the dpkg lock instead of failing
#   hold_lock FILE             wait for, then hold until the script exits, an exclusive lock
#                              (two runs of one install script take turns instead of racing)
# IPFS_KIT_VERBOSE=1 shows every step's output as it runs.

IPFS_KIT_LOG_DIR=${IPFS_KIT_LOG_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ipfs-kit-install/logs}

step() {
  local name=$1 estimate=$2 start rc log
  shift 2
  mkdir -p "$IPFS_KIT_LOG_DIR"
  log="$IPFS_KIT_LOG_DIR/$name.log"
  start=$(date +%s)
  if [ -n "$estimate" ]; then
    printf '== %s (%s) ... ' "$name" "$estimate"
  else
    printf '== %s ... ' "$name"
  fi
  if [ "${IPFS_KIT_VERBOSE:-0}" = 1 ]; then
    echo
    rc=0
    "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  else
    rc=0
    "$@" >"$log" 2>&1 || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    echo "FAILED after $(($(date +%s) - start))s (exit $rc); last lines of $log:"
    tail -n 20 "$log" | sed 's/^/   | /'
    echo "   full log: $log"
    return "$rc"
  fi
  echo "done in $(($(date +%s) - start))s"
}

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@"
}

hold_lock() {
  mkdir -p "$(dirname "$1")"
  exec 9>"$1"
  if ! flock -n 9; then
    echo "waiting for another install that holds $1 ..."
    flock 9
  fi
}
