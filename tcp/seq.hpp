// Sequence numbers in tcp/: the serial-arithmetic type the offload engine already uses
// (ddp/tcp_seq.hpp), so that a comparison of raw 32-bit values, wrong near the wrap, does not compile.
#pragma once

#include "ddp/tcp_seq.hpp"

namespace nvmeddp::tcp {

using Seq = ddp::TcpSeq;

}  // namespace nvmeddp::tcp
