#!/bin/sh
# Guest half of tests/check_bfd_vm.rs: BFD_CHECK real servers follow a BFD session, in the
# kernel's IPVS table. Runs as /test.sh in the QEMU guest (tests/vm/ipvs-vm.sh), with
# keepalived-rs in /usr/local/bin. Exit 0: every step held.
#
# main (root namespace, 198.18.5.1) runs virtual servers whose real servers follow BFD
# session rs1; peer (namespace "peer", 198.18.5.2) answers that session. Freezing peer
# (SIGSTOP) takes the session Down: the real servers leave the table (or go to weight 0
# with inhibit_on_failure); thawing it brings them back.
IP=/usr/sbin/ip
K=keepalived-rs
T=/tmp/bc
mkdir -p $T

fail() {
  echo "FAIL: $*"
  echo "--- ipvsadm -Ln"; ipvsadm -Ln
  echo "--- main log"; cat $T/main.log
  echo "--- peer log"; cat $T/peer.log
  exit 1
}

# weight VS RS: the weight of real server RS (ip:port) in virtual service VS, or "none".
weight() {
  ipvsadm -Ln -t "$1" 2>/dev/null | awk -v rs="$2" '$1 == "->" && $2 == rs { print $4; f = 1 } END { if (!f) print "none" }'
}

# expect DESC TENTHS VS RS WEIGHT: waits (up to TENTHS/10 s) for that weight.
expect() {
  i=0
  while [ $i -lt "$2" ]; do
    [ "$(weight "$3" "$4")" = "$5" ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  fail "$1: $4 in $3 has weight $(weight "$3" "$4"), want $5"
}

start() { # start NAME NETNS-PREFIX
  $2 $K -n -l -f $T/$1.conf -p $T/$1.pid -r $T/$1.vpid -c $T/$1.cpid -b $T/$1.bpid \
    > $T/$1.log 2>&1 &
  i=0
  while [ ! -s $T/$1.pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s $T/$1.pid ] || fail "$1 did not start"
}

$IP netns add peer || fail "ip netns add"
$IP link add v0 type veth peer name v1 || fail "veth"
$IP link set v1 netns peer
$IP addr add 198.18.5.1/24 dev v0
$IP link set v0 up
$IP -n peer addr add 198.18.5.2/24 dev v1
$IP -n peer link set v1 up
$IP -n peer link set lo up

bfd() { # bfd NAME NEIGHBOR SOURCE
  printf 'bfd_instance %s {\n    neighbor_ip %s\n    source_ip %s\n    min_rx 100\n    min_tx 100\n    multiplier 3\n}\n' "$1" "$2" "$3"
}

main_conf() { # main_conf WEIGHT-OF-THE-FIRST-REAL-SERVER [WITHOUT-THE-SECOND]
  printf 'global_defs {\n    notify_fifo %s/fifo\n    lvs_notify_fifo %s/lfifo\n    lvs_notify_fifo_script %s\n    enable_script_security\n    script_user root\n}\n' $T $T $R
  bfd rs1 198.18.5.2 198.18.5.1
  cat <<EOC
virtual_server 192.0.2.10 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.18.5.2 80 {
        weight $1
        notify_up "$N up 10"
        notify_down "$N down 10"
        BFD_CHECK {
            name rs1
        }
    }
EOC
  [ -n "$2" ] || cat <<EOC
    real_server 198.18.5.3 80 {
        weight 2
        inhibit_on_failure
        BFD_CHECK {
            name rs1
        }
    }
EOC
  cat <<EOC
}
virtual_server 192.0.2.11 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    quorum_up "$N qup 11"
    quorum_down "$N qdown 11"
    real_server 198.18.5.2 80 {
        weight 5
        BFD_CHECK {
            name rs1
            alpha
        }
    }
}
EOC
}

# logged MARK TENTHS FILE: waits for a line with MARK in FILE.
logged() {
  i=0
  while [ $i -lt "$2" ]; do
    grep -q -- "$1" "$3" 2>/dev/null && return 0
    sleep 0.1
    i=$((i + 1))
  done
  fail "no '$1' in $3: $(cat "$3" 2>/dev/null)"
}

# The guest has no user database; script_user root needs one.
[ -s /etc/passwd ] || echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
[ -s /etc/group ] || echo 'root:x:0:' > /etc/group
# Notify scripts live where script security accepts them: root's, in a root-only directory.
N=/usr/local/bin/kvrs-notify.sh
printf '#!/bin/sh\necho "$@" >> %s/notify.log\n' $T > $N
chmod 755 $N
# lvs_notify_fifo's reader, started by the daemon with the FIFO's path.
R=/usr/local/bin/kvrs-fifo-reader.sh
printf '#!/bin/sh\nexec cat "$1" >> %s/lfifo.log\n' $T > $R
chmod 755 $R
mkfifo $T/fifo
cat $T/fifo > $T/fifo.log &
main_conf 3 > $T/main.conf
bfd main 198.18.5.1 198.18.5.2 > $T/peer.conf

