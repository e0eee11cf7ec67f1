#!/bin/sh
# run.sh - the demo instance behind `make run`: a config in run/ on
# unprivileged loopback ports, a self-signed certificate, a demo user,
# then `yubin start-fg` (Ctrl-C stops it).
# Usage: sh mk/run.sh BINDIR
set -eu
bindir=$1
top=$(pwd)
run=$top/run
etc=$run/etc

mkdir -p "$etc" "$run/spool" "$run/data" "$run/mail"
chmod 755 "$run" "$etc"

if [ ! -f "$etc/cert.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$etc/key.pem" -out "$etc/cert.pem" >/dev/null 2>&1
	chmod 644 "$etc/cert.pem"
	chmod 640 "$etc/key.pem"
fi

cat > "$etc/main.cf" <<CONF
# Demo instance made by 'make run'; remade each time.
myhostname = localhost.localdomain
mydomain = example.com
mydestination = \$myhostname, localhost
inet_interfaces = loopback-only
queue_directory = $run/spool
data_directory = $run/data
daemon_directory = $bindir
mail_location = maildir:$run/mail/%d/%n
virtual_mailbox_domains = example.com
tls_cert_file = $etc/cert.pem
tls_key_file = $etc/key.pem
smtpd_tls_security_level = may
smtpd_sasl_auth_enable = yes
alias_maps = hash:$etc/aliases
alias_database = hash:$etc/aliases
CONF
[ -f "$etc/aliases" ] || cp "$top/conf/aliases" "$etc/aliases"

cat > "$etc/master.cf" <<'CONF'
# Demo services on unprivileged ports, made by 'make run'.
2525  inet  n  -  n  -  -  smtpd
2587  inet  n  -  n  -  -  smtpd
  -o syslog_name=yubin/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
2465  inet  n  -  n  -  -  smtpd
  -o syslog_name=yubin/submissions
  -o smtpd_tls_wrappermode=yes
2143  inet  n  -  n  -  -  imapd
2993  inet  n  -  n  -  -  imapd
  -o tls_wrappermode=yes
2110  inet  n  -  n  -  -  pop3d
2995  inet  n  -  n  -  -  pop3d
  -o tls_wrappermode=yes
CONF
chmod 644 "$etc/main.cf" "$etc/master.cf"

if [ "$(id -u)" -eq 0 ]; then
	sh "$top/mk/mail-owner.sh"
	chown yubin "$etc/key.pem" "$run/mail"
	# the demo's virtual mail belongs to mail_owner
	cat >> "$etc/main.cf" <<CONF
virtual_uid_maps = static:$(id -u yubin)
virtual_gid_maps = static:$(id -g yubin)
CONF
fi

echo "Yubin demo instance, configuration in $etc"
echo "  SMTP 127.0.0.1:2525  submission :2587 (STARTTLS)  SMTPS :2465"
echo "  IMAP 127.0.0.1:2143  IMAPS :2993  POP3 :2110  POP3S :2995"
if "$bindir/yubinctl" -c "$etc" user list >/dev/null 2>&1; then
	pw=$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')
	"$bindir/yubinctl" -c "$etc" user del demo@example.com >/dev/null 2>&1 || true
	printf '%s\n' "$pw" | "$bindir/yubinctl" -c "$etc" user add demo@example.com
	echo "  demo user: demo@example.com  password: $pw"
else
	echo "  (no user database yet: yubinctl user arrives with authd)"
fi
echo "Services whose daemons are not built yet are skipped with a warning."
echo "Stop with Ctrl-C."
exec "$bindir/yubin" -c "$etc" start-fg
