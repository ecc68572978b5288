//! The reference point for the REST figures: a minimal warp server (same warp, hyper and
//! tokio as chatd) that answers the very bytes chatd answered, from memory. Its
//! throughput is what this machine, this HTTP stack and this load generator can do at
//! all, so each chatd figure is also reported as a ratio to it. It runs as a child
//! process (`chatd-bench reference DIR`) so it gets the same share of the CPU as chatd.
//!
//! DIR holds one file per answered path: the file name is the path with `/` as `_`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use warp::Filter;
use warp::http::{HeaderValue, StatusCode, header};

/// The file name a path's answer is kept under.
pub fn file_name(path: &str) -> String {
    path.replace('/', "_")
}

/// Serves until killed; prints `listening PORT` on stdout first.
pub async fn serve(dir: &Path) -> anyhow::Result<()> {
    let mut answers = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        answers.insert(name, Bytes::from(std::fs::read(entry.path())?));
    }
    let answers = Arc::new(answers);
    let routes = warp::path::full().map(move |path: warp::path::FullPath| {
        let mut response = match answers.get(&file_name(path.as_str())) {
            Some(body) => warp::reply::Response::new(body.clone().into()),
            None => {
                let mut response = warp::reply::Response::new(Bytes::new().into());
                *response.status_mut() = StatusCode::NOT_FOUND;
                response
            }
        };
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    });
    let listener = crate::process::loopback_listener()?;
    println!("listening {}", listener.local_addr()?.port());
    warp::serve(routes).incoming(listener).run().await;
    Ok(())
}