# 1. Start: the session starts Down and the checkers are told so at once (as keepalived's
#    BFD process does): the real servers are out (or at weight 0 with inhibit_on_failure);
#    alpha ones wait for their first Up anyway.
start main ""
expect "start" 50 192.0.2.10:80 198.18.5.2:80 none
expect "start" 10 192.0.2.10:80 198.18.5.3:80 0
[ "$(weight 192.0.2.11:80 198.18.5.2:80)" = none ] || fail "alpha real server in before any Up"
ipvsadm -Ln | grep -q "TCP  192.0.2.10:80 rr" || fail "service 192.0.2.10:80 rr missing"
ipvsadm -Ln | grep -q "TCP  192.0.2.11:80 wrr" || fail "service 192.0.2.11:80 wrr missing"
logged "BFD check of \[rs1\] RS(\[198.18.5.2\]:tcp:80) is DOWN" 10 $T/main.log

# 2. The session comes Up: every real server goes in.
start peer "$IP netns exec peer"
expect "session up" 150 192.0.2.11:80 198.18.5.2:80 5
expect "session up" 10 192.0.2.10:80 198.18.5.2:80 3
expect "session up" 10 192.0.2.10:80 198.18.5.3:80 2
ipvsadm -Ln -t 192.0.2.11:80 | grep "198.18.5.2:80" | grep -q Route || fail "DR real server not Route"

# 3. Peer frozen: the session goes Down; out, or weight 0 with inhibit_on_failure.
kill -STOP "$(cat $T/peer.pid)"
expect "session down" 100 192.0.2.10:80 198.18.5.2:80 none
expect "session down" 10 192.0.2.10:80 198.18.5.3:80 0
expect "session down" 10 192.0.2.11:80 198.18.5.2:80 none
grep -q "Removing service \[198.18.5.2\]:tcp:80 from VS \[192.0.2.10\]:tcp:80" $T/main.log \
  || fail "no keepalived removal line"
logged "down 10" 30 $T/notify.log
logged "qdown 11" 30 $T/notify.log
logged "RS \[198.18.5.2\]:tcp:80 \[192.0.2.10\]:tcp:80 DOWN" 30 $T/fifo.log
logged "VS \[192.0.2.11\]:tcp:80 DOWN" 30 $T/fifo.log
logged "RS \[198.18.5.2\]:tcp:80 \[192.0.2.10\]:tcp:80 DOWN" 30 $T/lfifo.log

# 4. Thawed: back at their weights.
kill -CONT "$(cat $T/peer.pid)"
expect "session up again" 150 192.0.2.10:80 198.18.5.2:80 3
expect "session up again" 10 192.0.2.10:80 198.18.5.3:80 2
expect "session up again" 10 192.0.2.11:80 198.18.5.2:80 5
logged "up 10" 30 $T/notify.log
logged "qup 11" 30 $T/notify.log
logged "RS \[198.18.5.2\]:tcp:80 \[192.0.2.10\]:tcp:80 UP" 30 $T/fifo.log

# 5. Reload with another weight: the real server keeps its health and takes the weight.
main_conf 4 > $T/main.conf
kill -HUP "$(cat $T/main.pid)"
expect "reload" 50 192.0.2.10:80 198.18.5.2:80 4
expect "reload" 10 192.0.2.11:80 198.18.5.2:80 5

# 6. SIGTERM: what we installed leaves the kernel.
kill -TERM "$(cat $T/main.pid)"
i=0
while ipvsadm -Ln | grep -q "TCP  192.0.2.1" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ipvsadm -Ln | grep -q "TCP  192.0.2.1" && fail "services left after SIGTERM"
# 7. A killed run leaves its table behind; the next start takes it over (the services and
#    real servers already there are edited to match, one no longer configured is removed)
#    and SIGTERM still removes it all.
main_conf 4 > $T/main.conf
rm -f $T/main.pid
start main ""
expect "restart" 50 192.0.2.10:80 198.18.5.2:80 4
kill -KILL "$(cat $T/main.pid)"
sleep 0.2
[ "$(weight 192.0.2.10:80 198.18.5.2:80)" = 4 ] || fail "the killed run's table is gone"
main_conf 6 without-the-second > $T/main.conf
rm -f $T/main.pid
start main ""
expect "takeover of a stale table" 50 192.0.2.10:80 198.18.5.2:80 6
expect "takeover of a stale table" 10 192.0.2.10:80 198.18.5.3:80 none
grep -q "IPVS: removing 198.18.5.3:80 left by a previous run from TCP 192.0.2.10:80" $T/main.log \
  || fail "no line for the stale real server"
expect "takeover of a stale table" 150 192.0.2.11:80 198.18.5.2:80 5
kill -TERM "$(cat $T/main.pid)"
i=0
while ipvsadm -Ln | grep -q "TCP  192.0.2.1" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ipvsadm -Ln | grep -q "TCP  192.0.2.1" && fail "services left after SIGTERM of the second run"

kill -TERM "$(cat $T/peer.pid)" 2>/dev/null
echo "--- main log"; cat $T/main.log
echo "--- notify scripts"; cat $T/notify.log
echo "--- notify fifo"; cat $T/fifo.log
echo "BFD_CHECK VM TEST OK"
exit 0
