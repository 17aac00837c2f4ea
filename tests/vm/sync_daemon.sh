#!/bin/sh
# Guest half of tests/check_bfd_vm.rs's sync daemon test: `lvs_timeouts` reach the kernel,
# and `lvs_sync_daemon v0 VI_1 id 7` runs the IPVS sync daemon as backup while VI_1 is not
# MASTER and as master while it is, as keepalived's VRRP side drives it. Runs as /test.sh
# in the QEMU guest (tests/vm/ipvs-vm.sh) with keepalived-rs in /usr/local/bin.
IP=/usr/sbin/ip
K=keepalived-rs
T=/tmp/sd
mkdir -p $T

fail() {
  echo "FAIL: $*"
  echo "--- ipvsadm -L --daemon"; ipvsadm -L --daemon
  echo "--- ipvsadm -L --timeout"; ipvsadm -L --timeout
  echo "--- main log"; cat $T/main.log
  echo "--- peer log"; cat $T/peer.log
  exit 1
}

start() { # start NAME NETNS-PREFIX
  $2 $K -n -l -f $T/$1.conf -p $T/$1.pid -r $T/$1.vpid -c $T/$1.cpid -b $T/$1.bpid \
    > $T/$1.log 2>&1 &
  i=0
  while [ ! -s $T/$1.pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s $T/$1.pid ] || fail "$1 did not start"
}

# daemons STATE...: waits (10 s) until `ipvsadm -L --daemon` lists exactly these states.
daemons() {
  want="$*"
  i=0
  while [ $i -lt 100 ]; do
    have=$(ipvsadm -L --daemon | awk '{print $1}' | sort | tr '\n' ' ' | sed 's/ $//')
    [ "$have" = "$want" ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  fail "sync daemons '$have', want '$want'"
}

$IP netns add peer || fail "ip netns add"
$IP link add v0 type veth peer name v1 || fail "veth"
$IP link set v1 netns peer
$IP addr add 198.18.6.1/24 dev v0
$IP link set v0 up
$IP -n peer addr add 198.18.6.2/24 dev v1
$IP -n peer link set v1 up
$IP -n peer link set lo up

vrrp() { # vrrp IF PRIORITY
  printf 'vrrp_instance VI_1 {\n    state BACKUP\n    interface %s\n    version 3\n    virtual_router_id 51\n    priority %s\n    advert_int 1\n    virtual_ipaddress {\n        192.0.2.51/24\n    }\n}\n' "$1" "$2"
}
{
  printf 'global_defs {\n    lvs_timeouts tcp 901 tcpfin 121 udp 301\n    lvs_sync_daemon v0 VI_1 id 7\n}\n'
  vrrp v0 100
  printf 'virtual_server 192.0.2.51 80 {\n    protocol TCP\n    real_server 198.18.6.2 80 {\n        weight 1\n    }\n}\n'
} > $T/main.conf
vrrp v1 200 > $T/peer.conf

start main ""
i=0
while ! ipvsadm -L --timeout | grep -q "901 121 301" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ipvsadm -L --timeout | grep -q "901 121 301" || fail "lvs_timeouts not set"
# Alone on the link, VI_1 is BACKUP first (backup daemon), then MASTER (master daemon).
# (advert_int 1: the BACKUP phase lasts over 3 s, which the guest needs to be seen in it
# while the kernel starts the backup daemon, a second or so under an emulated CPU.)
daemons backup
ipvsadm -L --daemon | grep -q "syncid=7" || fail "sync id 7 not used"
ipvsadm -L --daemon | grep -q "mcast=v0" || fail "interface v0 not used"
daemons master
# A router with a higher priority: VI_1 goes back to BACKUP, and so does the daemon.
start peer "$IP netns exec peer"
daemons backup
# SIGTERM: no sync daemon is left.
kill -TERM "$(cat $T/main.pid)"
i=0
while [ -n "$(ipvsadm -L --daemon)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -z "$(ipvsadm -L --daemon)" ] || fail "sync daemon left after SIGTERM"
kill -TERM "$(cat $T/peer.pid)" 2>/dev/null
echo "--- main log"; cat $T/main.log
echo "SYNC DAEMON VM TEST OK"
exit 0
