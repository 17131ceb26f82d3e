#include "tcp/ooo_reserve.hpp"

#include <algorithm>

namespace nvmeddp::tcp {

OutOfOrderReserve::OutOfOrderReserve(uint32_t queues, uint32_t segments_per_queue)
    : segments_per_queue_(segments_per_queue),
      storage_(std::make_unique<QueuedSegment[]>(size_t{queues} * segments_per_queue)) {
    free_.reserve(queues);
    for (uint32_t i = queues; i-- > 0;) free_.push_back(storage_.get() + size_t{i} * segments_per_queue);
    stats_.queues = queues;
}

QueuedSegment* OutOfOrderReserve::take() noexcept {
    if (free_.empty()) {
        ++stats_.refused;
        return nullptr;
    }
    QueuedSegment* q = free_.back();
    free_.pop_back();
    ++stats_.loans;
    ++stats_.lent;
    stats_.most_lent = std::max(stats_.most_lent, stats_.lent);
    return q;
}

void OutOfOrderReserve::give_back(QueuedSegment* queue) noexcept {
    free_.push_back(queue);  // within the capacity reserved: no allocation
    --stats_.lent;
}

}  // namespace nvmeddp::tcp
