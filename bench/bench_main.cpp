// main() of every benchmark program: Google Benchmark's own main, plus the run's context (the paths
// chosen on this CPU, bench_context.hpp) recorded first, once every library has made its choice.
#include <benchmark/benchmark.h>

#include "bench_context.hpp"

int main(int argc, char** argv) {
    nvmeddp::bench::add_run_context();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
