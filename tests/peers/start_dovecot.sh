#!/bin/bash
# A throwaway Dovecot IMAP server for the tests: start_dovecot.sh DIR PORT
# One user, test/testpass, Maildir under DIR. With FOREGROUND=1 it runs in the
# foreground (for a Popen fixture that kills its process group at the end).
set -euo pipefail
D=$(realpath -m "$1"); PORT=${2:-10143}
mkdir -p "$D"/{run,state,mail,home}; chmod 0755 "$D"      # the auth process runs as dovecot and reads $D/users
MUID=$(id -u dovecot); MGID=$(id -g dovecot); chown -R "$MUID:$MGID" "$D/mail" "$D/home"
echo "test:{PLAIN}testpass:$MUID:$MGID::$D/home/test" > "$D/users"
cat > "$D/dovecot.conf" <<CONF
base_dir = $D/run
state_dir = $D/state
instance_name = dovecot-test-$PORT
log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$D/mail/%u
first_valid_uid = 1
mailbox_idle_check_interval = 1 secs
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
if [ -n "${FOREGROUND:-}" ]; then exec dovecot -F -c "$D/dovecot.conf"; fi
dovecot -c "$D/dovecot.conf"
