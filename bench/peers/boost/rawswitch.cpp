// Boost.Context peer for juggle's rawswitch benchmark: main and one fiber
// resume each other with no scheduler in between. Every one-way resume counts
// as one switch. Prints one JSON object on one line.
#include <boost/context/fiber.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <utility>

namespace ctx = boost::context;

int main() {
    constexpr std::uint64_t total = 10'000'000;  // one-way switches
    constexpr std::uint64_t rounds = total / 2;  // each round: main->fiber->main

    ctx::fiber f{[](ctx::fiber &&caller) {
        for (;;) caller = std::move(caller).resume();
        return std::move(caller);
    }};

    f = std::move(f).resume();  // warm up: first entry into the fiber
    auto start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < rounds; ++i) f = std::move(f).resume();
    auto end = std::chrono::steady_clock::now();

    double ns = std::chrono::duration<double, std::nano>(end - start).count();
    std::printf(
        "{\"bench\":\"rawswitch\",\"impl\":\"boost.context\",\"switches\":%llu,"
        "\"ns_per_switch\":%.2f}\n",
        static_cast<unsigned long long>(total), ns / total);
    // The fiber is left suspended; unwinding it at exit is not measured.
    return 0;
}
