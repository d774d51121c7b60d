//! Tokio HTTP peer for bench/http.sh: a current_thread runtime, one task per
//! connection over tokio::net::TcpListener, and a minimal hand-written
//! HTTP/1.1 responder. Every complete request head on a keep-alive connection
//! gets "200 Hello, World!"; pipelined requests read together are answered
//! with one write. Request bodies are not supported (GET only).
//!
//!     tokio-http-peer --port PORT      (listens on 127.0.0.1)

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Length: 13\r\n\
Content-Type: text/plain\r\n\
\r\n\
Hello, World!";
const IN_CAP: usize = 8192;

/// Index just past the first "\r\n\r\n" in `buf`, if any.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

async fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = vec![0u8; IN_CAP];
    let mut len = 0;
    let mut out = Vec::with_capacity(16 * RESPONSE.len());
    loop {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            return Ok(());
        }
        len += n;
        let mut done = 0;
        while let Some(end) = head_end(&buf[done..len]) {
            done += end;
            out.extend_from_slice(RESPONSE);
        }
        if done == 0 && len == IN_CAP {
            return Ok(()); // a head larger than the buffer
        }
        buf.copy_within(done..len, 0);
        len -= done;
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut port: u16 = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse().expect("port"),
            _ => {
                eprintln!("usage: tokio-http-peer --port PORT");
                std::process::exit(2);
            }
        }
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}"); // EMFILE and friends: go on
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = serve(stream).await;
        });
    }
}
