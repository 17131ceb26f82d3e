/*
 * nvmeddp: what the offload device tells the host about each received packet (contract v3).
 *
 * The device (our software engine, or a NIC driver implementing the same contract) attaches this to
 * every packet with TCP payload of an offloaded connection it processed (a segment without payload,
 * an ACK, FIN or RST, has nothing to claim and may come without it): in DPDK as an mbuf dynamic
 * field, registered under NVMEDDP_MBUF_DYNFIELD_NAME, valid when the dynamic flag
 * NVMEDDP_MBUF_DYNFLAG_NAME is set in ol_flags (the device clears the flag on every other packet it
 * hands up). A host stack looks both up by name (rte_mbuf_dynfield_lookup /
 * rte_mbuf_dynflag_lookup) and needs nothing else from nvmeddp to read them.
 *
 * Everything is stated in TCP sequence space, so a host whose TCP trims overlapping retransmissions
 * or keeps packets in an out-of-order queue applies it exactly: a claim is about the bytes at those
 * sequence numbers *in this packet*, and about nothing else.
 *
 * Placement (NVMEDDP_PKT_PLACED). Run 1: "this packet's bytes at sequence numbers
 * [place_seq, place_seq + place_len) are in the buffer registered for command id place_cccid (the
 * registration whose tag is place_tag, nvmeddp_reg_tag()), at offsets place_buf_off onwards."
 * The claim is that the bytes are there, not that this packet put them there: a device may claim
 * run 1 for a later copy of bytes it placed from an earlier copy (no new byte), after comparing the
 * copy's bytes with what the buffer holds at those offsets. That stays true until the host takes the
 * bytes: the device writes a buffer byte at most once per registration, and the host writes one only
 * when it takes it, from one copy (a host that accepts a command's C2HData only at increasing DATAO,
 * as NVMe/TCP hosts do, writes each buffer byte from one sequence number).
 * Run 2, when place2_len > 0: "run 1 ends where its C2HData's data ends; let P be the first C2HData
 * after that PDU: P's first place2_len data bytes are in this packet, and in the buffer of P's CCCID,
 * registration tag place2_tag, at P's DATAO onwards." The claim does not carry P's command and
 * offset: each side reads them from P's header. So the device claims run 2 only when it took every
 * byte from the end of run 1's PDU to P's first data byte from this packet, as new bytes, and the
 * host applies it only when it took all of them from this packet too. Both checked the packet's
 * checksum and both start at the same sequence number (run 1's end, plus the DDGST when data digests
 * are on), so both frame the same PDUs up to P from the same bytes.
 * The host skips copying a data byte only when all of this holds:
 *   - it takes that byte from this packet (not from another copy of the same sequence number);
 *   - run 1: its own parser says the byte is C2HData data of command place_cccid, whose current
 *     registration has tag place_tag, at exactly the claimed buffer offset; or run 2: its parser
 *     says the byte is among the first place2_len data bytes of a C2HData (at its DATAO onwards)
 *     whose command's current registration has tag place2_tag, the C2HData before that one ends its
 *     data at place_seq + place_len, and the host took every byte from that PDU's end up to this
 *     byte from this packet.
 * Any other byte it copies as usual. A claim the host's framing disagrees with costs a copy, never
 * data. The host also tells the device how far each registered buffer is final
 * (nvmeddp_filled()): the device then never writes below that point, so a byte the host already
 * copied can not be overwritten by a device that followed other copies of the stream than the host
 * kept.
 *
 * Digest (NVMEDDP_PKT_CRC, NVMEDDP_PKT_DIGEST_OK / _BAD). NVMEDDP_PKT_CRC says: the device processed
 * every payload byte of this packet as new stream bytes (no byte of it seen before), from this copy,
 * with a good L4 checksum, while it followed the framing or digested them (after a gap that took a
 * header, for the PDU that header begins): the copy the device used. It says it too of a later copy
 * (no new byte) of exactly the same sequence range as such a packet whose payload was all data of one
 * PDU, when the two payloads have the same CRC32C: CRC32C is linear, so that PDU's digest over data
 * with either copy in the range is one value, and a verdict on one holds for the other (copies that
 * differ in a way CRC32C misses are the errors the data digest misses anyway). So for each byte of
 * the stream every packet marked CRC is the copy the device used or one the digest cannot tell from
 * it. Like Linux's per-skb ulp_crc bit, the host ANDs it over every packet it took bytes of a PDU
 * from (header, padding, data and digest).
 * NVMEDDP_PKT_DIGEST_OK is the device's verdict on the data digests that end in this packet: every
 * one of them was computed by the device over its PDU's data, in order, and equals its DDGST; the
 * first of them is the PDU whose header starts at digest_pdu_seq. The host trusts the digest of a
 * PDU that ends in this packet only when the AND is true, DIGEST_OK is set, and the first PDU its own
 * parser saw end in this packet has its header at digest_pdu_seq (the later ones lie wholly inside
 * the packet, so the host framed them from the same bytes as the device). Otherwise it computes the
 * digest itself (software fallback). NVMEDDP_PKT_DIGEST_BAD: a digest the device computed here did
 * not match (the host computes them all and fails that command).
 *
 * A verdict on a PDU ahead (NVMEDDP_PKT_DIGEST_AHEAD with DIGEST_OK). A device that keeps the PDUs
 * whose data had holes (lost or overtaken packets) can verify one only when the retransmission
 * that fills its last hole arrives, and that packet lies inside the PDU, before its end. It then
 * says: "the PDU whose header is at digest_pdu_seq has had every byte of its data and its DDGST
 * processed by the device exactly once, each from a packet it marked NVMEDDP_PKT_CRC, and its digest
 * matched." The host trusts the digest of that PDU when its parser finds the PDU's header at
 * digest_pdu_seq, took this packet's bytes inside that PDU (after its header), and the AND of
 * NVMEDDP_PKT_CRC over every packet it took bytes of the PDU from is true, and the packet in which
 * the PDU ends does not say DIGEST_BAD. The AND is what makes it exact: every packet marked CRC
 * carries the bytes the device digested, or bytes with the same CRC32C over the same range. Without
 * DIGEST_AHEAD, a verdict is about PDUs ending in the packet, as above.
 *
 * What a host stack must preserve: the metadata travels with its bytes (a packet trimmed at the front
 * keeps it; the claims are in sequence space); packets with different metadata are never merged
 * (coalescing packets whose metadata are equal is harmless); which copy of a retransmitted byte the
 * host keeps does not matter, as long as it applies a packet's claims only to bytes taken from it.
 *
 * NVMEDDP_PKT_OUT_OF_SYNC: the device had lost the PDU framing for (part of) this packet (loss,
 * reordering, a header it would not accept) and claims no placement for those bytes (diagnostics).
 * NVMEDDP_PKT_CSUM_BAD: the packet's TCP checksum was wrong (reported by the port or found by the
 * device): the device did not follow it, and the host's TCP will drop it.
 *
 * Self-contained C (C99); includes no other project header.
 */
