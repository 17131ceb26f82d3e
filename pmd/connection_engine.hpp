// The offload engine's view of one connection's receive stream: what a NIC with NVMe/TCP receive
// offload does per packet of an offloaded connection.
//
// It follows the TCP byte stream (next expected sequence number, serial arithmetic) and, inside it,
// the PDU framing of the controller-to-host direction: headers (split across packets or many per
// packet), padding, data, digests. For a C2HData whose command id is registered it copies the data
// into the registered buffers at datao and computes the data digest over the same bytes, and it
// reports per packet what it did (nvmeddp_pkt_meta, include/nvmeddp/ddp_mbuf.h).
//
// Modes:
//   InSync       framing known: places and verifies
//   Searching    framing lost (a gap reaching into a PDU header, or a header the receiver would
//                reject; a gap inside a PDU keeps the framing and costs only that PDU's digest): scans
//                the stream for a plausible PDU header, then posts a resync request for it
//   Speculating  follows the framing from the candidate without placing, until the host confirms
//                (InSync, placement resumes at the next header) or refuses (Searching again)
// Bytes that arrive before the expected sequence number (retransmissions, reordered segments)
// pass through untouched and unplaced: the host copies them, and its parser stays the authority.
//
// Safety: placement writes only inside a registration that is live at that moment (checked per
// packet), only within [datao, datao + datal) after checking it against the registration's length,
// and only while InSync. Every length comes from a header that passed the receiver's own checks
// (nvmetcp/header_check.hpp) and its header digest when digests are on.
//
// One instance is touched only by the lcore that polls the connection's rx queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "ddp/device_caps.hpp"
#include "ddp/driver.hpp"
#include "ddp/registration_table.hpp"
#include "nvmeddp/ddp_mbuf.h"
#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_copy.hpp"
#include "nvmetcp/header_check.hpp"
#include "nvmetcp/pdu.hpp"
#include "pmd/sgl_cursor.hpp"

namespace nvmeddp::pmd {

// Part of a packet's TCP payload (a segment of an mbuf chain). No default member initialisers: the
// queue engine keeps an array of them per packet and fills only what it uses.
struct PayloadChunk {
    const uint8_t* data;
    uint32_t len;
};

using PacketMeta = ::nvmeddp_pkt_meta;

class ConnectionEngine {
public:
    enum class Mode : uint8_t { InSync, Searching, Speculating };

    // How long a resync request may stay unanswered (in packets) before the engine asks again at
    // the next header it finds: a host that missed a request is not left without offload forever.
    static constexpr uint32_t kReRequestAfterPackets = 256;

    ConnectionEngine(ddp::DriverConnection& connection, uint32_t conn_id, const std::atomic<ddp::Caps>& caps) noexcept;

    // One received segment: the sequence number of its first payload byte and its payload, in
    // chunks. Fills meta (conn_id always, the rest per include/nvmeddp/ddp_mbuf.h).
    void on_segment(uint32_t seq, std::span<const PayloadChunk> payload, PacketMeta& meta) noexcept;

    Mode mode() const noexcept { return mode_; }
    uint32_t rcv_nxt() const noexcept { return rcv_nxt_; }
    uint32_t conn_id() const noexcept { return conn_id_; }

private:
    enum class PduState : uint8_t { Header, Padding, Data, DataDigest, Trailer };
    enum class PlacedRange : uint8_t { None, Open, Closed };  // per packet: see mark_placed()

    // The state machine, one function per state; each consumes from the front of the bytes given
    // and returns how many it used.
    void consume(const uint8_t* p, uint32_t n) noexcept;
    uint32_t on_search(const uint8_t* p, uint32_t n) noexcept;
    uint32_t on_header(const uint8_t* p, uint32_t n) noexcept;
    uint32_t on_padding(uint32_t n) noexcept;
    uint32_t on_data(const uint8_t* p, uint32_t n) noexcept;
    uint32_t on_data_digest(const uint8_t* p, uint32_t n) noexcept;
    uint32_t on_trailer(uint32_t n) noexcept;
    bool bridge_gap(uint32_t gap) noexcept;
    uint32_t skip_data(uint32_t n) noexcept;
    void consumed_data(uint32_t n) noexcept;
    uint32_t skip_data_digest(uint32_t n) noexcept;

    uint32_t fill_header(const uint8_t* p, uint32_t n, uint32_t want) noexcept;
    bool start_pdu() noexcept;  // false: the header is not one the receiver would accept
    void begin_placement(uint16_t cccid, uint32_t datao, uint32_t datal) noexcept;
    void end_pdu() noexcept;
    void lose_framing() noexcept;
    void reject_header() noexcept;
    void found_candidate(uint32_t seq) noexcept;
    void check_resync_answer() noexcept;
    void mark_placed(uint32_t offset, uint32_t n) noexcept;
    void mark_unplaced() noexcept;
    uint32_t seq_here() const noexcept { return packet_seq_ + payload_off_; }
    void finish_meta() noexcept;

    ddp::DriverConnection& conn_;
    const uint32_t conn_id_;
    const std::atomic<ddp::Caps>& caps_;
    nvmetcp::ReceiveParams params_;

    // TCP
    uint32_t rcv_nxt_;
    Mode mode_ = Mode::InSync;

    // PDU framing
    PduState state_ = PduState::Header;
    bool layout_ready_ = false;  // the common header passed and layout_ is valid
    uint32_t hdr_have_ = 0;
    nvmetcp::PduLayout layout_{};
    uint32_t pdu_start_seq_ = 0;
    uint32_t padding_left_ = 0;
    uint32_t data_left_ = 0;
    uint32_t trailer_left_ = 0;
    uint32_t pdu_left_ = 0;  // bytes of the current PDU after its header not yet consumed
    uint32_t digest_have_ = 0;
    alignas(8) uint8_t hdr_[nvmetcp::kMaxHeaderLen + nvmetcp::kDigestLen]{};
    uint8_t digest_[nvmetcp::kDigestLen]{};

    // Placement and digest of the current C2HData
    bool placing_ = false;
    bool crc_on_ = false;
    ddp::RegistrationTable::Claim claim_{};
    SglCursor cursor_{};
    uint32_t crc_state_ = nvmetcp::Crc32c::kSeed;  // raw CRC32C of the data so far

    // Resync
    static constexpr uint32_t kCarry = sizeof(nvmetcp::CommonHeader) - 1;
    uint8_t carry_[kCarry]{};  // the stream's last bytes while searching (a header may start there)
    uint32_t carry_len_ = 0;
    ddp::ResyncRequest request_{};
    uint32_t packets_since_request_ = 0;

    // The packet being processed
    PacketMeta* meta_ = nullptr;
    uint32_t packet_seq_ = 0;
    uint32_t payload_off_ = 0;
    PlacedRange range_ = PlacedRange::None;
};

}  // namespace nvmeddp::pmd
