//! The fake OpenAI-compatible upstream chatd relays from during the chat scenarios. It
//! runs as a child process of the harness (`chatd-bench upstream …`) so its CPU and
//! memory are not mixed with the load generator's, and it is as cheap as an upstream can
//! be: `POST /v1/chat/completions` drains the request and answers `text/event-stream`
//! with `tokens` content chunks `delay` apart and `data: [DONE]`. With no delay the
//! whole answer is one pre-built buffer; with a delay the first token goes out at once.
//! Each chunk's content is `tok`, or `content_bytes` letters for the memory scenario's
//! large replies.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// One content chunk exactly as OpenAI streams it.
pub const CHUNK: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok\"}}]}\n\n";
pub const DONE: &str = "data: [DONE]\n\n";

type Body = BoxBody<Bytes, Infallible>;

/// One content chunk of `content_bytes` letters (`CHUNK` for 0).
fn chunk(content_bytes: usize) -> Bytes {
    if content_bytes == 0 {
        return Bytes::from_static(CHUNK.as_bytes());
    }
    let content = "x".repeat(content_bytes);
    Bytes::from(format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}}}}]}}\n\n"
    ))
}

/// Serves until killed; prints `listening PORT` on stdout first.
pub async fn serve(tokens: usize, delay: Duration, content_bytes: usize) -> anyhow::Result<()> {
    let listener = crate::process::loopback_listener()?;
    println!("listening {}", listener.local_addr()?.port());
    let one = chunk(content_bytes);
    let mut whole = Vec::with_capacity(one.len() * tokens + DONE.len());
    for _ in 0..tokens {
        whole.extend_from_slice(&one);
    }
    whole.extend_from_slice(DONE.as_bytes());
    let whole = Bytes::from(whole);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors: say so and wait, rather than spin.
                eprintln!("upstream: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let whole = whole.clone();
        let one = one.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                answer(request, tokens, delay, whole.clone(), one.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    tokens: usize,
    delay: Duration,
    whole: Bytes,
    one: Bytes,
) -> Result<Response<Body>, Infallible> {
    if request.uri().path() != "/v1/chat/completions" {
        return Ok(plain(StatusCode::NOT_FOUND));
    }
    // Drained so the connection can be kept alive for the next request.
    if request.into_body().collect().await.is_err() {
        return Ok(plain(StatusCode::BAD_REQUEST));
    }
    let body: Body = if delay.is_zero() {
        Full::new(whole).boxed()
    } else {
        let frames = futures_util::stream::unfold(0usize, move |sent| {
            let one = one.clone();
            async move {
                if sent > tokens {
                    return None;
                }
                if sent == tokens {
                    let frame = Frame::data(Bytes::from_static(DONE.as_bytes()));
                    return Some((Ok::<_, Infallible>(frame), sent + 1));
                }
                if sent > 0 {
                    tokio::time::sleep(delay).await;
                }
                Some((Ok(Frame::data(one)), sent + 1))
            }
        });
        StreamBody::new(frames).boxed()
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/event-stream"),
    );
    Ok(response)
}

fn plain(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()).boxed());
    *response.status_mut() = status;
    response
}
