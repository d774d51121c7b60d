// Go peer for juggle's fork-join benchmark:
//
//	forkjoin-go fib N [--workers W] [--cutoff C]
//
// Each call with n >= 2 starts a goroutine for fib(n-1), computes fib(n-2)
// itself and waits on a sync.WaitGroup. GOMAXPROCS=W. Standard library only.
// Prints one JSON line.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

var cutoff int

func fibSerial(n int) int64 {
	if n < 2 {
		return int64(n)
	}
	return fibSerial(n-1) + fibSerial(n-2)
}

func fib(n int) int64 {
	if n < 2 {
		return int64(n)
	}
	if n < cutoff {
		return fibSerial(n)
	}
	var x int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		x = fib(n - 1)
		wg.Done()
	}()
	y := fib(n - 2)
	wg.Wait()
	return x + y
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: forkjoin-go fib N [--workers W] [--cutoff C]")
	os.Exit(2)
}

func atoi(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		usage()
	}
	return v
}

func main() {
	args := os.Args[1:]
	if len(args) < 2 || args[0] != "fib" {
		usage()
	}
	n, workers := atoi(args[1]), 1
	for i := 2; i < len(args); i += 2 {
		if i+1 >= len(args) {
			usage()
		}
		switch args[i] {
		case "--workers":
			workers = atoi(args[i+1])
		case "--cutoff":
			cutoff = atoi(args[i+1])
		default:
			usage()
		}
	}
	if workers < 1 {
		usage()
	}
	runtime.GOMAXPROCS(workers)
	start := time.Now()
	r := fib(n)
	s := time.Since(start).Seconds()
	fmt.Printf("{\"bench\":\"fib\",\"impl\":\"go\",\"n\":%d,\"workers\":%d,\"cutoff\":%d,\"seconds\":%.6f,\"result\":%d}\n",
		n, workers, cutoff, s, r)
}
