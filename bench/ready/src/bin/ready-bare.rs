//! The same empty service written by hand: a tokio runtime, `READY=1` with sd-notify,
//! SIGTERM ends it. The baseline stead's library is measured against.

#[cfg(unix)]
fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        term.recv().await;
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    });
}

#[cfg(not(unix))]
fn main() {
    eprintln!("ready-bare speaks the systemd notify protocol: Unix only");
}
