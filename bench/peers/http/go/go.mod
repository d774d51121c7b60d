module juggle/bench/peers/http/go

go 1.19
