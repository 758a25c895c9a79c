#!/usr/bin/env bash
# Build vcsim (govmomi's vCenter simulator) 0.24.2 from Debian bookworm
# packages, with the project's patches, and cache the binary.
#
# Usage:
#   scripts/build-vcsim.sh               build if needed; the LAST line of stdout is the binary path
#   scripts/build-vcsim.sh --force       rebuild even when the cached binary exists
#   scripts/build-vcsim.sh --print-path  print the cached binary path without building;
#                                        exit 1 (path still printed) when it is not built yet
#   ... --patch-level NNNN               (with any of the above) a variant with only the
#                                        project's patches numbered <= NNNN (0000: none, only
#                                        Debian's), cached as vcsim-0.24.2-pNNNN-<hash>; the
#                                        tests use it to prove each patch is needed
#
# Everything comes from Debian's mirror: the Go 1.19 toolchain and the
# govmomi/uuid library sources are installed as packages (scripts/apt-packages.sh),
# the vcsim/ main package from the SOURCE package golang-github-vmware-govmomi,
# fetched with a private APT_CONFIG (deb-src lines derived from the system's
# sources; the system's apt configuration is not touched). No Go module proxy,
# no GitHub.
#
# The binary is cached as $VCSIM_CACHE_DIR/vcsim-0.24.2-<hash>, <hash> covering
# the patches, the Debian versions of the source and the toolchain and this
# recipe; $VCSIM_CACHE_DIR/vcsim is a symlink to the latest build.
#
# Environment:
#   VCSIM_CACHE_DIR  cache directory (default: <repo>/.cache/vcsim)
#   VCSIM_SKIP_APT=1 do not run scripts/apt-packages.sh (packages already there)
set -euo pipefail

RECIPE=1   # bump when the build steps below change in a way that changes the binary
UPSTREAM_VERSION=0.24.2
SRC_PKG=golang-github-vmware-govmomi
LIB_PKG=golang-github-vmware-govmomi-dev

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PATCH_DIR=$REPO/tests/simulators/vcsim/patches
CACHE=${VCSIM_CACHE_DIR:-$REPO/.cache/vcsim}
GO=/usr/lib/go-1.19/bin/go

log() { echo "build-vcsim: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
mode=build
LEVEL=""   # empty: all patches
while [ $# -gt 0 ]; do
    case "$1" in
        --force) mode=force ;;
        --print-path) mode=print ;;
        --patch-level)
            [ $# -ge 2 ] || usage
            LEVEL=$2
            shift
            ;;
        *) usage ;;
    esac
    shift
done
case "$LEVEL" in
    ""|[0-9][0-9][0-9][0-9]) ;;
    *) die "--patch-level wants four digits (0000 = no project patch), not '$LEVEL'" ;;
esac

