//! The load generators: keep-alive HTTP/1.1 connections on hyper's bare client
//! connection (no pool, no extra task hops), one task per connection. `rest` hammers one
//! GET path; `chat` runs `POST /chat`-style streams and times every SSE event. Every
//! loop is bounded both in count and in time, and only 127.0.0.1 is ever dialled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

pub type Sender = SendRequest<Full<Bytes>>;

/// A new keep-alive connection to `addr`.
pub async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .context("connecting took over 10 s")??;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// A request as a browser or curl would send it; hyper's bare connection adds no Host
/// of its own, and chatd refuses requests without a loopback one.
pub fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    json: Option<String>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr.to_string());
    if json.is_some() {
        builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let body = Full::new(Bytes::from(json.unwrap_or_default()));
    // Only a malformed path could make this fail, and the harness builds every path.
    builder
        .body(body)
        .unwrap_or_else(|e| panic!("bad request for {path}: {e}"))
}

/// One GET, whole body; for setup and checks rather than load.
pub async fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, Bytes)> {
    let mut sender = connect(addr).await?;
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        sender.send_request(request(addr, Method::GET, path, None)),
    )
    .await
    .context("no answer within 30 s")??;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Latencies in microseconds, and their percentiles.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<u64>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros() as u64);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub fn sort(&mut self) {
        self.0.sort_unstable();
    }

    /// The `p`-th percentile in milliseconds (after `sort`), NaN without samples.
    pub fn pct_ms(&self, p: usize) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let i = (self.0.len() * p / 100).min(self.0.len() - 1);
        self.0[i] as f64 / 1000.0
    }
}

#[derive(Debug)]
pub struct RestResult {
    pub ok: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub latency: Samples,
    pub first_error: Option<String>,
}

impl RestResult {
    pub fn per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The results of loads run side by side (on several chatd processes) as one.
    pub fn merge_all(results: Vec<RestResult>) -> RestResult {
        let mut total = RestResult {
            ok: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latency: Samples::default(),
            first_error: None,
        };
        for result in results {
            total.ok += result.ok;
            total.errors += result.errors;
            total.elapsed = total.elapsed.max(result.elapsed);
            total.latency.extend(result.latency);
            if total.first_error.is_none() {
                total.first_error = result.first_error;
            }
        }
        total.latency.sort();
        total
    }
}

