//! [`ConfigFile`]: a configuration file that can be reloaded (on [`Event::Reload`](crate::Event::Reload)
//! or when the file changes) — read, validated by the service's own parser, swapped in; on
//! any error the previous configuration stays and the error says why.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

type Parser<T> = dyn Fn(&str) -> Result<T, String> + Send + Sync;

/// A loaded configuration of type `T` and how to load it again.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("stead-cfg-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("workers.txt");
/// std::fs::write(&path, "4").unwrap();
/// let cfg = stead::ConfigFile::load(&path, |text| text.trim().parse::<u32>()).unwrap();
/// assert_eq!(*cfg.get(), 4);
///
/// std::fs::write(&path, "four").unwrap();
/// let err = cfg.reload().unwrap_err();           // invalid: the old value stays
/// assert!(err.to_string().contains("keeping the previous configuration"));
/// assert_eq!(*cfg.get(), 4);
///
/// std::fs::write(&path, "8").unwrap();
/// cfg.reload().unwrap();
/// assert_eq!(*cfg.get(), 8);
/// ```
pub struct ConfigFile<T> {
    path: PathBuf,
    parse: Arc<Parser<T>>,
    tx: Arc<watch::Sender<Arc<T>>>,
}

impl<T> Clone for ConfigFile<T> {
    fn clone(&self) -> Self {
        ConfigFile {
            path: self.path.clone(),
            parse: self.parse.clone(),
            tx: self.tx.clone(),
        }
    }
}

/// A load or reload that did not happen.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}: {message}{keep}", keep = if *.first { "" } else { "; keeping the previous configuration" })]
pub struct ReloadError {
    /// The file.
    pub path: PathBuf,
    /// What was wrong: the read error, or the parser's message.
    pub message: String,
    action: &'static str,
    first: bool,
}

impl<T: Send + Sync + 'static> ConfigFile<T> {
    /// Reads and parses `path` with `parse` (any error type that displays).
    pub fn load<E: std::fmt::Display>(
        path: impl AsRef<Path>,
        parse: impl Fn(&str) -> Result<T, E> + Send + Sync + 'static,
    ) -> Result<ConfigFile<T>, ReloadError> {
        let path = path.as_ref().to_path_buf();
        let parse: Arc<Parser<T>> = Arc::new(move |s| parse(s).map_err(|e| e.to_string()));
        let first = read(&path, &*parse, true)?;
        let (tx, _) = watch::channel(Arc::new(first));
        Ok(ConfigFile {
            path,
            parse,
            tx: Arc::new(tx),
        })
    }

    /// The configuration in force.
    pub fn get(&self) -> Arc<T> {
        self.tx.borrow().clone()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and parses the file again; swaps it in only if it parses.
    pub fn reload(&self) -> Result<Arc<T>, ReloadError> {
        let next = Arc::new(read(&self.path, &*self.parse, false)?);
        self.tx.send_replace(next.clone());
        Ok(next)
    }

    /// A receiver that sees every configuration swapped in.
    pub fn subscribe(&self) -> watch::Receiver<Arc<T>> {
        self.tx.subscribe()
    }

    /// Reloads whenever the file's size or modification time changes, checked every
    /// `every`, until the service stops; each outcome is logged (a bad file leaves the old
    /// configuration in force). Runs as a task tracked by `ctx`.
    pub fn watch(&self, ctx: &crate::Context, every: Duration) {
        let me = self.clone();
        let token = ctx.shutdown_token();
        ctx.spawn(async move {
            let mut last = stamp(&me.path);
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let now = stamp(&me.path);
                if now == last {
                    continue;
                }
                last = now;
                match me.reload() {
                    Ok(_) => tracing::info!("reloaded {}", me.path.display()),
                    Err(e) => tracing::warn!("{e}"),
                }
            }
        });
    }
}

fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()?))
}

fn read<T>(path: &Path, parse: &Parser<T>, first: bool) -> Result<T, ReloadError> {
    let action = if first { "load" } else { "reload" };
    let err = |message: String| ReloadError {
        path: path.to_path_buf(),
        message,
        action,
        first,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse(&text).map_err(err)
}
