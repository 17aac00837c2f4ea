#!/bin/bash
# ipvs-vm.sh - run a test inside a stock Debian 12 kernel (IPVS as modules) under QEMU/TCG.
# The repository's copy of ../shared/tools/ipvs-vm.sh (tests/ipvs_vm.rs drives it): the guest
# also has veth, the SIP persistence engine and iproute2's ip (`ip netns`, `ip link add type
# veth`). Call it as /usr/sbin/ip from guest scripts: busybox sh runs its own applet for `ip`.
#
#   ipvs-vm.sh setup                       # apt deps, kernel, base initramfs (cached in $C);
#                                          # quick no-op when the cache matches this script
#   ipvs-vm.sh check                       # exit 0 when `run` can run (tools there, cache current)
#   ipvs-vm.sh run TEST.sh [BIN...]        # boot; TEST.sh runs as /test.sh as root in the guest,
#                                          # BINs land in /usr/local/bin (their shared libs are copied too).
#                                          # Exit status = TEST.sh's exit status (99 = no result from the VM).
# Env: IPVS_VM_CACHE (default /tmp/ipvs-vm), IPVS_VM_TIMEOUT (default 120 s), IPVS_VM_LOG (serial log file).
set -euo pipefail
C=${IPVS_VM_CACHE:-/tmp/ipvs-vm}
TMO=${IPVS_VM_TIMEOUT:-120}
MODS="crc32c_generic ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_dh ip_vs_sed ip_vs_nq
      ip_vs_lblc ip_vs_lblcr ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_pe_sip dummy veth virtio_pci
      9pnet_virtio 9p"
PKGS="qemu-system-x86 busybox-static ipvsadm xz-utils iproute2"
# The cache is valid for this very script (MODS, /init, ...): its hash is stamped in $C/stamp.
STAMP=$(sha256sum "$(readlink -f "$0")" | cut -d' ' -f1)

# copy an executable plus the shared libraries ldd reports (incl. the loader) under root dir $2
add_bin() { # add_bin SRC ROOT DEST
  mkdir -p "$2$(dirname "$3")"; cp -L "$1" "$2$3"
  { ldd "$1" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; } | while read -r l; do
    mkdir -p "$2$(dirname "$l")"; [ -e "$2$l" ] || cp -L "$l" "$2$l"; done
}

# Is everything `run` needs there, and the cache made by this version of the script?
check() {
  local t; for t in qemu-system-x86_64 /bin/busybox timeout gzip; do
    command -v "$t" >/dev/null || { echo "ipvs-vm: $t is missing (run: $0 setup)" >&2; return 1; }; done
  if ! [ -s "$C/bzImage" ] || ! [ -s "$C/base.cpio.gz" ] || ! [ -s "$C/kver" ]; then
    echo "ipvs-vm: no kernel and base initramfs in $C (run: $0 setup)" >&2; return 1; fi
  if [ "$(cat "$C/stamp" 2>/dev/null)" != "$STAMP" ]; then
    echo "ipvs-vm: $C was made by another version of this script (run: $0 setup)" >&2; return 1; fi
}

