#include "tcp/connection_config.hpp"

namespace nvmeddp::tcp {

uint8_t ConnectionConfig::wscale() const noexcept {
    if (!window_scaling) return 0;
    uint8_t shift = 0;
    while (shift < 14 && (rcv_buf >> shift) > 0xFFFF) ++shift;
    return shift;
}

std::string ConnectionConfig::validate() const {
    if (mss < 88) return "mss " + std::to_string(mss) + " is below the 88 bytes every IPv4 link carries";
    if (rcv_buf < mss) return "rcv_buf (" + std::to_string(rcv_buf) + ") must hold at least one segment (mss " +
                              std::to_string(mss) + ")";
    if (!window_scaling && rcv_buf > 0xFFFF)
        return "rcv_buf " + std::to_string(rcv_buf) + " needs window scaling (at most 65535 without it)";
    if (rcv_buf > (1u << 30)) return "rcv_buf above 1 GiB, the largest window TCP can offer";
    if (snd_buf == 0) return "snd_buf must not be 0";
    // Out-of-order data must fit a queue sized for the window, or a sender filling our window loses
    // segments we offered to take; one segment per slot at worst-case (full-size) packing. (A
    // connection of an endpoint holds that only while it has borrowed a shared queue: ooo_reserve.hpp.)
    if (uint64_t{ooo_segments} * mss < rcv_buf)
        return "ooo_segments (" + std::to_string(ooo_segments) + ") x mss cannot hold rcv_buf (" +
               std::to_string(rcv_buf) + "): raise ooo_segments or lower rcv_buf";
    if (ready_segments == 0) return "ready_segments must not be 0";
    if (min_rto_us == 0 || initial_rto_us < min_rto_us) return "initial_rto_us must be >= min_rto_us > 0";
    return {};
}

}  // namespace nvmeddp::tcp