/// `connections` keep-alive connections each sending `GET path` back to back until
/// `max_requests` were sent in all or `duration` has passed.
pub async fn rest(
    addr: SocketAddr,
    path: &str,
    connections: usize,
    max_requests: usize,
    duration: Duration,
) -> RestResult {
    let issued = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let issued = issued.clone();
        let path = path.to_string();
        tasks.push(tokio::spawn(async move {
            let mut latency = Samples(Vec::with_capacity(max_requests / connections + 1));
            let mut errors = 0;
            let mut first_error = None;
            let mut sender = None;
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max_requests
            {
                let outcome = async {
                    if sender.is_none() {
                        sender = Some(connect(addr).await?);
                    }
                    let Some(s) = sender.as_mut() else {
                        bail!("no connection")
                    };
                    let t0 = Instant::now();
                    let response = s
                        .send_request(request(addr, Method::GET, &path, None))
                        .await?;
                    let status = response.status();
                    let body = response.into_body().collect().await?.to_bytes();
                    if status != hyper::StatusCode::OK || body.is_empty() {
                        bail!("answered {status} with {} bytes", body.len());
                    }
                    Ok::<_, anyhow::Error>(t0.elapsed())
                }
                .await;
                match outcome {
                    Ok(d) => latency.push(d),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                        sender = None;
                    }
                }
            }
            (latency, errors, first_error)
        }));
    }
    let mut result = RestResult {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency: Samples::default(),
        first_error: None,
    };
    for task in tasks {
        match task.await {
            Ok((latency, errors, first_error)) => {
                result.errors += errors;
                result.latency.extend(latency);
                if result.first_error.is_none() {
                    result.first_error = first_error;
                }
            }
            Err(e) => {
                result.errors += 1;
                result.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    result.elapsed = start.elapsed();
    result.ok = result.latency.0.len();
    result.latency.sort();
    result
}

/// How one stream went, in the client's eyes.
#[derive(Debug, Default)]
pub struct StreamResult {
    pub complete: usize,
    pub errors: usize,
    pub tokens: usize,
    pub first_error: Option<String>,
    pub ttft: Samples,
    pub gap: Samples,
    /// Tokens per second of each stream, from sending its request to its last token.
    pub rate: Vec<f64>,
    /// Completed chats per conversation, to check them against what got stored.
    pub per_conversation: Vec<(i64, usize)>,
    pub elapsed: Duration,
    pub peak_open: usize,
}

impl StreamResult {
    pub fn rate_pct(&self, p: usize) -> f64 {
        let mut rates = self.rate.clone();
        rates.sort_by(f64::total_cmp);
        if rates.is_empty() {
            return f64::NAN;
        }
        rates[(rates.len() * p / 100).min(rates.len() - 1)]
    }

    /// The results of loads run side by side (on several chatd processes) as one.
    pub fn merge_all(results: Vec<StreamResult>) -> StreamResult {
        let mut total = StreamResult::default();
        for result in results {
            total.elapsed = total.elapsed.max(result.elapsed);
            total.peak_open += result.peak_open;
            total.merge(result);
        }
        total.ttft.sort();
        total.gap.sort();
        total
    }

    fn merge(&mut self, other: StreamResult) {
        self.complete += other.complete;
        self.errors += other.errors;
        self.tokens += other.tokens;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.ttft.extend(other.ttft);
        self.gap.extend(other.gap);
        self.rate.extend(other.rate);
        self.per_conversation.extend(other.per_conversation);
    }
}

/// What the streams post and expect.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    pub path: String,
    /// The JSON body for a conversation id.
    pub body: fn(i64) -> String,
    /// Content events a complete stream carries.
    pub tokens: usize,
    /// One task per conversation; each runs its streams one after another.
    pub conversations: Vec<i64>,
    /// Streams per task at most.
    pub per_task: usize,
    /// Task `i` sends its first request `ramp * i / tasks` after the start, on a
    /// connection opened beforehand, so set-up is not in the figures.
    pub ramp: Duration,
    /// No new stream starts after this; a stream still open past `deadline + 30 s` is
    /// counted as an error.
    pub duration: Duration,
}

/// Runs the plan; the connections are opened (at most 256 at a time) before the clock
/// starts.
pub async fn streams(addr: SocketAddr, plan: StreamPlan) -> StreamResult {
    let tasks_n = plan.conversations.len();
    let mut senders = Vec::with_capacity(tasks_n);
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let mut opening = Vec::with_capacity(tasks_n);
    for _ in 0..tasks_n {
        let gate = gate.clone();
        opening.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            connect(addr).await
        }));
    }
    for task in opening {
        senders.push(task.await.map_err(anyhow::Error::from).and_then(|r| r));
    }
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + plan.duration;
    let hard_deadline = deadline + Duration::from_secs(30);
    let mut tasks = Vec::with_capacity(tasks_n);
    for (i, (conversation, sender)) in plan.conversations.iter().copied().zip(senders).enumerate() {
        let plan = plan.clone();
        let open = open.clone();
        let peak = peak.clone();
        tasks.push(tokio::spawn(async move {
            let mut result = StreamResult::default();
            let mut sender = match sender {
                Ok(s) => Some(s),
                Err(e) => {
                    result.errors += 1;
                    result.first_error = Some(format!("connect: {e:#}"));
                    return result;
                }
            };
            let offset = plan.ramp.mul_f64(i as f64 / tasks_n.max(1) as f64);
            tokio::time::sleep_until((start + offset).into()).await;
            let mut done = 0;
            for _ in 0..plan.per_task {
                if Instant::now() >= deadline {
                    break;
                }
                let now_open = open.fetch_add(1, Ordering::Relaxed) + 1;
                peak.fetch_max(now_open, Ordering::Relaxed);
                let outcome = tokio::time::timeout_at(
                    hard_deadline.into(),
                    one_stream(addr, &mut sender, &plan, conversation, &mut result),
                )
                .await;
                open.fetch_sub(1, Ordering::Relaxed);
                match outcome {
                    Ok(Ok(())) => {
                        result.complete += 1;
                        done += 1;
                    }
                    Ok(Err(e)) => {
                        result.errors += 1;
                        result.first_error.get_or_insert_with(|| format!("{e:#}"));
                        sender = None;
                    }
                    Err(_) => {
                        result.errors += 1;
                        result
                            .first_error
                            .get_or_insert_with(|| "stream still open 30 s after the end".into());
                        break;
                    }
                }
            }
            result.per_conversation.push((conversation, done));
            result
        }));
    }
    let mut total = StreamResult::default();
    for task in tasks {
        match task.await {
            Ok(r) => total.merge(r),
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    total.elapsed = start.elapsed();
    total.peak_open = peak.load(Ordering::Relaxed);
    total.ttft.sort();
    total.gap.sort();
    total
}

async fn one_stream(
    addr: SocketAddr,
    sender: &mut Option<Sender>,
    plan: &StreamPlan,
    conversation: i64,
    result: &mut StreamResult,
) -> anyhow::Result<()> {
    if sender.is_none() {
        *sender = Some(connect(addr).await?);
    }
    let Some(s) = sender.as_mut() else {
        bail!("no connection")
    };
    s.ready().await?;
    let t0 = Instant::now();
    let response = s
        .send_request(request(
            addr,
            Method::POST,
            &plan.path,
            Some((plan.body)(conversation)),
        ))
        .await?;
    let status = response.status();
    let mut body = response.into_body();
    if status != hyper::StatusCode::OK {
        let text = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        bail!("answered {status}: {}", String::from_utf8_lossy(&text));
    }
    let mut pending: Vec<u8> = Vec::new();
    let mut tokens = 0;
    let mut last: Option<Instant> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        let now = Instant::now();
        pending.extend_from_slice(data);
        // Every complete event in what has arrived; an event is a content token unless
        // it is the upstream's own end marker.
        while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = pending.drain(..end + 2).collect();
            if !event.starts_with(b"data:") || event.starts_with(b"data: [DONE]") {
                continue;
            }
            tokens += 1;
            match last {
                None => result.ttft.push(now - t0),
                Some(previous) => result.gap.push(now - previous),
            }
            last = Some(now);
        }
    }
    result.tokens += tokens;
    if tokens != plan.tokens {
        bail!("stream ended after {tokens} of {} tokens", plan.tokens);
    }
    if let Some(last) = last {
        let secs = (last - t0).as_secs_f64();
        if secs > 0.0 {
            result.rate.push(tokens as f64 / secs);
        }
    }
    Ok(())
}
