#!/usr/bin/env bash
# The Debian packages `cpack -G DEB` makes from this build: what each holds, the conffile, the maintainer
# scripts, the hardened systemd unit (checked with systemd-analyze verify against the package's own files).
#   deb_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$work" && cpack --config "$build/CPackConfig.cmake" -B "$work/out") >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack -G DEB failed"; }
server=$(ls "$work"/out/mcpgate_*.deb)
dev=$(ls "$work"/out/mcpgate-dev_*.deb)

dpkg-deb -c "$server" | awk '{print $NF}' >"$work/server.list"
for f in ./usr/bin/mcpgate ./etc/mcpgate/mcpgate.toml ./lib/systemd/system/mcpgate.service \
         ./usr/share/doc/mcpgate/README.md; do
  grep -qx "$f" "$work/server.list" || fail "mcpgate.deb lacks $f"
done
grep -q '^./usr/include/' "$work/server.list" && fail "headers belong in mcpgate-dev, not mcpgate.deb"
dpkg-deb -c "$dev" | awk '{print $NF}' >"$work/dev.list"
for f in ./usr/include/mcpgate/guard.hpp ./usr/lib/libmcpgate_http.a ./usr/lib/cmake/mcpgate/mcpgateConfig.cmake \
         ./usr/lib/pkgconfig/mcpgate.pc; do
  grep -qx "$f" "$work/dev.list" || fail "mcpgate-dev.deb lacks $f"
done

[ "$(dpkg-deb -f "$server" Package)" = mcpgate ] || fail "package name"
depends=$(dpkg-deb -f "$server" Depends)
for d in libcpp-httplib0.11 libssl3 adduser; do
  grep -q "$d" <<<"$depends" || fail "Depends lacks $d: $depends"
done

dpkg-deb -e "$server" "$work/control"
grep -qx /etc/mcpgate/mcpgate.toml "$work/control/conffiles" || fail "/etc/mcpgate/mcpgate.toml is not a conffile"
[ -x "$work/control/postinst" ] || fail "no executable postinst"
grep -q 'adduser --system' "$work/control/postinst" || fail "postinst does not create the mcpgate user"

dpkg-deb -x "$server" "$work/root"
unit="$work/root/lib/systemd/system/mcpgate.service"
for directive in 'User=mcpgate' 'StateDirectory=mcpgate' 'ProtectSystem=strict' 'NoNewPrivileges=yes' \
                 'ExecReload=/bin/kill -HUP $MAINPID' 'CapabilityBoundingSet=' 'PrivateTmp=yes' 'ProtectHome=yes'; do
  grep -qxF "$directive" "$unit" || fail "the unit lacks $directive"
done
# The packaged configuration is one the packaged binary accepts.
"$work/root/usr/bin/mcpgate" check-config --config "$work/root/etc/mcpgate/mcpgate.toml" >"$work/check.log" 2>&1 ||
  { cat "$work/check.log"; fail "the packaged mcpgate.toml does not pass check-config"; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing: install systemd (.ci/install-deps does)"
{
  # verify resolves the unit's commands and dependencies inside --root: /usr/bin/mcpgate from the package,
  # /bin/kill (ExecReload= sends SIGHUP with it) and the system's own units (targets) from this machine.
  mkdir -p "$work/root/bin" && cp "$(readlink -f /bin/kill)" "$work/root/bin/kill"
  cp -rn /lib/systemd/system/. "$work/root/lib/systemd/system/"
  systemd-analyze verify --root="$work/root" /lib/systemd/system/mcpgate.service >"$work/verify.log" 2>&1 ||
    { cat "$work/verify.log"; fail "systemd-analyze verify"; }
  grep -q 'mcpgate.service' "$work/verify.log" && { cat "$work/verify.log"; fail "systemd-analyze verify warned"; }
  exposure=$(systemd-analyze security --offline=yes --root="$work/root" /lib/systemd/system/mcpgate.service 2>&1 |
    sed -n 's/.*Overall exposure level for mcpgate.service: \([0-9.]*\).*/\1/p')
  echo "systemd-analyze security: exposure $exposure"
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }' || fail "the unit's exposure is $exposure (> 2.0)"
}
echo "ok: $(basename "$server") and $(basename "$dev")"
