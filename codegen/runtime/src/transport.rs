//! Moving frames between the edge and cloud programs over TCP (std only, threads, no async
//! runtime): the cloud's server, the edge's client, uplink pacing, and the parsers of the
//! rate and duration arguments.
//!
//! [`serve`] runs an accept loop and `N` worker threads, each with its own [`Handler`] (its
//! own `forward` buffers); accepted connections queue to the workers, and a connection may
//! carry many requests in sequence. Every frame must arrive completely within the I/O timeout
//! (a deadline per frame, so a peer trickling bytes cannot hold a worker). A bad frame gets
//! an error frame and the connection is closed; a handler error gets an error frame and the
//! connection stays open; one line per bad connection goes to stderr; nothing a peer does
//! panics or stops the server. [`Client`] connects with a connect timeout, sends a request
//! (paced to a simulated uplink if asked) and reads the response. The frame format itself is
//! `wire.rs`; this file never looks inside a payload.

use crate::meta::ModelInfo;
use crate::wire::{self, Frame, FrameSpec, WireError, ERR_BAD_FRAME, ERR_HANDLER};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;

/// The request and response specs of one compilation.
#[derive(Clone, Debug, PartialEq)]
pub struct Protocol {
    /// Edge → cloud.
    pub request: FrameSpec,
    /// Cloud → edge.
    pub response: FrameSpec,
}

impl Protocol {
    /// The protocol of `info`'s model (either program's description gives the same one).
    pub fn of(info: &ModelInfo) -> Protocol {
        Protocol { request: FrameSpec::request(info), response: FrameSpec::response(info) }
    }
}

/// Runs the model on one request's payloads, giving the response's payloads.
pub trait Handler {
    /// One request: boundary payloads in, model output bytes out (or why not).
    fn handle(&mut self, payloads: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String>;
}

impl<F: FnMut(&[Vec<u8>]) -> Result<Vec<Vec<u8>>, String>> Handler for F {
    fn handle(&mut self, payloads: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> {
        self(payloads)
    }
}

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Worker threads (each serves one connection at a time).
    pub workers: usize,
    /// Time allowed for each frame to arrive, and for each write.
    pub timeout: Duration,
}

/// Most bytes read from a bad peer after its error frame, so that closing does not reset
/// the connection before the peer has read the error frame.
const DRAIN_LIMIT: usize = 1 << 20;

/// Serves `listener` until `stop` is set (and the accept loop woken by one more connection):
/// `config.workers` threads, each with a handler from `factory`.
pub fn serve<F, H>(
    listener: &TcpListener,
    config: &ServerConfig,
    proto: &Protocol,
    factory: F,
    stop: &AtomicBool,
) where
    F: Fn() -> H + Sync,
    H: Handler,
{
    let (tx, rx) = mpsc::channel::<TcpStream>();
    let rx = Mutex::new(rx);
    std::thread::scope(|s| {
        for _ in 0..config.workers.max(1) {
            s.spawn(|| worker(&rx, factory(), proto, config.timeout));
        }
        for conn in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            match conn {
                Ok(c) => {
                    if tx.send(c).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    eprintln!("cloud: accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        drop(tx);
    });
}

fn worker<H: Handler>(
    rx: &Mutex<mpsc::Receiver<TcpStream>>,
    mut handler: H,
    proto: &Protocol,
    timeout: Duration,
) {
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        match next {
            Ok(stream) => serve_connection(stream, &mut handler, proto, timeout),
            Err(_) => return,
        }
    }
}

/// Serves the requests of one connection until it closes or sends a bad frame.
pub fn serve_connection<H: Handler>(
    stream: TcpStream,
    handler: &mut H,
    proto: &Protocol,
    timeout: Duration,
) {
    let peer = stream.peer_addr().map_or("unknown peer".to_string(), |a| a.to_string());
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(timeout));
    let fp = proto.request.fingerprint;
    loop {
        let mut reader = DeadlineReader { stream: &stream, deadline: Instant::now() + timeout };
        let (id, payloads) = match wire::read_frame(&mut reader, &proto.request) {
            Ok(Frame::Data { id, payloads }) => (id, payloads),
            Ok(Frame::Error { code, message, .. }) => {
                eprintln!("cloud: {peer}: sent an error frame ({code}: {message}); closing");
                return close_after_error(stream);
            }
            Err(WireError::Closed) => return,
            Err(e @ WireError::Timeout("next frame")) => {
                eprintln!("cloud: {peer}: idle past the timeout; closing the connection");
                let _ =
                    (&stream).write_all(&wire::encode_error(fp, 0, ERR_BAD_FRAME, &e.to_string()));
                return close_after_error(stream);
            }
            Err(e) => {
                eprintln!("cloud: {peer}: bad frame: {e}; closing the connection");
                if e.is_bad_frame() {
                    let _ = (&stream).write_all(&wire::encode_error(
                        fp,
                        0,
                        ERR_BAD_FRAME,
                        &e.to_string(),
                    ));
                }
                return close_after_error(stream);
            }
        };
        let reply = match handler.handle(&payloads) {
            Ok(outs) => {
                let refs: Vec<&[u8]> = outs.iter().map(Vec::as_slice).collect();
                wire::encode(&proto.response, id, &refs).unwrap_or_else(|e| {
                    wire::encode_error(fp, id, ERR_HANDLER, &format!("the model's outputs: {e}"))
                })
            }
            Err(msg) => wire::encode_error(fp, id, ERR_HANDLER, &msg),
        };
        if let Err(e) = (&stream).write_all(&reply) {
            eprintln!("cloud: {peer}: cannot send the response to request {id}: {e}; closing");
            return;
        }
    }
}

/// Stops sending, reads what the peer still sends (bounded, briefly), then closes.
fn close_after_error(mut stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 4096];
    let mut drained = 0;
    while drained < DRAIN_LIMIT {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// Reads from a socket, failing with `TimedOut` once `deadline` has passed.
pub struct DeadlineReader<'a> {
    /// The socket.
    pub stream: &'a TcpStream,
    /// When the current frame must be complete.
    pub deadline: Instant,
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut s = self.stream;
        s.read(buf)
    }
}

/// Timeouts of the edge's client.
#[derive(Copy, Clone, Debug)]
pub struct Timeouts {
    /// For establishing the connection.
    pub connect: Duration,
    /// For each write, and for the whole response to arrive after the request was sent.
    pub io: Duration,
}

/// Why a request to the cloud failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The address does not resolve.
    #[error("cannot resolve the cloud address `{addr}`: {error}")]
    Resolve {
        /// As given.
        addr: String,
        /// Why.
        error: String,
    },
    /// Nobody answers there.
    #[error("cannot reach the cloud at {addr}: {error}")]
    Unreachable {
        /// As given.
        addr: String,
        /// The last connection attempt's failure.
        error: io::Error,
    },
    /// The request could not be sent.
    #[error("sending request {id} to the cloud failed: {error}")]
    Send {
        /// Request id.
        id: u64,
        /// Why.
        error: io::Error,
    },
    /// The response could not be read.
    #[error("{}", receive_text(*.id, .error))]
    Receive {
        /// Request id.
        id: u64,
        /// Why.
        error: WireError,
    },
    /// The cloud answered with an error frame.
    #[error("the cloud refused request {id} (code {code}): {message}")]
    Remote {
        /// Request id.
        id: u64,
        /// Its code.
        code: u32,
        /// Its message.
        message: String,
    },
    /// The response answers another request.
    #[error("the cloud answered request {found} while request {expected} was waiting")]
    WrongId {
        /// The response's id.
        found: u64,
        /// Ours.
        expected: u64,
    },
}

