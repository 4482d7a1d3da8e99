//! An HTTP service (axum) with a graceful drain: a stop lets in-flight requests finish
//! before the process exits, and a watchdog liveness check on a heartbeat.
//!
//! ```text
//! cargo run -p stead --example http -- 127.0.0.1:8080
//! curl 127.0.0.1:8080/            # hello
//! curl 127.0.0.1:8080/slow/3000   # answers after 3 s, even if you press Ctrl-C meanwhile
//! curl 127.0.0.1:8080/stall       # stops the heartbeat: under systemd with WatchdogSec=
//!                                 # the watchdog is no longer pinged and the unit restarts
//! ```
//!
//! `systemctl reload` (SIGHUP) is logged and acknowledged. The socket is the one the host
//! hands over under the name `http` (systemd socket activation with
//! `FileDescriptorName=http`, or stead's `sockets = [{ listen = "tcp://…", name = "http" }]`),
//! so that a restart loses no connection; run anywhere else, it binds the first argument or
//! `HTTP_ADDR` (default 127.0.0.1:8080) itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::routing::get;

/// Milliseconds since `EPOCH` of the last heartbeat.
static BEAT: AtomicU64 = AtomicU64::new(0);
static STALLED: AtomicBool = AtomicBool::new(false);
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn now_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// How long connections accepted before the stop have to send their request. A graceful
/// shutdown closes every connection with no request in flight, including one accepted a
/// moment ago whose request is still on its way: under load that is a dropped request at
/// every restart. So the stop first ends the accepting (new connections wait in the socket,
/// which a host that holds it hands to the next process), then gives these this long.
const LAST_REQUESTS: Duration = Duration::from_millis(250);

/// The listener, until the service is asked to stop; then it accepts nothing more.
struct UntilStop {
    inner: tokio::net::TcpListener,
    stop: stead::CancellationToken,
}

impl axum::serve::Listener for UntilStop {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                biased;
                () = self.stop.cancelled() => std::future::pending::<()>().await,
                accepted = self.inner.accept() => match accepted {
                    Ok(conn) => return conn,
                    // Out of descriptors and the like: try again shortly.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

fn main() -> stead::Exit {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("HTTP_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let addr: std::net::SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            return stead::Exit {
                code: 2,
                reason: format!("`{addr}` is not IP:PORT: {e}"),
            };
        }
    };
    stead::Service::new("stead-example-http")
        .listen("http", stead::Listen::Tcp(addr))
        .stop_timeout(Duration::from_secs(20))
        .handles_reload()
        // Alive while the heartbeat task has beaten in the last 3 s.
        .liveness(|| now_ms().saturating_sub(BEAT.load(Ordering::Relaxed)) < 3000)
        .run(move |ctx| async move {
            // Preflight: a socket we cannot have is a start failure with its own exit code.
            let mut sockets = ctx
                .listeners()
                .map_err(|e| stead::Failure::new(e.to_string()).with_code(2))?;
            let handed = sockets.handed_by_host();
            let listener = sockets
                .tcp("http")
                .map_err(|e| stead::Failure::new(e.to_string()).with_code(2))?;
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let addr = listener.local_addr()?;
            tracing::info!(
                "listening on http://{addr} ({})",
                if handed {
                    "a socket the host holds"
                } else {
                    "bound here"
                }
            );

            BEAT.store(now_ms(), Ordering::Relaxed);
            let token = ctx.shutdown_token();
            ctx.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(500));
                loop {
                    tokio::select! {
                        () = token.cancelled() => break,
                        _ = tick.tick() => {}
                    }
                    if !STALLED.load(Ordering::Relaxed) {
                        BEAT.store(now_ms(), Ordering::Relaxed);
                    }
                }
            });

            let in_flight = Arc::new(AtomicU64::new(0));
            let app = Router::new()
                .route("/", get(|| async { "hello from stead\n" }))
                .route(
                    "/slow/{ms}",
                    get(move |Path(ms): Path<u64>| {
                        let in_flight = in_flight.clone();
                        async move {
                            in_flight.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(ms)).await;
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            format!("slept {ms} ms\n")
                        }
                    }),
                )
                .route(
                    "/stall",
                    get(|| async {
                        STALLED.store(true, Ordering::Relaxed);
                        tracing::warn!("heartbeat stalled on request");
                        "heartbeat stalled\n"
                    }),
                );

            let mut events = ctx.events();
            let reload_ctx = ctx.clone();
            ctx.spawn(async move {
                while let Some(e) = events.next().await {
                    if e == stead::Event::Reload {
                        tracing::info!("reload requested: nothing to reload, acknowledged");
                        reload_ctx.ready();
                    }
                }
            });

            ctx.ready();
            ctx.status(format!("serving on {addr}"));
            let drain = ctx.clone();
            let listener = UntilStop {
                inner: listener,
                stop: ctx.shutdown_token(),
            };
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    drain.shutdown().await;
                    tracing::info!("no new connections; finishing in-flight requests");
                    tokio::time::sleep(LAST_REQUESTS).await;
                })
                .await?;
            tracing::info!("all requests answered");
            Ok(())
        })
}
