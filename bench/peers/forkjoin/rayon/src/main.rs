//! rayon peer for juggle's fork-join benchmarks:
//!   rayon-peer fib N [--workers W] [--cutoff C]   rayon::join
//!   rayon-peer sum [--n N] [--workers W]          par_iter().sum()
//! Runs inside a ThreadPool of W threads. Prints one JSON line.
use rayon::prelude::*;
use std::time::Instant;

const SUM_DEFAULT_N: usize = 100_000_000;
const SUM_REPS: usize = 5; // timed passes after one untimed warm-up pass

fn fib_serial(n: u32) -> i64 {
    if n < 2 {
        n as i64
    } else {
        fib_serial(n - 1) + fib_serial(n - 2)
    }
}

fn fib(n: u32, cutoff: u32) -> i64 {
    if n < 2 {
        return n as i64;
    }
    if n < cutoff {
        return fib_serial(n);
    }
    // join(a, b) runs a here and offers b to thieves: fork fib(n-1), compute
    // fib(n-2) on this thread.
    let (y, x) = rayon::join(|| fib(n - 2, cutoff), || fib(n - 1, cutoff));
    x + y
}

// Same element formula as the C peers (common.h) and juggle-bench: i % 1000.
fn sum_elem(i: u64) -> i64 {
    (i % 1000) as i64
}

fn usage() -> ! {
    eprintln!("usage: rayon-peer fib N [--workers W] [--cutoff C] | sum [--n N] [--workers W]");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.first().map(String::as_str).unwrap_or_else(|| usage());
    let (mut n, mut i) = match bench {
        "fib" => (
            args.get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| usage()),
            2,
        ),
        "sum" => (SUM_DEFAULT_N, 1),
        _ => usage(),
    };
    let (mut workers, mut cutoff) = (1usize, 0u32);
    while i < args.len() {
        let v = args.get(i + 1).unwrap_or_else(|| usage());
        match args[i].as_str() {
            "--workers" => workers = v.parse().unwrap_or_else(|_| usage()),
            "--cutoff" => cutoff = v.parse().unwrap_or_else(|_| usage()),
            "--n" => n = v.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
        i += 2;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .unwrap();

    if bench == "fib" {
        let start = Instant::now();
        let r = pool.install(|| fib(n as u32, cutoff));
        let s = start.elapsed().as_secs_f64();
        println!(
            "{{\"bench\":\"fib\",\"impl\":\"rayon\",\"n\":{n},\"workers\":{workers},\
             \"cutoff\":{cutoff},\"seconds\":{s:.6},\"result\":{r}}}"
        );
    } else {
        let a: Vec<i64> = (0..n as u64).map(sum_elem).collect();
        let r: i64 = pool.install(|| a.par_iter().sum()); // warm-up pass
        let mut ts: Vec<f64> = (0..SUM_REPS)
            .map(|_| {
                let start = Instant::now();
                let s: i64 = pool.install(|| a.par_iter().sum());
                let t = start.elapsed().as_secs_f64();
                assert_eq!(s, r, "sum changed");
                t
            })
            .collect();
        ts.sort_by(|x, y| x.partial_cmp(y).unwrap());
        let s = ts[SUM_REPS / 2];
        println!(
            "{{\"bench\":\"sum\",\"impl\":\"rayon\",\"n\":{n},\"workers\":{workers},\
             \"reps\":{SUM_REPS},\"seconds\":{s:.6},\"result\":{r}}}"
        );
    }
}
