module juggle/bench/peers/go

go 1.19
