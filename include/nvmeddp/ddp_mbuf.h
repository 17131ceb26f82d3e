/*
 * nvmeddp: what the offload device tells the host about each received packet.
 *
 * The device (our software engine, or a NIC driver implementing the same contract) attaches this to
 * every packet of an offloaded connection it processed: in DPDK as an mbuf dynamic field, registered
 * under NVMEDDP_MBUF_DYNFIELD_NAME, valid when the dynamic flag NVMEDDP_MBUF_DYNFLAG_NAME is set in
 * ol_flags. A host stack looks both up by name (rte_mbuf_dynfield_lookup / rte_mbuf_dynflag_lookup)
 * and needs nothing else from nvmeddp to read them.
 *
 * Offsets are within the packet's TCP payload (0 = first payload byte). How a host uses it:
 *   - placement: every C2HData data byte in [placed_begin, placed_end) is already in the buffer
 *     registered for its command (nvmeddp_setup), at its datao. The host skips copying those bytes;
 *     data bytes outside the range it copies as usual (they may have been placed too: harmless).
 *   - digest: NVMEDDP_PKT_DIGEST_OK says that every PDU whose data digest (DDGST) ends in this packet
 *     was verified by the device over the bytes of the in-order stream, and matched. The host may skip
 *     computing those digests. Without the flag it computes them (software fallback).
 *     NVMEDDP_PKT_DIGEST_BAD: at least one of them did not match (the host fails that command after
 *     confirming in software). The verified bytes are those the device saw first for each sequence
 *     number: a host's reassembly must keep the first copy of any retransmitted byte, as TCP does.
 * A packet the device processed while it had lost the PDU framing (loss, reordering) carries no
 * placement and no digest claims; NVMEDDP_PKT_OUT_OF_SYNC says so (diagnostics only).
 *
 * Self-contained C (C99); includes no other project header.
 */
#ifndef NVMEDDP_DDP_MBUF_H
#define NVMEDDP_DDP_MBUF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NVMEDDP_MBUF_DYNFIELD_NAME "nvmeddp_dynfield_ddp_meta"
#define NVMEDDP_MBUF_DYNFLAG_NAME "nvmeddp_dynflag_ddp_meta"

#define NVMEDDP_PKT_PLACED 0x01u       /* placed_begin < placed_end */
#define NVMEDDP_PKT_DIGEST_OK 0x02u    /* every data digest ending here verified and equal */
#define NVMEDDP_PKT_DIGEST_BAD 0x04u   /* a data digest ending here verified and different */
#define NVMEDDP_PKT_OUT_OF_SYNC 0x08u  /* the device had lost the PDU framing for (part of) it */

struct nvmeddp_pkt_meta {
    uint32_t conn_id;       /* the device's id of the offloaded connection (its steering MARK) */
    uint16_t placed_begin;  /* TCP payload offsets: C2HData data bytes in [begin, end) were placed */
    uint16_t placed_end;
    uint8_t flags;          /* NVMEDDP_PKT_* */
    uint8_t digests_ok;     /* data digests ending in this packet verified equal */
    uint8_t digests_bad;    /* ... verified different */
    uint8_t digests_unverified; /* ... not verified by the device (the host computes them) */
};

#ifdef __cplusplus
}
#endif

#endif /* NVMEDDP_DDP_MBUF_H */
