// Go peer for juggle's core benchmarks: switch | spawn | sleepers N.
// Standard library only. Each run prints one JSON object on one line.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	switchTotal = 10_000_000 // yields in total, both goroutines together
	spawnTasks  = 1_000_000
)

func benchSwitch() {
	runtime.GOMAXPROCS(1)
	per := switchTotal / 2
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	for i := 0; i < 2; i++ {
		go func() {
			defer wg.Done()
			for j := 0; j < per; j++ {
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	ns := float64(time.Since(start).Nanoseconds())
	fmt.Printf("{\"bench\":\"switch\",\"impl\":\"go\",\"workers\":1,\"switches\":%d,\"ns_per_switch\":%.2f}\n",
		switchTotal, ns/float64(switchTotal))
}

func benchSpawn() {
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(spawnTasks)
	for i := 0; i < spawnTasks; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	ns := float64(time.Since(start).Nanoseconds())
	fmt.Printf("{\"bench\":\"spawn\",\"impl\":\"go\",\"tasks\":%d,\"gomaxprocs\":%d,\"ns_per_task\":%.2f}\n",
		spawnTasks, runtime.GOMAXPROCS(0), ns/float64(spawnTasks))
}

func benchSleepers(n int) {
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			time.Sleep(2 * time.Second)
			wg.Done()
		}()
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fmt.Fprintln(os.Stderr, "getrusage:", err)
		os.Exit(1)
	}
	fmt.Printf("{\"bench\":\"sleepers\",\"impl\":\"go\",\"tasks\":%d,\"wall_s\":%.4f,\"peak_rss_bytes\":%d,\"minflt\":%d}\n",
		n, wall, ru.Maxrss*1024, ru.Minflt)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go-peer switch | spawn | sleepers N")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "switch":
		benchSwitch()
	case "spawn":
		benchSpawn()
	case "sleepers":
		if len(os.Args) < 3 {
			usage()
		}
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 0 {
			usage()
		}
		benchSleepers(n)
	default:
		usage()
	}
}