/// The message of [`ClientError::Receive`]: a vanished cloud said as such.
fn receive_text(id: u64, error: &WireError) -> String {
    let gone = |detail: String| {
        format!("the cloud closed the connection before answering request {id} ({detail})")
    };
    match error {
        WireError::Closed => gone("no answer at all".into()),
        WireError::Truncated(part) => gone(format!("its answer stops inside the {part}")),
        WireError::Io(e) if is_disconnect(e) => gone(e.to_string()),
        WireError::Timeout(_) => format!("the cloud did not answer request {id} in time ({error})"),
        _ => format!("the cloud's answer to request {id} is not valid: {error}"),
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof)
}

/// What one request cost.
#[derive(Clone, Debug)]
pub struct CallTimes {
    /// Writing the request (paced when simulating an uplink).
    pub transmit: Duration,
    /// From the first byte sent to the last byte of the response received.
    pub round_trip: Duration,
    /// Bytes of the request frame.
    pub sent: u64,
    /// Bytes of the response frame.
    pub received: u64,
}

/// A connection to a cloud program.
pub struct Client {
    stream: TcpStream,
    timeouts: Timeouts,
    /// Simulated uplink in bits per second.
    pace: Option<f64>,
}

impl Client {
    /// Connects to `addr` (`HOST:PORT`), trying each resolved address within the timeout.
    pub fn connect(
        addr: &str,
        timeouts: Timeouts,
        pace: Option<f64>,
    ) -> Result<Client, ClientError> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| ClientError::Resolve { addr: addr.into(), error: e.to_string() })?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeouts.connect) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    stream
                        .set_write_timeout(Some(timeouts.io))
                        .map_err(|error| ClientError::Unreachable { addr: addr.into(), error })?;
                    return Ok(Client { stream, timeouts, pace });
                }
                Err(e) => last = e,
            }
        }
        Err(ClientError::Unreachable { addr: addr.into(), error: last })
    }

    /// Sends request `id` with `payloads` and returns the response's payloads.
    pub fn call(
        &mut self,
        proto: &Protocol,
        id: u64,
        payloads: &[&[u8]],
    ) -> Result<(Vec<Vec<u8>>, CallTimes), ClientError> {
        let frame = wire::encode(&proto.request, id, payloads)
            .map_err(|error| ClientError::Receive { id, error })?;
        let start = Instant::now();
        if let Err(error) = write_paced(&mut &self.stream, &frame, self.pace) {
            return Err(self.refusal(proto, id).unwrap_or(ClientError::Send { id, error }));
        }
        let transmit = start.elapsed();
        let mut reader =
            DeadlineReader { stream: &self.stream, deadline: Instant::now() + self.timeouts.io };
        let frame = wire::read_frame(&mut reader, &proto.response)
            .map_err(|error| ClientError::Receive { id, error })?;
        let round_trip = start.elapsed();
        match frame {
            Frame::Error { code, message, .. } => Err(ClientError::Remote { id, code, message }),
            Frame::Data { id: found, .. } if found != id => {
                Err(ClientError::WrongId { found, expected: id })
            }
            Frame::Data { payloads, .. } => {
                let times = CallTimes {
                    transmit,
                    round_trip,
                    sent: frame_len(&proto.request),
                    received: frame_len(&proto.response),
                };
                Ok((payloads, times))
            }
        }
    }

    /// After a failed write: the error frame the cloud may have sent before closing (it
    /// refuses a bad request as soon as its header is read), if one is there to read.
    fn refusal(&self, proto: &Protocol, id: u64) -> Option<ClientError> {
        let deadline = Instant::now() + Duration::from_millis(500).min(self.timeouts.io);
        let mut reader = DeadlineReader { stream: &self.stream, deadline };
        match wire::read_frame(&mut reader, &proto.response) {
            Ok(Frame::Error { code, message, .. }) => {
                Some(ClientError::Remote { id, code, message })
            }
            _ => None,
        }
    }
}

