// Hooks through which the receive offload follows a queue: when the IC exchange is done (the offload
// starts following the stream from there), before a read's command goes out (the buffers are
// registered with the device), and before a command completes (the registration is torn down).
//
// Every hook runs on the queue's thread, inside the queue's own processing; the defaults do nothing.
#pragma once

#include <cstdint>

#include "nvmetcp/host/queue_types.hpp"

namespace nvmeddp::nvmetcp::host {

class Queue;

class QueueObserver {
public:
    virtual ~QueueObserver() = default;

    // The ICResp has been received and applied; the next PDU starts at stream offset
    // `next_stream_offset` (bytes received on this connection before it, ICResp included).
    // `next` is the RxPiece of the span that held the ICResp's last byte, its seq moved to the
    // byte at next_stream_offset: the TCP sequence number where the offload starts following the
    // stream (sk_add). Called before the Connect command is queued.
    virtual void on_ic_done(Queue&, uint64_t next_stream_offset, const RxPiece& next) {
        (void)next_stream_offset;
        (void)next;
    }

    // A read-like command (data from the controller) is about to be queued for sending with `cid`.
    // Returning false refuses the submission: submit() returns SubmitResult::Failed, the cid is freed
    // and no completion follows.
    virtual bool before_send_read(Queue&, uint16_t /*cid*/, const IoRequest&) { return true; }

    // The command with `cid` is about to complete (its callback follows). Not called for commands
    // that before_send_read refused.
    virtual void before_complete(Queue&, uint16_t /*cid*/) {}

    // The queue failed or was closed: its outstanding commands have completed, its connection is
    // gone. The offload removes the connection from the device here (sk_del).
    virtual void on_closed(Queue&) {}
};

}  // namespace nvmeddp::nvmetcp::host
