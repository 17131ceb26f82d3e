#!/usr/bin/env python3
"""Sends hand-made TCP/IPv4 frames out of an interface through an AF_PACKET socket, so a test knows
exactly which frames arrive on the other end of a veth pair: no kernel TCP state, handshakes or
retransmissions in the way.

usage: send_tcp_frames.py IFACE DST_MAC SRC_IP DST_IP SPORT:DPORT:COUNT[:bad] ...
Each flow sends COUNT segments of 100 payload bytes with consecutive sequence numbers; ':bad' gives
them a wrong TCP checksum. Prints one line per flow sent."""
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, seq, payload, bad):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x18, 65535, 0, 0) + payload
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp_sum = checksum(pseudo + tcp) ^ (0x5555 if bad else 0)
    tcp = tcp[:16] + struct.pack("!H", tcp_sum) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, socket.IPPROTO_TCP, 0, src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + struct.pack("!H", 0x0800) + ip + tcp


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    iface, dst_mac, src_ip, dst_ip = sys.argv[1:5]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = s.getsockname()[4]
    dst = bytes.fromhex(dst_mac.replace(":", ""))
    for spec in sys.argv[5:]:
        parts = spec.split(":")
        sport, dport, count = int(parts[0]), int(parts[1]), int(parts[2])
        bad = len(parts) > 3 and parts[3] == "bad"
        for i in range(count):
            s.send(frame(src_mac, dst, socket.inet_aton(src_ip), socket.inet_aton(dst_ip), sport, dport,
                         1000 + 100 * i, bytes([i & 0xFF]) * 100, bad))
        print(f"sent {count} frames {src_ip}:{sport} -> {dst_ip}:{dport}{' (bad TCP checksum)' if bad else ''}")


if __name__ == "__main__":
    main()
