#!/bin/sh
# deps.sh - check the Debian packages a make target needs; as root on
# Debian/Ubuntu, install the missing ones (apt-get update once, then
# apt-get install -y); otherwise print the exact command and fail.
# Usage: sh mk/deps.sh build|test|run|fuzz|bench
set -u

build="gcc make pkg-config libssl-dev libsasl2-dev libsasl2-modules
	libsqlite3-dev libpam0g-dev libcrypt-dev libevent-dev libc-ares-dev
	zlib1g-dev libpcre2-dev libunistring-dev"
test="libcmocka-dev python3-pytest openssl clang fail2ban fetchmail swaks
	pflogsumm
	dovecot-pop3d"
run="openssl"
# make bench runs Postfix and Dovecot beside Yubin, from throwaway
# configurations in temp dirs (the system's own are never touched)
bench="postfix dovecot-imapd dovecot-pop3d"
fuzz="clang libclang-rt-dev"

case "${1:-build}" in
build) want=$build ;;
test) want="$build $test" ;;
run) want="$build $run" ;;
fuzz) want="$build $test $fuzz" ;;
bench) want="$build $test $bench" ;;
*) echo "deps.sh: unknown set '$1'" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	# not Debian: trust pkg-config for the libraries and say what we wanted
	if pkg-config --exists libevent libevent_openssl openssl libsasl2 \
		sqlite3 libcares zlib libcrypt pam libpcre2-8 &&
		[ -f /usr/include/uninorm.h ]; then
		exit 0
	fi
	echo "deps.sh: missing libraries; Debian names: $want" >&2
	exit 1
fi

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*" ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Yubin needs these Debian packages:$missing" >&2
	echo "Install them with:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
case "$missing" in
*" postfix"*)
	# a benchmark peer only: no mail system configured, service off
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections ;;
esac
apt-get update -qq || exit 1
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing || exit 1
case "$missing" in
*" postfix"*)
	systemctl disable --now postfix >/dev/null 2>&1 || true ;;
esac
