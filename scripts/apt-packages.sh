#!/usr/bin/env bash
# The ONE list of Debian (bookworm) packages the virtops.compute project needs,
# and an idempotent installer for them.
#
# Usage:
#   scripts/apt-packages.sh            install every package below (fast no-op when all are installed)
#   scripts/apt-packages.sh --list     print the package names, one per line
#   scripts/apt-packages.sh --missing  print the packages that are not installed yet
#
#   or, from another bash script:
#     source scripts/apt-packages.sh && apt_packages_install
#
# Adding packages: append to PACKAGES, grouped under a comment naming the
# script / test suite that needs it. Install by name from Debian's mirror only.
#
# Environment:
#   APT_PACKAGES_MAX_AGE  seconds after which `apt-get update` is run again (default 86400)
#   APT_PACKAGES_STAMP    stamp file recording our last successful `apt-get update`

PACKAGES=(
    # --- vcsim (vCenter simulator) build: scripts/build-vcsim.sh ---------------
    golang-go                         # Go 1.19 toolchain (GOPATH mode build)
    golang-github-vmware-govmomi-dev  # govmomi 0.24.2 library sources (/usr/share/gocode)
    golang-github-google-uuid-dev     # only third-party import of vcsim/ + simulator/
    dpkg-dev                          # dpkg-source, to unpack the Debian source package
    patch                             # applies tests/simulators/vcsim/patches/*.patch
    xz-utils                          # the .orig/.debian tarballs are .tar.xz
    # --- Xen-in-QEMU lab (tests/xl): scripts/xenlab/build, scripts/xenlab/boot --
    qemu-system-x86                   # boots Xen + dom0 under TCG
    qemu-utils                        # qemu-img: the per-host scratch disk
    debootstrap                       # the dom0 root filesystem
    cpio                              # packs the dom0 initramfs and the domU initrd
    zstd                              # compresses the dom0 initramfs
    busybox-static                    # the tiny PV domU's userspace
    kmod                              # depmod: the dom0 kernel module tree
    e2fsprogs                         # mkfs.ext4 for the scratch disk
    openssh-client                    # ssh to dom0 (tests, record-xl-output)
)

_apt_sudo() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "apt-packages.sh: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

# Print the packages of "$@" (default: PACKAGES) that are not installed.
apt_packages_missing() {
    local pkgs=("$@") p status
    [ ${#pkgs[@]} -gt 0 ] || pkgs=("${PACKAGES[@]}")
    for p in "${pkgs[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        case "$status" in
            ii*) ;;
            *) echo "$p" ;;
        esac
    done
}

# Run `apt-get update` unless our own stamp says it succeeded less than
# APT_PACKAGES_MAX_AGE seconds ago. (The mtimes of /var/lib/apt/lists/* are the
# mirror's Last-Modified dates, not the time of the last update: not usable.)
apt_packages_update() {
    local stamp=${APT_PACKAGES_STAMP:-/var/lib/apt/periodic/virtops-apt-update-stamp}
    local max_age=${APT_PACKAGES_MAX_AGE:-86400} now mtime
    if [ "${1:-}" != "--force" ] && [ -f "$stamp" ]; then
        now=$(date +%s)
        mtime=$(stat -c %Y "$stamp")
        if [ $((now - mtime)) -lt "$max_age" ]; then
            return 0
        fi
    fi
    echo "apt-packages.sh: apt-get update" >&2
    _apt_sudo apt-get -o DPkg::Lock::Timeout=300 -qq update >&2
    _apt_sudo mkdir -p "$(dirname "$stamp")"
    _apt_sudo touch "$stamp"
}

# Install "$@" (default: PACKAGES); a no-op when they are all installed.
apt_packages_install() {
    local missing
    mapfile -t missing < <(apt_packages_missing "$@")
    [ ${#missing[@]} -gt 0 ] || return 0
    apt_packages_update
    echo "apt-packages.sh: installing ${missing[*]}" >&2
    if ! _apt_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
            install -y -qq --no-install-recommends "${missing[@]}" >&2; then
        # The package lists may be fresh by our stamp yet miss a new package
        # or version: refresh once and retry.
        apt_packages_update --force
        _apt_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
            install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        --list) printf '%s\n' "${PACKAGES[@]}" ;;
        --missing) apt_packages_missing "${PACKAGES[@]}" ;;
        "") apt_packages_install "${PACKAGES[@]}" ;;
        *) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
fi
