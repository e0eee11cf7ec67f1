#!/bin/sh
# mail-owner.sh - as root, make sure the default mail_owner system user
# exists, so that tests exercise the privilege drop; as anyone else there
# is nothing to do (Yubin then runs as the invoking user).
set -u
user=${1:-yubin}
[ "$(id -u)" -eq 0 ] || exit 0
id "$user" >/dev/null 2>&1 && exit 0
useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$user"