setup() {
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$C"
  need=(); for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then apt-get update -q; fi
  if [ ${#need[@]} -gt 0 ] && ! apt-get install -y -q --no-install-recommends --no-remove "${need[@]}"; then
    # e.g. qemu-utils from bookworm-backports is already installed (Breaks qemu-system-common << 8):
    # take qemu-system-x86 from bookworm-backports as well, via a private apt source list.
    mkdir -p "$C/apt/lists/partial" "$C/apt/archives/partial" "$C/apt/parts"
    # the machine's own Debian source, with the backports suite added beside its suites
    sed -E 's/^(Suites: bookworm( .*)?)$/\1 bookworm-backports/' \
        /etc/apt/sources.list.d/debian.sources > "$C/apt/parts/debian.sources"
    A=(-o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts="$C/apt/parts"
       -o Dir::State::lists="$C/apt/lists" -o Dir::Cache::archives="$C/apt/archives")
    apt-get "${A[@]}" update -q
    apt-get "${A[@]}" install -y -q --no-install-recommends --no-remove -t bookworm-backports "${need[@]}"
  fi
  if check 2>/dev/null; then
    echo "setup already done: kernel $(cat "$C/kver"), base initramfs in $C"; return 0
  fi
  rm -f "$C/stamp"
  # Kernel: download + unpack only what we need (no install: avoids initramfs-tools/udev/systemd upgrades)
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  rm -rf "$C/k" && mkdir -p "$C/k/root"
  (cd "$C/k" && apt-get download -q "$pkg")
  dpkg-deb --fsys-tarfile "$C"/k/"$pkg"_*.deb | tar -x -C "$C/k/root" --wildcards './boot/vmlinuz-*' \
     './lib/modules/*/kernel/net/*' './lib/modules/*/kernel/lib/*' './lib/modules/*/kernel/crypto/*' \
     './lib/modules/*/kernel/fs/*' './lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/net/*'
  rm -f "$C"/k/*.deb
  KVER=$(ls "$C/k/root/lib/modules"); echo "$KVER" > "$C/kver"
  cp "$C/k/root/boot/vmlinuz-$KVER" "$C/bzImage"
  # uncompressed vmlinux (PVH entry): QEMU boots it directly, skipping the decompressor (~3 s vs ~7 s)
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$C/bzImage" | head -1 | cut -d: -f1 || true)
  if [ -n "$off" ]; then tail -c +$((off+1)) "$C/bzImage" | xz -dc > "$C/vmlinux" 2>/dev/null || true; fi
  [ -s "$C/vmlinux" ] || rm -f "$C/vmlinux"

  # Base initramfs: busybox, ipvsadm (+libs), modules in dependency order, /init
  R=$C/rootfs; rm -rf "$R"; mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,run,mnt,etc}
  mkdir -p "$R/var" && ln -s ../run "$R/var/run"   # ip netns keeps its mounts in /var/run/netns
  cp /bin/busybox "$R/bin/busybox"
  for a in $(/bin/busybox --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
  ln -sf ../bin/busybox "$R/sbin/modprobe"      # kernel request_module() -> busybox modprobe
  add_bin /usr/sbin/ipvsadm "$R" /usr/sbin/ipvsadm
  # iproute2's ip (netns, veth) instead of busybox's applet, which comes first in PATH
  add_bin /usr/sbin/ip "$R" /usr/sbin/ip
  ln -sf ../usr/sbin/ip "$R/bin/ip"
  MD=$C/k/root/lib/modules/$KVER; declare -A seen; order=()
  resolve() { local m=$1 f d; [ -n "${seen[$m]:-}" ] && return 0; seen[$m]=1
    f=$(find "$MD/kernel" -name "$m.ko*" -print -quit); [ -n "$f" ] || { echo "no module $m" >&2; return 0; }
    local raw; case $f in *.xz) raw="xz -dc";; *.zst) raw="zstd -dc";; *) raw=cat;; esac
    for d in $($raw "$f" | tr '\0' '\n' | grep -a -m1 '^depends=' | cut -d= -f2 | tr ',' ' '); do resolve "$d"; done
    order+=("$f"); }
  for m in $MODS; do resolve "$m"; done
  : > "$R/etc/modules.order"
  for f in "${order[@]}"; do rel=${f#"$MD"/}; rel=${rel%.xz}; rel=${rel%.zst}
    mkdir -p "$R/lib/modules/$KVER/$(dirname "$rel")"
    case $f in *.xz) xz -dc "$f";; *.zst) zstd -dc "$f";; *) cat "$f";; esac > "$R/lib/modules/$KVER/$rel"
    echo "/lib/modules/$KVER/$rel" >> "$R/etc/modules.order"; done
  /bin/busybox depmod -b "$R" "$KVER"
  cat > "$R/init" <<'EOF'
#!/bin/sh
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
while read -r m; do insmod "$m" || echo "insmod failed: $m"; done < /etc/modules.order
ip link set lo up
if grep -q 'ipvs_vm_share' /proc/cmdline; then
  mkdir -p /mnt/share && mount -t 9p -o trans=virtio,version=9p2000.L share /mnt/share
fi
rc=0
if [ -x /test.sh ]; then /test.sh; rc=$?
elif [ -x /mnt/share/test.sh ]; then /mnt/share/test.sh; rc=$?
fi
echo "IPVS_VM_DONE rc=$rc"
sync; poweroff -f
EOF
  chmod 755 "$R/init"
  (cd "$R" && find . | /bin/busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) > "$C/base.cpio.gz"
  echo "$STAMP" > "$C/stamp"
  echo "setup done: kernel $KVER, $(du -h "$C/base.cpio.gz" | cut -f1) base initramfs in $C"
}

run() { # run TEST.sh [BIN...]  (or IPVS_VM_SHARE=/dir holding test.sh, mounted via 9p at /mnt/share)
  local KERNEL=$C/vmlinux; [ -s "$KERNEL" ] || KERNEL=$C/bzImage
  W=$(mktemp -d /tmp/ipvs-vm-run.XXXXXX); trap 'rm -rf "$W"' EXIT
  local INITRD=$C/base.cpio.gz APPEND="console=ttyS0 quiet panic=-1" EXTRA=()
  if [ $# -ge 1 ]; then
    mkdir -p "$W/x/usr/local/bin"; cp "$1" "$W/x/test.sh"; chmod 755 "$W/x/test.sh"; shift
    for b in "$@"; do add_bin "$b" "$W/x" "/usr/local/bin/$(basename "$b")"; done
    # the kernel unpacks concatenated (each gzip-compressed) cpio archives in order
    (cd "$W/x" && find . | /bin/busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) > "$W/extra.cpio.gz"
    cat "$C/base.cpio.gz" "$W/extra.cpio.gz" > "$W/initrd.gz"; INITRD=$W/initrd.gz
  fi
  if [ -n "${IPVS_VM_SHARE:-}" ]; then
    EXTRA+=(-virtfs "local,path=$IPVS_VM_SHARE,mount_tag=share,security_model=none")
    APPEND+=" ipvs_vm_share"
  fi
  local LOG=${IPVS_VM_LOG:-$W/serial.log}
  # TCG (no -enable-kvm): /dev/kvm on PVM-style nested hosts cannot run a stock kernel at usable speed
  timeout "$TMO" qemu-system-x86_64 -m 512 -smp 1 -nographic -no-reboot -nic none \
      -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" "${EXTRA[@]}" < /dev/null \
      | tr -d '\r' | tee "$LOG" || true
  local rc; rc=$(sed -n 's/.*IPVS_VM_DONE rc=\([0-9]*\).*/\1/p' "$LOG" | tail -1)
  exit "${rc:-99}"
}

case ${1:-} in
  setup) setup ;;
  check) check ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 setup | check | run TEST.sh [BIN...]" >&2; exit 2 ;;
esac
