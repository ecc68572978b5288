//! A counting proxy for PostgreSQL's wire protocol, so the PostgreSQL scenario can say
//! exactly how many round trips chatd makes per chat without `pg_stat_statements`
//! (which needs a server restart to load). chatd connects to the proxy on 127.0.0.1,
//! the proxy to the server; bytes pass unchanged both ways, and the client's messages
//! are tallied: a round trip is a `Sync` (the end of an extended-protocol exchange) or
//! a simple `Query`, each of which the client waits on; `Parse` against `Execute` shows
//! whether prepared statements are reused; and the text of each parsed or simple
//! statement is counted, to find the statements a chat repeats.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// SSLRequest and GSSENCRequest: untyped messages after which the real start-up
/// message, also untyped, still follows.
const ENCRYPTION_REQUESTS: [u32; 2] = [80_877_103, 80_877_104];
/// The most statement texts kept apart; others are counted under "(other)".
const TEXTS: usize = 200;
/// Characters of a statement's text kept as its name.
const TEXT_CHARS: usize = 90;

/// What the clients sent, over every connection since the proxy started or was reset.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub syncs: u64,
    pub queries: u64,
    pub parses: u64,
    pub executes: u64,
    /// Statement text (its start) and how often it was parsed or sent as a query.
    pub texts: HashMap<String, u64>,
}

impl Tally {
    pub fn round_trips(&self) -> u64 {
        self.syncs + self.queries
    }

    fn statement(&mut self, text: &[u8]) {
        let text: String = String::from_utf8_lossy(text)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(TEXT_CHARS)
            .collect();
        let key = if self.texts.len() < TEXTS || self.texts.contains_key(&text) {
            text
        } else {
            "(other)".into()
        };
        *self.texts.entry(key).or_default() += 1;
    }
}

/// The proxy: where it listens and what it has counted.
pub struct Proxy {
    pub addr: SocketAddr,
    tally: Arc<Mutex<Tally>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on 127.0.0.1 and forwards every connection to `server`.
    pub async fn start(server: SocketAddr) -> anyhow::Result<Proxy> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let tally = Arc::new(Mutex::new(Tally::default()));
        let counting = tally.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let tally = counting.clone();
                tokio::spawn(async move {
                    if let Ok(upstream) = TcpStream::connect(server).await {
                        let _ = client.set_nodelay(true);
                        let _ = upstream.set_nodelay(true);
                        forward(client, upstream, tally).await;
                    }
                });
            }
        });
        Ok(Proxy { addr, tally, task })
    }

    /// What was counted so far; `reset` starts the count again.
    pub fn take(&self, reset: bool) -> Tally {
        let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        let out = tally.clone();
        if reset {
            *tally = Tally::default();
        }
        out
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(client: TcpStream, server: TcpStream, tally: Arc<Mutex<Tally>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    let mut parser = Parser::default();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match client_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
            parser.feed(&buffer[..n], &mut tally);
        }
        if server_write.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = server_write.shutdown().await;
    back.abort();
}

/// Splits the client's byte stream into messages, whatever the read boundaries.
#[derive(Debug, Default)]
struct Parser {
    /// Past the start-up message: messages have a type byte.
    typed: bool,
    /// The message being read: its header, then its body up to `TEXT_CHARS * 4`.
    pending: Vec<u8>,
    /// Body bytes of the current message still to come, once its header is whole.
    remaining: Option<usize>,
}

impl Parser {
    fn header_len(&self) -> usize {
        if self.typed { 5 } else { 4 }
    }

    fn feed(&mut self, mut bytes: &[u8], tally: &mut Tally) {
        // Bounded: every turn consumes at least one byte or ends.
        while !bytes.is_empty() {
            match self.remaining {
                None => {
                    let need = self.header_len() - self.pending.len();
                    let take = need.min(bytes.len());
                    self.pending.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if self.pending.len() == self.header_len() {
                        let at = self.header_len() - 4;
                        let length = u32::from_be_bytes([
                            self.pending[at],
                            self.pending[at + 1],
                            self.pending[at + 2],
                            self.pending[at + 3],
                        ]) as usize;
                        self.remaining = Some(length.saturating_sub(4));
                        if length <= 4 {
                            self.finish(tally);
                        }
                    }
                }
                Some(left) => {
                    let take = left.min(bytes.len());
                    let keep =
                        (self.header_len() + TEXT_CHARS * 4).saturating_sub(self.pending.len());
                    self.pending.extend_from_slice(&bytes[..take.min(keep)]);
                    bytes = &bytes[take..];
                    self.remaining = Some(left - take);
                    if left == take {
                        self.finish(tally);
                    }
                }
            }
        }
    }

    /// A whole message (its body kept only in part).
    fn finish(&mut self, tally: &mut Tally) {
        if self.typed {
            let body = &self.pending[5..];
            match self.pending[0] {
                b'S' => tally.syncs += 1,
                b'E' => tally.executes += 1,
                b'Q' => {
                    tally.queries += 1;
                    tally.statement(body.split(|&b| b == 0).next().unwrap_or_default());
                }
                b'P' => {
                    tally.parses += 1;
                    // The statement's name, then its text, each ending in a zero byte.
                    let mut parts = body.split(|&b| b == 0);
                    let _name = parts.next();
                    tally.statement(parts.next().unwrap_or_default());
                }
                _ => {}
            }
        } else {
            let code = self
                .pending
                .get(4..8)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            // The body of an untyped message starts after its length; its first four
            // bytes say which one it is.
            if !code.is_some_and(|c| ENCRYPTION_REQUESTS.contains(&c)) {
                self.typed = true;
            }
        }
        self.pending.clear();
        self.remaining = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn counts_messages_across_any_read_boundaries() {
        let mut stream = Vec::new();
        // SSLRequest, then the start-up message, both untyped.
        stream.extend_from_slice(&8u32.to_be_bytes());
        stream.extend_from_slice(&80_877_103u32.to_be_bytes());
        stream.extend_from_slice(&12u32.to_be_bytes());
        stream.extend_from_slice(&196_608u32.to_be_bytes());
        stream.extend_from_slice(b"u\0\0\0");
        stream.extend(message(b'Q', b"BEGIN\0"));
        stream.extend(message(b'P', b"s1\0SELECT 1\0\0\0"));
        stream.extend(message(b'B', b"\0s1\0\0\0\0\0\0\0"));
        stream.extend(message(b'E', b"\0\0\0\0\0"));
        stream.extend(message(b'S', b""));
        stream.extend(message(b'Q', b"COMMIT\0"));
        for chunk in [1, 3, 7, stream.len()] {
            let mut parser = Parser::default();
            let mut tally = Tally::default();
            for piece in stream.chunks(chunk) {
                parser.feed(piece, &mut tally);
            }
            assert_eq!(
                (tally.queries, tally.parses, tally.executes, tally.syncs),
                (2, 1, 1, 1),
                "read {chunk} bytes at a time"
            );
            assert_eq!(tally.round_trips(), 3);
            assert_eq!(tally.texts.get("SELECT 1"), Some(&1));
            assert_eq!(tally.texts.get("BEGIN"), Some(&1));
        }
    }
}
