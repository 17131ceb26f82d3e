// A SACK block (RFC 2018): a run of sequence space the receiver holds beyond rcv_nxt, as the TCP
// option carries it. Its own header so that the receive queue, which computes the blocks, and the
// option writer, which encodes them, share the type without depending on each other.
#pragma once

#include "tcp/seq.hpp"

namespace nvmeddp::tcp {

struct SackBlock {
    Seq left;   // first byte of the block
    Seq right;  // one past its last byte: the block holds [left, right)
    friend constexpr bool operator==(const SackBlock&, const SackBlock&) noexcept = default;
};

}  // namespace nvmeddp::tcp
