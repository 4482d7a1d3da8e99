//! An empty service on the stead library: ready at once, stops on SIGTERM.

fn main() -> stead::Exit {
    stead::Service::new("ready-stead").run(|ctx| async move {
        ctx.ready();
        ctx.shutdown().await;
        Ok(())
    })
}
