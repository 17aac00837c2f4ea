#!/bin/sh
# Guest half of tests/check_probe_vm.rs: real servers follow TCP_CHECK probes in the kernel's
# IPVS table. Runs as /test.sh in the QEMU guest (tests/vm/ipvs-vm.sh), with keepalived-rs
# in /usr/local/bin. Exit 0: every step held.
#
# main (root namespace, 198.18.6.1) runs a virtual server whose real servers are ports
# 8080 and 8081 of 198.18.6.2 in namespace "rs", served by busybox httpd; stopping a server
# takes its real server out of the table (or to weight 0 with inhibit_on_failure), starting
# it again brings it back.
IP=/usr/sbin/ip
K=keepalived-rs
T=/tmp/pc
mkdir -p $T /www
echo hello > /www/index.html

fail() {
  echo "FAIL: $*"
  echo "--- ipvsadm -Ln"; ipvsadm -Ln
  echo "--- main log"; cat $T/main.log
  exit 1
}

weight() { # weight VS RS: RS's weight in VS, or "none"
  ipvsadm -Ln -t "$1" 2>/dev/null | awk -v rs="$2" '$1 == "->" && $2 == rs { print $4; f = 1 } END { if (!f) print "none" }'
}

expect() { # expect DESC TENTHS VS RS WEIGHT
  i=0
  while [ $i -lt "$2" ]; do
    [ "$(weight "$3" "$4")" = "$5" ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  fail "$1: $4 in $3 has weight $(weight "$3" "$4"), want $5"
}

logged() { # logged MARK TENTHS FILE
  i=0
  while [ $i -lt "$2" ]; do
    grep -q -- "$1" "$3" 2>/dev/null && return 0
    sleep 0.1
    i=$((i + 1))
  done
  fail "no '$1' in $3"
}

serve() { # serve PORT: busybox httpd in namespace rs
  $IP netns exec rs busybox httpd -f -p 198.18.6.2:$1 -h /www &
  echo $! > $T/httpd$1.pid
  sleep 0.2
}

unserve() { # unserve PORT
  kill "$(cat $T/httpd$1.pid)"
  wait "$(cat $T/httpd$1.pid)" 2>/dev/null
}

$IP netns add rs || fail "ip netns add"
$IP link add v0 type veth peer name v1 || fail "veth"
$IP link set v1 netns rs
$IP addr add 198.18.6.1/24 dev v0
$IP link set v0 up
$IP -n rs addr add 198.18.6.2/24 dev v1
$IP -n rs link set v1 up
$IP -n rs link set lo up

[ -s /etc/passwd ] || echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
[ -s /etc/group ] || echo 'root:x:0:' > /etc/group

cat > $T/main.conf <<EOC
virtual_server 192.0.2.20 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.18.6.2 8080 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 198.18.6.2 8081 {
        weight 3
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server 192.0.2.22 25 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.18.6.2 25 {
        weight 5
        SMTP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.18.6.2 7 {
        weight 6
        PING_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server 192.0.2.21 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.18.6.2 8082 {
        weight 4
        HTTP_GET {
            url {
                path /index.html
                digest b1946ac92492d2347c6235b4d2611184
            }
            url {
                path /status.html
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
EOC

serve 8080
serve 8081
echo ok > /www/status.html
serve 8082
# An SMTP server: greeting, HELO, QUIT.
printf '#!/bin/sh\nprintf "220 test ESMTP\\r\\n"\nread l\nprintf "250 ok\\r\\n"\nread l\nprintf "221 bye\\r\\n"\n' > /usr/local/bin/smtpd.sh
chmod 755 /usr/local/bin/smtpd.sh
$IP netns exec rs busybox nc -ll -p 25 -e /usr/local/bin/smtpd.sh &
echo $! > $T/smtpd.pid
$K -n -l -f $T/main.conf -p $T/main.pid -r $T/main.vpid -c $T/main.cpid -b $T/main.bpid \
  > $T/main.log 2>&1 &
i=0
while [ ! -s $T/main.pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s $T/main.pid ] || fail "main did not start"

# 1. Both servers answer: both real servers in at their weights.
expect "start" 50 192.0.2.20:80 198.18.6.2:8080 2
expect "start" 10 192.0.2.20:80 198.18.6.2:8081 3
logged "TCP connection to \[198.18.6.2\]:tcp:8080 success." 50 $T/main.log
logged "TCP connection to \[198.18.6.2\]:tcp:8081 success." 50 $T/main.log

# 2. The servers stop: 8080 leaves after its retry, 8081 goes to weight 0 (inhibit).
unserve 8080
unserve 8081
expect "server 8080 stopped" 80 192.0.2.20:80 198.18.6.2:8080 none
expect "server 8081 stopped" 80 192.0.2.20:80 198.18.6.2:8081 0
logged "TCP_CHECK on service \[198.18.6.2\]:tcp:8080 failed after 1 retries." 10 $T/main.log
logged "TCP_CHECK on service \[198.18.6.2\]:tcp:8081 failed." 10 $T/main.log
logged "Removing service \[198.18.6.2\]:tcp:8080 from VS \[192.0.2.20\]:tcp:80" 10 $T/main.log

# 3. They come back.
serve 8080
serve 8081
expect "server 8080 back" 80 192.0.2.20:80 198.18.6.2:8080 2
expect "server 8081 back" 80 192.0.2.20:80 198.18.6.2:8081 3

# 4. HTTP_GET: both urls answer as configured (digest of "hello\n", status 200): in.
expect "http start" 80 192.0.2.21:80 198.18.6.2:8082 4
logged "Remote Web server \[198.18.6.2\]:tcp:8082 succeed on service." 10 $T/main.log
# The page changes: digest error, one retry, out.
echo changed > /www/index.html
expect "http digest" 100 192.0.2.21:80 198.18.6.2:8082 none
logged "HTTP_CHECK on service \[198.18.6.2\]:tcp:8082 failed after 1 retries." 10 $T/main.log
# Restored: back in.
echo hello > /www/index.html
expect "http restored" 100 192.0.2.21:80 198.18.6.2:8082 4
logged "MD5 digest success to \[198.18.6.2\]:tcp:8082 url(/index.html)" 10 $T/main.log
# The second url goes missing (404): out again.
rm /www/status.html
expect "http 404" 100 192.0.2.21:80 198.18.6.2:8082 none

# 5. SMTP_CHECK and PING_CHECK: in while the server answers, out when it stops.
expect "smtp start" 80 192.0.2.22:25 198.18.6.2:25 5
expect "ping start" 80 192.0.2.22:25 198.18.6.2:7 6
kill "$(cat $T/smtpd.pid)"
expect "smtp stopped" 80 192.0.2.22:25 198.18.6.2:25 none
$IP netns exec rs busybox sh -c 'echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all'
expect "ping ignored" 80 192.0.2.22:25 198.18.6.2:7 none
$IP netns exec rs busybox sh -c 'echo 0 > /proc/sys/net/ipv4/icmp_echo_ignore_all'
expect "ping back" 80 192.0.2.22:25 198.18.6.2:7 6

# 6. SIGTERM: the table is emptied.
kill -TERM "$(cat $T/main.pid)"
i=0
while ipvsadm -Ln | grep -q "TCP  192.0.2.2" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ipvsadm -Ln | grep -q "TCP  192.0.2.2" && fail "services left after SIGTERM"
echo "--- main log"; cat $T/main.log
echo "PROBE CHECK VM TEST OK"
exit 0
