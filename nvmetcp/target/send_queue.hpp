// Bytes waiting for a non-blocking socket, in chunks: appended at the back, written from the front with
// one sendmsg() over many chunks, a partial write remembered as an offset into the first chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace nvmeddp::nvmetcp::target {

class SendQueue {
public:
    // Appends a copy of bytes.
    void append(std::span<const uint8_t> bytes);
    // Appends n bytes the caller fills in through the returned pointer (valid until the next call).
    uint8_t* extend(size_t n);

    size_t bytes() const noexcept { return bytes_; }
    bool empty() const noexcept { return bytes_ == 0; }

    enum class Flush : uint8_t { Empty, Blocked, Error };
    // Writes until the queue is empty or the socket would block; Error with errno in *error.
    Flush flush(int fd, int* error);

private:
    static constexpr size_t kChunkBytes = 64u << 10;
    std::deque<std::vector<uint8_t>> chunks_;
    size_t front_offset_ = 0;  // bytes of chunks_.front() already written
    size_t bytes_ = 0;         // unwritten bytes in all chunks
};

}  // namespace nvmeddp::nvmetcp::target
