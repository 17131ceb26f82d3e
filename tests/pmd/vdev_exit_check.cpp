// The EAL brought up with the vdevs given on the command line and torn down again with
// rte_eal_cleanup(), without closing any port first (a program that just exits): the bus then
// removes every vdev itself, ours and the lower port it stacks on in either order, and must neither
// crash nor leave the lower port behind. Prints "clean exit" when it gets that far.
#include <rte_eal.h>
#include <rte_ethdev.h>

#include <cstdio>

int main(int argc, char** argv) {
    if (rte_eal_init(argc, argv) < 0) {
        std::printf("vdev_exit_check: rte_eal_init failed\n");
        return 1;
    }
    std::printf("vdev_exit_check: %u port(s) visible\n", rte_eth_dev_count_avail());
    if (rte_eal_cleanup() != 0) {
        std::printf("vdev_exit_check: rte_eal_cleanup failed\n");
        return 1;
    }
    std::printf("vdev_exit_check: clean exit\n");
    return 0;
}
