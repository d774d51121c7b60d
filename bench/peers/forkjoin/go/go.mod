module juggle/bench/peers/forkjoin/go

go 1.19