fn frame_len(spec: &FrameSpec) -> u64 {
    spec.frame_bytes()
}

/// Writes `bytes`, paced to `rate` bits per second when given (chunks of about 10 ms of
/// the rate, each followed by a sleep until the rate allows the next).
pub fn write_paced(w: &mut impl Write, bytes: &[u8], rate: Option<f64>) -> io::Result<()> {
    let Some(rate) = rate.filter(|r| r.is_finite() && *r > 0.0) else {
        w.write_all(bytes)?;
        return w.flush();
    };
    let chunk = ((rate / 8.0 / 100.0) as usize).clamp(64, 1 << 20);
    let start = Instant::now();
    let mut sent = 0usize;
    for c in bytes.chunks(chunk) {
        w.write_all(c)?;
        w.flush()?;
        sent += c.len();
        let due = Duration::from_secs_f64(sent as f64 * 8.0 / rate);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    Ok(())
}

/// Parses a link rate (`3Mbps`, `500kbps`, `1.5Gbps`, `100bps`, or bytes: `2MB/s`, `10kB/s`)
/// into bits per second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("`{s}` is not a rate like 3Mbps"))?;
    let scale = match unit {
        "bps" => 1.0,
        "kbps" | "Kbps" => 1e3,
        "Mbps" | "mbps" => 1e6,
        "Gbps" | "gbps" => 1e9,
        "B/s" => 8.0,
        "kB/s" | "KB/s" => 8e3,
        "MB/s" => 8e6,
        "GB/s" => 8e9,
        _ => {
            return Err(format!(
                "`{s}`: the unit must be bps, kbps, Mbps, Gbps, B/s, kB/s, MB/s or GB/s"
            ))
        }
    };
    let bps = value * scale;
    if !(bps.is_finite() && bps >= 1.0) {
        return Err(format!("`{s}`: the rate must be at least 1 bit per second"));
    }
    Ok(bps)
}

/// Parses a duration: `250ms`, `5s`, `2m`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration like 5s"))?;
    let secs = match unit {
        "ms" => value / 1e3,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        _ => return Err(format!("`{s}`: the unit must be ms, s or m")),
    };
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("`{s}`: the duration must be over 0 and at most a day"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_durations_parse() {
        assert_eq!(parse_rate("3Mbps"), Ok(3e6));
        assert_eq!(parse_rate("1.5kbps"), Ok(1500.0));
        assert_eq!(parse_rate("2MB/s"), Ok(16e6));
        assert!(parse_rate("3").is_err());
        assert!(parse_rate("fastbps").is_err());
        assert!(parse_rate("0bps").is_err());
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn pacing_takes_the_time_the_rate_says() {
        let bytes = vec![7u8; 25_000];
        let mut out = Vec::new();
        let t = Instant::now();
        write_paced(&mut out, &bytes, Some(1e6)).expect("writes");
        let took = t.elapsed().as_secs_f64();
        assert_eq!(out, bytes);
        // 200 kbit at 1 Mbit/s: 0.2 s.
        assert!((0.19..0.5).contains(&took), "{took}");
    }
}
