#include "nvmetcp/target/send_queue.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nvmeddp::nvmetcp::target {

uint8_t* SendQueue::extend(size_t n) {
    // Small PDUs share a chunk, so that a burst of completions goes out in few iovecs.
    if (chunks_.empty() || chunks_.back().capacity() - chunks_.back().size() < n) {
        chunks_.emplace_back();
        chunks_.back().reserve(std::max(n, kChunkBytes));
    }
    auto& back = chunks_.back();
    const size_t at = back.size();
    back.resize(at + n);
    bytes_ += n;
    return back.data() + at;
}

void SendQueue::append(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    std::memcpy(extend(bytes.size()), bytes.data(), bytes.size());
}

SendQueue::Flush SendQueue::flush(int fd, int* error) {
    constexpr size_t kMaxIov = 64;
    while (bytes_ > 0) {
        iovec iov[kMaxIov];
        size_t count = 0;
        for (auto it = chunks_.begin(); it != chunks_.end() && count < kMaxIov; ++it, ++count) {
            const size_t skip = count == 0 ? front_offset_ : 0;
            iov[count].iov_base = it->data() + skip;
            iov[count].iov_len = it->size() - skip;
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = count;
        const ssize_t sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return Flush::Blocked;
            *error = errno;
            return Flush::Error;
        }
        size_t left = static_cast<size_t>(sent);
        bytes_ -= left;
        while (left > 0) {
            const size_t in_front = chunks_.front().size() - front_offset_;
            if (left < in_front) {
                front_offset_ += left;
                break;
            }
            left -= in_front;
            chunks_.pop_front();
            front_offset_ = 0;
        }
    }
    return Flush::Empty;
}

}  // namespace nvmeddp::nvmetcp::target
