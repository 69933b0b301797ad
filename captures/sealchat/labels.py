#!/usr/bin/env python3
"""Print one labels.tsv row per flow of a sealchat capture (same columns as ../shared/corpus/labels.tsv).

Ground truth comes from how the capture was made: the relay's chat port (TCP 5443) carries chat,
its blob port (TCP 5444) carries attachments, its media port (UDP 5445) carries calls.
usage: labels.py CAPTURE [CHAT_PORT BLOB_PORT MEDIA_PORT]   (other ports when the relay used them)
"""
import ipaddress
import struct
import sys

ACTIVITY = {("TCP", 5443): ("SealChat", "chat"), ("TCP", 5444): ("SealChat", "files"),
            ("UDP", 5445): ("SealChatCall", "call")}


def packets(path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        linktype = struct.unpack(endian + "I", head[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            _, _, incl, _ = struct.unpack(endian + "IIII", rec)
            data = f.read(incl)
            if linktype == 1:        # Ethernet (Linux lo)
                if len(data) < 14 or data[12:14] not in (b"\x08\x00", b"\x86\xdd"):
                    continue
                yield data[14:]
            elif linktype == 113:    # Linux cooked
                yield data[16:]
            elif linktype == 276:    # Linux cooked v2
                yield data[20:]
            elif linktype in (101, 12):
                yield data


def main():
    path = sys.argv[1]
    if len(sys.argv) == 5:
        chat, blob, media = (int(p) for p in sys.argv[2:5])
        ACTIVITY.clear()
        ACTIVITY.update({("TCP", chat): ("SealChat", "chat"), ("TCP", blob): ("SealChat", "files"),
                         ("UDP", media): ("SealChatCall", "call")})
    name = path.rsplit("/", 1)[-1]
    flows = {}
    for ip in packets(path):
        if len(ip) >= 20 and ip[0] >> 4 == 4:
            ihl, proto = (ip[0] & 15) * 4, ip[9]
            src, dst = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20]))
        elif len(ip) >= 40 and ip[0] >> 4 == 6:
            # sealchat on lo sends no extension headers: the transport follows the fixed header.
            ihl, proto = 40, ip[6]
            src, dst = f"[{ipaddress.IPv6Address(ip[8:24])}]", f"[{ipaddress.IPv6Address(ip[24:40])}]"
        else:
            continue
        if proto not in (6, 17):
            continue
        sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
        l4 = "TCP" if proto == 6 else "UDP"
        a, b = (src, sport), (dst, dport)
        key = (l4,) + tuple(sorted([a, b]))
        flows.setdefault(key, [0, None])
        flows[key][0] += 1
        for port in (sport, dport):
            if (l4, port) in ACTIVITY:
                flows[key][1] = ACTIVITY[(l4, port)]
    for (l4, a, b), (count, label) in sorted(flows.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        if label is None:
            continue
        app, activity = label
        print("\t".join([name, l4, "", f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}", str(count), app, "SealChat",
                         activity, ""]))


if __name__ == "__main__":
    main()
