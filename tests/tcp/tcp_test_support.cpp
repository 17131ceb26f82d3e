#include "tcp_test_support.hpp"

#include <rte_errno.h>
#include <rte_mempool.h>

#include <algorithm>

#include "pmd/dpdk/eal.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"

namespace nvmeddp::tcp_test {

namespace {

std::string g_eal_error = "EAL not initialised";
rte_mempool* g_pool = nullptr;

class EalEnvironment : public testing::Environment {
public:
    void SetUp() override {
        pmd::EalOptions o;
        o.lcores = "0";
        o.program = "tcp_tests";
        g_eal_error = pmd::init_eal(o);
        if (!g_eal_error.empty()) return;
        g_pool = rte_pktmbuf_pool_create("tcp_test_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
        if (g_pool == nullptr) {
            g_eal_error = std::string("rte_pktmbuf_pool_create: ") + rte_strerror(rte_errno);
            return;
        }
        g_eal_error = pmd::MbufMeta::register_once();
    }
};
[[maybe_unused]] testing::Environment* const g_env = testing::AddGlobalTestEnvironment(new EalEnvironment);

}  // namespace

const std::string& eal_error() { return g_eal_error; }
rte_mempool* pool() { return g_pool; }

rte_mbuf* mbuf_of(std::span<const uint8_t> bytes, size_t seg) {
    rte_mbuf* head = nullptr;
    size_t at = 0;
    do {
        rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
        if (m == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        const size_t n = std::min({seg, bytes.size() - at, size_t{rte_pktmbuf_tailroom(m)}});
        char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
        if (n > 0) std::copy_n(bytes.data() + at, n, reinterpret_cast<uint8_t*>(p));
        at += n;
        if (head == nullptr) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            rte_pktmbuf_free(head);
            rte_pktmbuf_free(m);
            return nullptr;
        }
    } while (at < bytes.size());
    return head;
}

std::vector<uint8_t> bytes_of(const rte_mbuf* m) {
    std::vector<uint8_t> out;
    for (; m != nullptr; m = m->next) {
        const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
        out.insert(out.end(), p, p + m->data_len);
    }
    return out;
}

unsigned mbufs_in_use() { return rte_mempool_in_use_count(g_pool); }

}  // namespace nvmeddp::tcp_test
