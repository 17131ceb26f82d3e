# Every dependency is a Debian package (scripts/install-deps.sh installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)

# DPDK is needed from the pmd layer up. It is imported as SYSTEM so that its headers' C++20 warnings
# (rte_spinlock.h: -Wvolatile) do not drown ours.
pkg_check_modules(DPDK REQUIRED IMPORTED_TARGET libdpdk)
set_target_properties(PkgConfig::DPDK PROPERTIES SYSTEM TRUE)

if(NVMEDDP_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(NVMEDDP_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
find_package(Threads REQUIRED)
