#!/usr/bin/env bash
# kubo (the reference IPFS node), built from the Go module proxy at a pinned version.
# `go install github.com/ipfs/kubo/cmd/ipfs@v` is refused (kubo's go.mod has exclude
# directives), so a tiny wrapper module requires kubo and builds its cmd/ipfs.
# The binary is cached at ~/.cache/ipfs-kit-build/kubo-<version>/ipfs; tests find it there
# (or through IPFS_KIT_KUBO_BIN). The Go build cache is kept between runs.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
KUBO_VERSION=${KUBO_VERSION:-v0.43.1}
GO_LIBP2P_VERSION=${GO_LIBP2P_VERSION:-v0.50.0}
GO_TOOLCHAIN=1.26.8
CACHE=${IPFS_KIT_BUILD_CACHE:-$HOME/.cache/ipfs-kit-build}
DEST="$CACHE/kubo-$KUBO_VERSION"
BIN="$DEST/ipfs"
hold_lock "$CACHE/kubo-$KUBO_VERSION.lock"  # a second run waits, then finds the binary built

# Go >= 1.21 fetches the toolchain kubo's go.mod asks for by itself (GOTOOLCHAIN=auto).
# Without any go, Debian's golang package is installed first; an older go (< 1.21) takes the
# toolchain module through its own `go mod download` (the Go tooling, from GOPROXY), which is
# what GOTOOLCHAIN=auto does in newer versions.
go_recent() {
  command -v go >/dev/null 2>&1 \
    && go env GOVERSION | awk -F'[go.]' '{exit !($3 > 1 || ($3 == 1 && $4 >= 21))}'
}

ensure_go() {
  [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
  local dir="$CACHE/go-$GO_TOOLCHAIN"
  [ -x "$dir/bin/go" ] && export PATH="$dir/bin:$PATH"
  go_recent && return
  command -v go >/dev/null 2>&1 || apt_install golang-go >/dev/null
  local module="golang.org/toolchain@v0.0.1-go$GO_TOOLCHAIN.linux-$(go env GOARCH)" src
  src=$(GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  rm -rf "$dir.unpack" && cp -r "$src" "$dir.unpack" && chmod -R u+w,u+x "$dir.unpack"
  rm -rf "$dir" && mv "$dir.unpack" "$dir"
  export PATH="$dir/bin:$PATH"
  go_recent
}

if [ ! -x "$BIN" ]; then
  ensure_go
  export GOTOOLCHAIN=auto GOFLAGS=-mod=mod
  work="$DEST.build"
  rm -rf "$work"
  mkdir -p "$work"
  start=$(date +%s)
  (
    cd "$work"
    go mod init ipfs-kit-kubo-build >/dev/null 2>&1
    # Replace directives bind only kubo's own build. kubo v0.43.1 replaces go-libp2p with a
    # pre-release fork the module proxy does not serve; go-libp2p v0.50.0 is the release
    # with the same quic-go / webtransport-go requirements, so require it instead.
    go get "github.com/ipfs/kubo@$KUBO_VERSION" "github.com/libp2p/go-libp2p@$GO_LIBP2P_VERSION"
    go build -trimpath -o ipfs github.com/ipfs/kubo/cmd/ipfs
  )
  mkdir -p "$DEST"
  mv "$work/ipfs" "$BIN.tmp"
  mv "$BIN.tmp" "$BIN"
  rm -rf "$work"
  echo "kubo: built $KUBO_VERSION in $(( $(date +%s) - start ))s" >&2
fi
"$BIN" version >/dev/null
echo "kubo: $BIN"
