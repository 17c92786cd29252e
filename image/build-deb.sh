#!/bin/sh
# Builds the callbox Debian package from bin/callbox and the files in systemd/:
#   image/build-deb.sh [VERSION]   →   dist/callbox_VERSION_ARCH.deb
set -eu
cd "$(dirname "$0")/.."
version=${1:-$(git describe --tags --always 2>/dev/null | sed 's/^v//' || echo 0.0.0)}
case $version in [0-9]*) ;; *) version="0.0.0+$version" ;; esac
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

install -D -m 0755 bin/callbox "$root/usr/bin/callbox"
install -D -m 0644 systemd/callbox.service "$root/lib/systemd/system/callbox.service"
install -D -m 0644 systemd/callbox.sysusers "$root/usr/lib/sysusers.d/callbox.conf"
install -D -m 0644 systemd/callbox.tmpfiles "$root/usr/lib/tmpfiles.d/callbox.conf"
install -D -m 0644 systemd/60-callbox.rules "$root/lib/udev/rules.d/60-callbox.rules"
install -D -m 0644 README.md "$root/usr/share/doc/callbox/README.md"
mkdir -p "$root/etc/callbox"
bin/callbox config demo > "$root/etc/callbox/callbox.yaml"
chmod 0640 "$root/etc/callbox/callbox.yaml"

mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: callbox
Version: $version
Architecture: $arch
Maintainer: callbox <root@localhost>
Depends: systemd, espeak-ng
Recommends: sox
Section: comm
Priority: optional
Description: call-center box: SIP trunks and phones, IVR, queues, recording, helpdesk sync
 callbox answers phone lines and SIP trunks, runs IVR menus, queues callers to
 agents, records conversations and syncs every call to the helpdesk.
CONTROL
echo /etc/callbox/callbox.yaml > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	systemd-sysusers callbox.conf
	systemd-tmpfiles --create callbox.conf
	chgrp callbox /etc/callbox/callbox.yaml
	udevadm control --reload-rules || true
	systemctl daemon-reload || true
fi
POSTINST
chmod 0755 "$root/DEBIAN/postinst"

mkdir -p dist
dpkg-deb --root-owner-group --build "$root" "dist/callbox_${version}_${arch}.deb"
