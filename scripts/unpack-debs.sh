# Sourced by the host tests: Debian packages downloaded and unpacked into a folder, not installed.
#
# unpack_debs ROOT DEBS_DIR PKG...: downloads each PKG (an "a|b" alternative takes the first
# package apt knows: names differ between Debian 12 and later) into DEBS_DIR, running
# `apt-get update` once if a download fails, unpacks every .deb there into ROOT and deletes DEBS_DIR.
download_debs() {
    local alt pkg
    for alt in "$@"; do
        for pkg in ${alt//|/ }; do
            if apt-get download "$pkg" >/dev/null 2>&1; then continue 2; fi
        done
        echo "cannot download any of: $alt" >&2
        return 1
    done
}
unpack_debs() {
    local root=$1 debs=$2 deb sudo=""
    shift 2
    mkdir -p "$debs"
    if ! (cd "$debs" && download_debs "$@"); then
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        (cd "$debs" && download_debs "$@")
    fi
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root"; done
    # Unpacked, the packages are not needed again (CI's disk is shared and has run full).
    rm -rf "$debs"
}