#ifndef NVMEDDP_DDP_MBUF_H
#define NVMEDDP_DDP_MBUF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NVMEDDP_MBUF_DYNFIELD_NAME "nvmeddp_dynfield_ddp_meta_v3"
#define NVMEDDP_MBUF_DYNFLAG_NAME "nvmeddp_dynflag_ddp_meta_v3"

#define NVMEDDP_PKT_PLACED 0x01u       /* the placement claim holds (place_len > 0) */
#define NVMEDDP_PKT_CRC 0x02u          /* every payload byte new, in order, checksum good, in sync (or a copy of
                                          such a packet's data with the same CRC32C) */
#define NVMEDDP_PKT_DIGEST_OK 0x04u    /* verdict on the PDU at digest_pdu_seq: digest matched */
#define NVMEDDP_PKT_DIGEST_BAD 0x08u   /* verdict on the PDU at digest_pdu_seq: digest differed */
#define NVMEDDP_PKT_OUT_OF_SYNC 0x10u  /* the device had lost the PDU framing for (part of) it */
#define NVMEDDP_PKT_CSUM_BAD 0x20u     /* bad TCP checksum: not followed */
#define NVMEDDP_PKT_DIGEST_AHEAD 0x40u /* the verdict is on the PDU at digest_pdu_seq, ending after this packet */

/* conn_id: the connection's index (its steering MARK) in the low NVMEDDP_CONN_INDEX_BITS bits and a
 * generation above them, so metadata of a removed connection is never taken for its successor's. */
#define NVMEDDP_CONN_INDEX_BITS 20
#define NVMEDDP_CONN_INDEX(conn_id) ((conn_id) & ((1u << NVMEDDP_CONN_INDEX_BITS) - 1u))

struct nvmeddp_pkt_meta {
    uint32_t conn_id;        /* nvmeddp_conn_id() of the connection */
    uint32_t place_seq;      /* placement claim: first placed byte's sequence number */
    uint32_t place_buf_off;  /* ... its offset in the registered buffer */
    uint16_t place_len;      /* ... bytes placed from place_seq on */
    uint16_t place_cccid;    /* ... the command id */
    uint16_t place_tag;      /* ... the registration's tag (nvmeddp_reg_tag) */
    uint16_t place2_tag;     /* second run: the registration tag of the next C2HData's command */
    uint16_t place2_len;     /* ... bytes of its data, from the first; 0: none */
    uint8_t flags;           /* NVMEDDP_PKT_* */
    uint8_t reserved;
    uint32_t digest_pdu_seq; /* the PDU the digest verdict is about (its header's sequence number) */
};

#ifdef __cplusplus
static_assert(sizeof(struct nvmeddp_pkt_meta) == 28, "the mbuf dynamic field is sized for 28 bytes");
}
#endif

#endif /* NVMEDDP_DDP_MBUF_H */
