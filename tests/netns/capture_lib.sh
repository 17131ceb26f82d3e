# Shell functions for the tests that capture with tcpdump and check the capture with tshark.
# Sourced, not run.
#
# Stopping tcpdump a fixed time after the traffic ends is not enough on a loaded machine: SIGINT
# ends its loop with frames still in the kernel's ring, and the capture lacks the end of the
# session (CI once saw a capture cut after the second connection's ICResp). So these wait for the
# capture itself to show that every connection ended.

# tcpdump's kernel buffer, KiB. libpcap's ring has one fixed slot per frame, sized for the largest
# frame the link carries (64 KiB on loopback), so its default 2 MiB holds a few dozen: on a loaded machine where
# tcpdump is not scheduled for a moment, the kernel drops the rest from the capture. CI once saw a
# capture stop at 21 of a session's 45 frames, without the H2CData PDUs the target had counted.
CAPTURE_BUFFER_KIB=65536

# capture_wait_listening <tcpdump stderr file>: waits up to 10 s for tcpdump to be capturing.
capture_wait_listening() {
  for _ in $(seq 100); do
    grep -q "listening on" "$1" 2> /dev/null && return 0
    sleep 0.1
  done
  echo "capture: tcpdump did not start:"; cat "$1"
  return 1
}

# capture_all_closed <pcap>: true when the capture holds at least one TCP connection and each one
# either saw a RST or a FIN from both of its ends.
capture_all_closed() {
  tshark -r "$1" -T fields -E separator=' ' -e tcp.stream -e tcp.srcport -e tcp.flags.fin \
    -e tcp.flags.reset 2> /dev/null | awk '
    function set(v) { return v == "1" || v == "True" }
    NF == 4 {
      streams[$1] = 1
      if (set($4)) reset[$1] = 1
      if (set($3) && !(($1, $2) in fin)) { fin[$1, $2] = 1; fins[$1]++ }
    }
    END {
      n = 0
      for (s in streams) { n++; if (!reset[s] && fins[s] < 2) exit 1 }
      exit n > 0 ? 0 : 1
    }'
}

# capture_stop <tcpdump pid> <pcap> <tcpdump stderr file> [seconds, default 20]: waits until the
# capture shows every connection closed, then stops tcpdump. Says so when it gives up waiting, and
# fails (returns 1) when tcpdump reports frames the kernel dropped from the capture: the checks that
# follow would otherwise blame the traffic for what the capture lost.
capture_stop() {
  local pid=$1 pcap=$2 err=$3 seconds=${4:-20} closed=0 dropped
  local deadline=$((SECONDS + seconds))  # by the clock: one look at a large capture takes seconds
  while [ "$SECONDS" -lt "$deadline" ]; do
    capture_all_closed "$pcap" && { closed=1; break; }
    sleep 0.2
  done
  [ "$closed" = 1 ] || echo "capture: after $seconds s the capture still lacks the close of a connection"
  kill -INT "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  dropped=$(awk '/packets dropped by kernel/ { print $1 }' "$err" 2> /dev/null)
  if [ -n "$dropped" ] && [ "$dropped" != 0 ]; then
    echo "capture: the kernel dropped $dropped frames from tcpdump's capture (buffer ${CAPTURE_BUFFER_KIB} KiB); it is incomplete"
    return 1
  fi
  return 0
}
