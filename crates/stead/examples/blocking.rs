//! A service without async code: `run_blocking` runs it on a thread of its own.
//!
//! ```text
//! cargo run -p stead --example blocking
//! ```

use std::time::Duration;

fn main() -> stead::Exit {
    stead::Service::new("stead-example-blocking").run_blocking(|ctx| {
        let token = ctx.shutdown_token();
        let worker = std::thread::spawn(move || {
            let mut rounds = 0u64;
            while !token.is_cancelled() {
                std::thread::sleep(Duration::from_millis(100));
                rounds += 1;
            }
            rounds
        });
        ctx.ready();
        ctx.wait_for_shutdown_blocking();
        let rounds = worker
            .join()
            .map_err(|_| stead::Failure::new("worker panicked"))?;
        tracing::info!("worker stopped after {rounds} rounds");
        Ok(())
    })
}