# the project's patches of this build, in order
patches() {
    local p n
    for p in "$PATCH_DIR"/*.patch; do
        [ -e "$p" ] || continue
        n=$(basename "$p")
        if [ -n "$LEVEL" ] && [ "${n:0:4}" \> "$LEVEL" ]; then
            continue
        fi
        echo "$p"
    done
}

# --- identity of the build: patches + Debian versions + recipe ---------------
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

build_hash() {
    local src_ver=$1 go_ver=$2 p
    {
        echo "recipe=$RECIPE"
        echo "source=$SRC_PKG $src_ver"
        echo "go=golang-1.19-go $go_ver"
        [ -z "$LEVEL" ] || echo "level=$LEVEL"
        for p in $(patches); do
            echo "patch=$(basename "$p")"
            cat "$p"
        done
    } | sha256sum | cut -c1-12
}

SRC_VERSION=$(pkg_version "$LIB_PKG")
GO_VERSION=$(pkg_version golang-1.19-go)
PREFIX=${LEVEL:+p$LEVEL-}   # variant binaries: vcsim-0.24.2-pNNNN-<hash>

if [ "$mode" = print ]; then
    if [ -z "$SRC_VERSION" ] || [ -z "$GO_VERSION" ]; then
        log "packages not installed; run $0"
        exit 1
    fi
    bin=$CACHE/vcsim-$UPSTREAM_VERSION-$PREFIX$(build_hash "$SRC_VERSION" "$GO_VERSION")
    echo "$bin"
    [ -x "$bin" ]
    exit
fi

# --- 1. Debian packages --------------------------------------------------------
if [ "${VCSIM_SKIP_APT:-}" != 1 ]; then
    bash "$REPO/scripts/apt-packages.sh"
    SRC_VERSION=$(pkg_version "$LIB_PKG")
    GO_VERSION=$(pkg_version golang-1.19-go)
fi
[ -n "$SRC_VERSION" ] || die "$LIB_PKG is not installed"
if [ -z "$GO_VERSION" ] || [ ! -x "$GO" ]; then
    die "golang-go (Go 1.19) is not installed"
fi
case "$SRC_VERSION" in
    "$UPSTREAM_VERSION"-*) ;;
    *) die "$LIB_PKG is $SRC_VERSION; the patches target $UPSTREAM_VERSION" ;;
esac

HASH=$(build_hash "$SRC_VERSION" "$GO_VERSION")
BIN=$CACHE/vcsim-$UPSTREAM_VERSION-$PREFIX$HASH

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9   # one build at a time per cache directory

if [ "$mode" != force ] && [ -x "$BIN" ]; then
    [ -n "$LEVEL" ] || ln -sfn "$(basename "$BIN")" "$CACHE/vcsim"
    log "cached: $BIN"
    echo "$BIN"
    exit 0
fi

# --- 2. source package, through a private APT_CONFIG ---------------------------
SRC_DIR=$CACHE/src
DSC=$SRC_DIR/${SRC_PKG}_${SRC_VERSION#*:}.dsc
if [ ! -f "$DSC" ]; then
    APT_DIR=$CACHE/apt
    rm -rf "$APT_DIR"
    mkdir -p "$APT_DIR"/state/lists/partial "$APT_DIR"/cache/archives/partial \
             "$APT_DIR"/sources.list.d "$SRC_DIR"
    # deb-src twins of the system's deb sources (same mirrors, same keys)
    n=0
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        sed -E 's/^Types:.*/Types: deb-src/' "$f" > "$APT_DIR/sources.list.d/$n-$(basename "$f")"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' "$f" > "$APT_DIR/sources.list.d/$n-$(basename "$f")"
    done
    : > "$APT_DIR/sources.list"
    cat > "$APT_DIR/apt.conf" <<EOF
Dir::State "$APT_DIR/state";
Dir::State::status "/var/lib/dpkg/status";
Dir::Cache "$APT_DIR/cache";
Dir::Etc::SourceList "$APT_DIR/sources.list";
Dir::Etc::SourceParts "$APT_DIR/sources.list.d";
Acquire::Languages "none";
APT::Sandbox::User "root";
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
EOF
    log "fetching Debian source $SRC_PKG=$SRC_VERSION (private APT_CONFIG=$APT_DIR/apt.conf)"
    APT_CONFIG=$APT_DIR/apt.conf apt-get -qq update >&2
    (cd "$SRC_DIR" && APT_CONFIG=$APT_DIR/apt.conf \
        apt-get -qq source --download-only "$SRC_PKG=$SRC_VERSION" >&2)
    [ -f "$DSC" ] || die "apt-get source did not produce $DSC"
    rm -rf "$APT_DIR"   # the Sources index is ~10 MB; only the source is kept
fi

# --- 3. unpack, patch, build ---------------------------------------------------
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SRC_ROOT=$WORK/gopath/src/github.com/vmware/govmomi
mkdir -p "$(dirname "$SRC_ROOT")"
# Debian's own patches (test skips, an x509 error check) are applied too.
dpkg-source --no-check -x "$DSC" "$SRC_ROOT" >/dev/null
for p in $(patches); do
    log "applying $(basename "$p")"
    patch -d "$SRC_ROOT" -p1 --batch --forward --quiet < "$p" >&2 \
        || die "patch $(basename "$p") does not apply"
done

log "go build ./vcsim ($("$GO" version | cut -d' ' -f3), GOPATH mode)"
# GOPATH mode: the patched tree comes first, so it shadows the unpatched
# govmomi library in /usr/share/gocode; google/uuid comes from /usr/share/gocode.
env -u GOFLAGS \
    GO111MODULE=off GOPROXY=off GOFLAGS= GOENV=off GOTOOLCHAIN=local \
    GOPATH="$WORK/gopath:/usr/share/gocode" GOCACHE="$CACHE/go-build" \
    CGO_ENABLED=0 GOOS=linux \
    "$GO" build -trimpath -o "$WORK/vcsim" github.com/vmware/govmomi/vcsim >&2

# smoke test: the binary runs (uuidgen exits before building an inventory)
"$WORK/vcsim" uuidgen >/dev/null || die "built binary does not run"

mv -f "$WORK/vcsim" "$BIN"
# keep the KEEP newest builds of the same kind (full builds: <hash>; variants:
# p<level>-<hash>): branches with other patches may share this cache
KEEP=4
if [ -z "$LEVEL" ]; then
    ln -sfn "$(basename "$BIN")" "$CACHE/vcsim"
    glob="$CACHE/vcsim-$UPSTREAM_VERSION-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]"
else
    glob="$CACHE/vcsim-$UPSTREAM_VERSION-$PREFIX*"
fi
# shellcheck disable=SC2086 # the glob is meant to expand
ls -1t $glob 2>/dev/null | tail -n +$((KEEP + 1)) | while read -r old; do
    [ "$old" = "$BIN" ] || rm -f "$old"
done
log "built: $BIN"
echo "$BIN"
