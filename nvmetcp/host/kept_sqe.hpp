// What a command slot keeps of the SQE it was submitted with, until the send ring reaches its
// capsule: every byte but the two the queue writes itself, the command id (the slot's index) and
// the data pointer (a transport SGL descriptor made from the command's length and whether its data
// travels in the capsule). 46 bytes with no alignment of their own, against the whole 64-byte SQE:
// the queue keeps depth slots per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nvmetcp/nvme_command.hpp"
#include "nvmetcp/pdu.hpp"

namespace nvmeddp::nvmetcp::host {

class KeptSqe {
public:
    void keep(const NvmeSqe& sqe) noexcept {
        const auto* from = reinterpret_cast<const uint8_t*>(&sqe);
        std::memcpy(bytes_, from, kHead);
        std::memcpy(bytes_ + kHead, from + kMiddleAt, kMiddle);
        std::memcpy(bytes_ + kHead + kMiddle, from + kTailAt, kTail);
    }
    // The SQE as it goes out: the kept bytes, `cid`, and a data pointer describing data_len bytes
    // in the capsule or in C2HData/H2CData PDUs.
    NvmeSqe rebuild(uint16_t cid, uint32_t data_len, bool in_capsule) const noexcept {
        NvmeSqe sqe{};
        auto* to = reinterpret_cast<uint8_t*>(&sqe);
        std::memcpy(to, bytes_, kHead);
        std::memcpy(to + kMiddleAt, bytes_ + kHead, kMiddle);
        std::memcpy(to + kTailAt, bytes_ + kHead + kMiddle, kTail);
        sqe.cid.set(cid);
        const nvme::SglDescriptor sgl = nvme::make_sgl(
            data_len, in_capsule ? nvme::sgl::kInCapsuleDataBlock : nvme::sgl::kTransportDataBlock);
        std::memcpy(sqe.dptr, &sgl, sizeof sgl);
        return sqe;
    }
    uint8_t opcode() const noexcept { return bytes_[0]; }

private:
    static constexpr size_t kHead = offsetof(NvmeSqe, cid);                            // opcode, flags
    static constexpr size_t kMiddleAt = offsetof(NvmeSqe, nsid);                       // nsid .. mptr
    static constexpr size_t kMiddle = offsetof(NvmeSqe, dptr) - kMiddleAt;
    static constexpr size_t kTailAt = offsetof(NvmeSqe, cdw10);                        // cdw10 .. cdw15
    static constexpr size_t kTail = sizeof(NvmeSqe) - kTailAt;
    uint8_t bytes_[kHead + kMiddle + kTail]{};
};
static_assert(sizeof(KeptSqe) == 46 && alignof(KeptSqe) == 1);

}  // namespace nvmeddp::nvmetcp::host
