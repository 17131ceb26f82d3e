# Reads the guest's own record of its link (watch.log, one line every 2 s: guest_init.sh's
# watch_target) and prints one sentence when it shows the guest's transmit path stalled below its
# TCP; prints nothing otherwise.
#
# The signature: a connection's retransmission count went up between two records (the guest's TCP
# had a segment due again), yet eth0 completed no frame from the record before to the one after
# next. Linux counts a retransmission also when the segment's last copy still waits in the device's
# ring (skb_still_in_host_queue): nothing left the guest, whatever our host did. A host that stopped
# acknowledging does not match: the guest's retransmissions then go out and eth0's count moves.
# Two such retransmissions are needed, so one late completion at a record's edge does not count.
# With -v until=<guest uptime>, records after it are not read (those after our host ended).
#
# Line format: watch <uptime> eth0 rx <n> tx <n> dropped <a>/<b> irq in <n> out <n>
#              [| peer:<port hex> st <hex> q <txq hex>:<rxq hex> tm <timer> retr <hex>]...
function hex(h,   v, i) {
    v = 0
    for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789ABCDEF", toupper(substr(h, i, 1))) - 1
    return v
}
$1 == "watch" && (until == "" || $2 + 0 <= until + 0) {
    n++
    up[n] = $2
    for (i = 3; i < NF; i++) {
        if ($i == "tx") tx[n] = $(i + 1)
        if ($i ~ /^peer:/) {
            peer = substr($i, 6)
            peers[peer] = 1
            for (j = i + 1; j < NF && $j != "|"; j++) if ($j == "retr") retr[n, peer] = $(j + 1)
        }
    }
}
END {
    for (k = 1; k + 2 <= n; k++) {
        if (tx[k] != tx[k + 2]) continue
        for (peer in peers) {
            if (!((k, peer) in retr) || !((k + 1, peer) in retr)) continue
            if (retr[k + 1, peer] == retr[k, peer] || retr[k + 1, peer] ~ /^0+$/) continue
            events++
            if (first == "") { first = up[k]; first_peer = peer }
            last = up[k + 2]
            frozen = tx[k]
        }
    }
    if (events >= 2) {
        printf "the guest's transmit path stalled: its TCP had %d retransmissions due (the first on its connection to our port %d) between guest uptime %s and %s s while eth0 completed no frame (tx %s)\n", events, hex(first_peer), first, last, frozen
    }
}
