//! Tokio peer for juggle's core benchmarks: switch | spawn | sleepers N.
//! Each run prints one JSON object on one line.

use std::time::{Duration, Instant};

const SWITCH_TOTAL: u64 = 10_000_000; // yields in total, both tasks together
const SPAWN_TASKS: usize = 1_000_000;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

fn bench_switch() {
    let rt = current_thread();
    let ns = rt.block_on(async {
        let per = SWITCH_TOTAL / 2;
        let start = Instant::now();
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                tokio::spawn(async move {
                    for _ in 0..per {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("join");
        }
        start.elapsed().as_nanos() as f64
    });
    println!(
        "{{\"bench\":\"switch\",\"impl\":\"tokio\",\"workers\":1,\"switches\":{},\"ns_per_switch\":{:.2}}}",
        SWITCH_TOTAL,
        ns / SWITCH_TOTAL as f64
    );
}

/// Spawn then await SPAWN_TASKS empty tasks, twice on one runtime: the
/// first round pays for fresh memory (page faults), the second reuses it.
fn bench_spawn() {
    let rt = current_thread();
    let (cold, warm) = rt.block_on(async {
        let mut rounds = [0f64; 2];
        for r in rounds.iter_mut() {
            let start = Instant::now();
            let mut handles = Vec::with_capacity(SPAWN_TASKS);
            for _ in 0..SPAWN_TASKS {
                handles.push(tokio::spawn(async {}));
            }
            for h in handles {
                h.await.expect("join");
            }
            *r = start.elapsed().as_nanos() as f64;
        }
        (rounds[0], rounds[1])
    });
    println!(
        "{{\"bench\":\"spawn\",\"impl\":\"tokio\",\"tasks\":{},\"ns_per_task\":{:.2},\"warm_ns_per_task\":{:.2}}}",
        SPAWN_TASKS,
        cold / SPAWN_TASKS as f64,
        warm / SPAWN_TASKS as f64
    );
}

fn bench_sleepers(n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let wall = rt.block_on(async {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            handles.push(tokio::spawn(async {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }));
        }
        for h in handles {
            h.await.expect("join");
        }
        start.elapsed().as_secs_f64()
    });
    // SAFETY: getrusage only writes into the zeroed struct we hand it.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut ru) != 0 {
            eprintln!("getrusage failed");
            std::process::exit(1);
        }
        ru
    };
    println!(
        "{{\"bench\":\"sleepers\",\"impl\":\"tokio\",\"tasks\":{},\"wall_s\":{:.4},\"peak_rss_bytes\":{},\"minflt\":{}}}",
        n,
        wall,
        ru.ru_maxrss as i64 * 1024,
        ru.ru_minflt
    );
}

fn usage() -> ! {
    eprintln!("usage: tokio-peer switch | spawn | sleepers N");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("switch") => bench_switch(),
        Some("spawn") => bench_spawn(),
        Some("sleepers") => {
            let n = args
                .get(2)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| usage());
            bench_sleepers(n)
        }
        _ => usage(),
    }
}
