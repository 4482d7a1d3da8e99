//! Held sockets (`sockets = [...]`): bound once, kept open by the supervisor across restarts
//! and reloads, and handed to every instance of their program with the systemd
//! socket-activation protocol. While no instance accepts (a restart, a crash), the kernel
//! queues new connections in the socket's backlog, so none is refused.
//!
//! The table here is the pure part (which program holds what, what a reload keeps); binding
//! is `unix.rs` / `windows.rs`. On Windows the hand-over is not by descriptor number: the
//! spawn duplicates each socket for the new process and sends it down a pipe (see
//! `spawn/windows.rs` and the `stead-handover` crate).

use std::collections::BTreeMap;
use std::sync::Arc;

use stead_config::{Listen, ProgramConfig, SocketSpec};

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

pub(crate) use imp::{Bound, Raw};

/// A socket that could not be bound, and what to do about it.
#[derive(Debug, Clone)]
pub struct SocketError {
    /// What went wrong, naming the program and the address.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl std::fmt::Display for SocketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.hint)
    }
}

struct Held {
    spec: SocketSpec,
    bound: Bound,
}

/// Every held socket, by address.
#[derive(Default)]
pub(crate) struct Table {
    held: BTreeMap<Listen, Arc<Held>>,
}

impl Table {
    /// The table `programs` need: sockets this table already holds are kept (their backlog,
    /// mode and owner brought up to date), the others are bound. Nothing in `self` changes,
    /// and on any error nothing new stays bound: the caller keeps its table.
    pub(crate) fn prepare(&self, programs: &[ProgramConfig]) -> Result<Table, SocketError> {
        let mut next = Table::default();
        let mut owners: BTreeMap<&Listen, &str> = BTreeMap::new();
        // Changes to kept sockets, made only once every new socket is bound: a refused
        // reload must leave the kept ones as they were.
        let mut changes: Vec<(&str, &Arc<Held>, &SocketSpec)> = Vec::new();
        for p in programs {
            for spec in &p.sockets {
                match owners.get(&spec.listen) {
                    Some(owner) if *owner == p.group => continue,
                    Some(owner) => {
                        return Err(SocketError {
                            message: format!(
                                "`{}` is held twice: by [program.{owner}] and [program.{}]",
                                spec.listen, p.group
                            ),
                            hint: "give each program its own address".into(),
                        });
                    }
                    None => {
                        owners.insert(&spec.listen, &p.group);
                    }
                }
                let held = match self.held.get(&spec.listen) {
                    Some(old) if old.spec == *spec => Arc::clone(old),
                    Some(old) => {
                        changes.push((&p.group, old, spec));
                        Arc::new(Held {
                            spec: spec.clone(),
                            bound: old.bound.share(),
                        })
                    }
                    None => Arc::new(Held {
                        spec: spec.clone(),
                        bound: imp::bind(spec).map_err(|e| self.error(&p.group, spec, &e))?,
                    }),
                };
                next.held.insert(spec.listen.clone(), held);
            }
        }
        for (i, (program, old, spec)) in changes.iter().enumerate() {
            if let Err(e) = imp::adjust(&old.bound, &old.spec, spec) {
                // Put back what was changed before this one (best effort: it was so a
                // moment ago), then refuse.
                for (_, done, to) in &changes[..i] {
                    let _ = imp::adjust(&done.bound, to, &done.spec);
                }
                return Err(self.error(program, spec, &e));
            }
            if old.spec.ipv6_only != spec.ipv6_only || old.spec.reuse_address != spec.reuse_address
            {
                tracing::warn!(
                    "program {program}: ipv6_only and reuse_address of {} take effect when stead restarts (the socket is kept open)",
                    spec.listen
                );
            }
        }
        Ok(next)
    }

    /// Makes a program's sockets blocking again, before a spawn while no other process of
    /// the program runs (see `Bound::make_blocking`).
    pub(crate) fn reset_for(&self, program: &ProgramConfig) {
        for s in &program.sockets {
            if let Some(h) = self.held.get(&s.listen) {
                h.bound.make_blocking();
            }
        }
    }

    /// Why binding `spec` failed, with a hint that knows what stead itself holds.
    fn error(&self, program: &str, spec: &SocketSpec, e: &std::io::Error) -> SocketError {
        let mut err = error(program, spec, e);
        if e.kind() == std::io::ErrorKind::AddrInUse
            && let Some(held) = self
                .held
                .values()
                .find(|h| stead_config::overlaps(&h.spec, spec))
        {
            err.hint = format!(
                "stead itself holds {}, which overlaps it: a held socket is kept until it leaves the config, so take it out in one reload and add the new address in the next, or restart stead",
                held.spec.listen
            );
        }
        err
    }

    /// The descriptors and names to hand to an instance of `program`, in its order.
    pub(crate) fn for_program(&self, program: &ProgramConfig) -> Vec<(Raw, String)> {
        program
            .sockets
            .iter()
            .filter_map(|s| {
                self.held
                    .get(&s.listen)
                    .map(|h| (h.bound.raw(), s.name.clone()))
            })
            .collect()
    }
}

fn error(program: &str, spec: &SocketSpec, e: &std::io::Error) -> SocketError {
    let hint = match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            "another process listens there (`ss -ltnp` names it; on Windows `netstat -ano`): stop it, or choose another address".to_string()
        }
        std::io::ErrorKind::PermissionDenied => match &spec.listen {
            Listen::Tcp(a) | Listen::Udp(a) if a.port() < 1024 => {
                "ports below 1024 need root (or CAP_NET_BIND_SERVICE): run stead as root, or choose a port from 1024".to_string()
            }
            _ => "stead may not create it there: fix the directory's permissions or choose another place".to_string(),
        },
        std::io::ErrorKind::AddrNotAvailable => {
            "no interface of this machine has that address: use one it has, or 0.0.0.0 / [::] for all".to_string()
        }
        std::io::ErrorKind::Unsupported => {
            "hold a tcp:// or udp:// address instead, or remove it from `sockets`".to_string()
        }
        _ => "fix the address in the config file".to_string(),
    };
    SocketError {
        message: format!("program {program}: cannot listen on {}: {e}", spec.listen),
        hint,
    }
}
