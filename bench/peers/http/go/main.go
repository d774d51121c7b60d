// Go net/http peer for bench/http.sh: the standard library's server, run
// with GOMAXPROCS=1 (the script sets it; it is also the default here when
// the environment does not say). Answers GET / with "Hello, World!".
//
//	go-http-peer --port PORT      (listens on 127.0.0.1)
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime"
)

var hello = []byte("Hello, World!")

func main() {
	port := flag.Int("port", 8080, "port on 127.0.0.1")
	flag.Parse()
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	log.Fatal(http.ListenAndServe(fmt.Sprintf("127.0.0.1:%d", *port), nil))
}
