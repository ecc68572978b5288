//! Starting `chatd` in the background when nothing answers at a local server address, so
//! that `chatctl chat` just works after installing both binaries.
//!
//! Only for plain-`http` loopback addresses under `/api/v1` (the default
//! `http://127.0.0.1:8000/api/v1` and any other local port): starting a daemon can only
//! help when it would listen where we are about to connect. The daemon is detached (its
//! own process group, so a Ctrl-C in this terminal does not stop it), logs to
//! `chatd.log` in chatctl's data directory and records its pid in `chatd.pid` beside it.

use std::fs;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::loopback::{LoopbackHost, loopback_host};
use reqwest::Url;

/// How long to wait for a freshly started daemon to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Where a daemon started for `url` would listen (`host:port`), or `None` when `url` is
/// not one we may start a daemon for.
pub fn listen_address(url: &Url) -> Option<String> {
    if url.scheme() != "http" || url.path().trim_end_matches('/') != common::API_BASE {
        return None;
    }
    // A daemon listens on an address; a name under `.localhost` has none of its own.
    let host = match loopback_host(url.host_str()?)? {
        LoopbackHost::Localhost => "127.0.0.1".to_string(),
        LoopbackHost::Address(IpAddr::V4(ip)) => ip.to_string(),
        LoopbackHost::Address(IpAddr::V6(ip)) => format!("[{ip}]"),
        LoopbackHost::UnderLocalhost => return None,
    };
    Some(format!("{host}:{}", url.port_or_known_default()?))
}

/// The `chatd` to start: the one next to this executable, else the first on `PATH`.
fn find_chatd() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("chatd")));
    if let Some(path) = beside.filter(|p| p.is_file()) {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chatd"))
        .find(|candidate| candidate.is_file())
}

/// The log of the chatd that chatctl starts, in chatctl's data directory.
pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.join("chatd.log")
}

/// Where the pid of the chatd that chatctl started is kept.
pub fn pid_path(data_dir: &Path) -> PathBuf {
    data_dir.join("chatd.pid")
}

/// A chatd that chatctl started.
#[derive(Debug)]
pub struct Started {
    pub pid: u32,
    pub log: PathBuf,
}

/// Starts chatd listening on `listen` (with `extra` arguments) and waits until it
/// accepts connections. On failure the error says what to do, ready to follow
/// "no daemon answered at …; ".
pub async fn start(
    listen: &str,
    extra: &[String],
    data_dir: Option<&Path>,
) -> Result<Started, String> {
    let listen = listen.to_string();
    let extra = extra.to_vec();
    let data_dir = data_dir.map(Path::to_path_buf);
    // Spawning and polling a socket are blocking calls; keep them off the runtime.
    tokio::task::spawn_blocking(move || start_blocking(&listen, &extra, data_dir.as_deref()))
        .await
        .map_err(|err| format!("starting chatd failed: {err}"))?
}

fn start_blocking(
    listen: &str,
    extra: &[String],
    data_dir: Option<&Path>,
) -> Result<Started, String> {
    let chatd = find_chatd().ok_or_else(|| {
        "no chatd found next to chatctl or on PATH; install chatd or start it yourself".to_string()
    })?;
    let data_dir = data_dir.ok_or_else(|| {
        "no data directory for chatd's log (is HOME set?); start chatd yourself".to_string()
    })?;
    fs::create_dir_all(data_dir)
        .map_err(|err| format!("could not create {}: {err}", data_dir.display()))?;
    let log_path = log_path(data_dir);
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|err| format!("could not open {}: {err}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|err| format!("could not open {}: {err}", log_path.display()))?;
    let mut child = Command::new(&chatd)
        .arg("--listen")
        .arg(listen)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(|err| format!("could not start {}: {err}", chatd.display()))?;
    let pid = child.id();
    let _ = fs::write(pid_path(data_dir), format!("{pid}\n"));

    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|err| format!("bad listen address {listen}: {err}"))?
        .collect();
    let deadline = Instant::now() + READY_TIMEOUT;
    let max_polls = READY_TIMEOUT.as_millis() / POLL_INTERVAL.as_millis() + 1;
    for _ in 0..max_polls {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "started {} but it exited ({status}); see {}",
                chatd.display(),
                log_path.display()
            ));
        }
        if addrs
            .iter()
            .any(|addr| TcpStream::connect_timeout(addr, POLL_INTERVAL).is_ok())
        {
            return Ok(Started { pid, log: log_path });
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    Err(format!(
        "started {} but it did not answer within {} s; see {}",
        chatd.display(),
        READY_TIMEOUT.as_secs(),
        log_path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(url: &str) -> Option<String> {
        listen_address(&Url::parse(url).unwrap())
    }

    #[test]
    fn only_local_http_api_addresses_qualify() {
        assert_eq!(
            addr("http://127.0.0.1:8000/api/v1").as_deref(),
            Some("127.0.0.1:8000")
        );
        assert_eq!(
            addr("http://localhost:9000/api/v1/").as_deref(),
            Some("127.0.0.1:9000")
        );
        assert_eq!(
            addr("http://[::1]:8000/api/v1").as_deref(),
            Some("[::1]:8000")
        );
        assert_eq!(
            addr("http://127.0.0.1/api/v1").as_deref(),
            Some("127.0.0.1:80")
        );
        assert_eq!(addr("http://example.com:8000/api/v1"), None);
        assert_eq!(addr("https://127.0.0.1:8000/api/v1"), None);
        assert_eq!(addr("http://127.0.0.1:8000/other"), None);
        assert_eq!(addr("http://10.0.0.1:8000/api/v1"), None);
        assert_eq!(addr("http://app.localhost:8000/api/v1"), None);
    }
}
