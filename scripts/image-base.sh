#!/bin/sh
# A Debian bookworm base image with Python, made from Debian's packages (no base-image registry
# needed), imported into a buildah store kept outside the repository. Idempotent: a warm cache
# costs nothing.
#   scripts/image-base.sh            -> prints the image name (localhost/convlens-base:bookworm)
# Environment: CONVLENS_IMAGE_CACHE (default /var/cache/convlens), DEBIAN_MIRROR.
set -eu
CACHE=${CONVLENS_IMAGE_CACHE:-/var/cache/convlens}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE=localhost/convlens-base:bookworm
BUILDAH="buildah --root $CACHE/storage --runroot $CACHE/run --storage-driver vfs"

for tool in debootstrap buildah; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install $tool)" >&2; exit 3; }
done
mkdir -p "$CACHE"

if ! $BUILDAH inspect --type image "$IMAGE" >/dev/null 2>&1; then
    if [ ! -x "$CACHE/rootfs/usr/bin/python3" ]; then
        rm -rf "$CACHE/rootfs.partial"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            bookworm "$CACHE/rootfs.partial" "$MIRROR" >&2
        rm -rf "$CACHE/rootfs.partial/var/cache/apt/archives/"*.deb \
            "$CACHE/rootfs.partial/var/lib/apt/lists/"*
        mv "$CACHE/rootfs.partial" "$CACHE/rootfs"
    fi
    container=$($BUILDAH from scratch)
    $BUILDAH copy "$container" "$CACHE/rootfs" / >/dev/null
    $BUILDAH config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --cmd python3 "$container"
    $BUILDAH commit --rm "$container" "$IMAGE" >&2
fi
echo "$IMAGE"
