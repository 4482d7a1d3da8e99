//! `sockets = [...]` in Kubernetes, Nomad and Compose: a TCP or UDP socket is a port the
//! program listens on. What stead does with it — bind it once, hand it to the program
//! (`LISTEN_FDS`), hold it while the program restarts so no connection is refused — these
//! engines do not: the program binds the port itself, and that is said in the warnings.

use std::net::SocketAddr;

use stead_config::Listen;

use crate::Program;

/// A TCP or UDP socket of a program, as a port.
pub(crate) struct Port {
    /// TCP (else UDP).
    pub tcp: bool,
    /// The address stead listened on.
    pub addr: SocketAddr,
    /// The socket's name (`LISTEN_FDNAMES`).
    pub name: String,
}

impl Port {
    /// `TCP` or `UDP`.
    pub fn protocol(&self) -> &'static str {
        if self.tcp { "TCP" } else { "UDP" }
    }
}

/// The program's TCP and UDP sockets as ports, each port and protocol once, with the
/// warnings `format` needs: the program is handed no socket and binds each itself (`inside`
/// ends that sentence: where, and how it is reached), nothing holds it while the program
/// restarts, and a unix socket is not made (`unix_fix` says what to do).
pub(crate) fn ports(p: &mut Program<'_>, format: &str, inside: &str, unix_fix: &str) -> Vec<Port> {
    let mut out: Vec<Port> = Vec::new();
    let mut unix = Vec::new();
    for s in &p.cfg.sockets {
        let (tcp, addr) = match &s.listen {
            Listen::Tcp(a) => (true, *a),
            Listen::Udp(a) => (false, *a),
            Listen::Unix(_) => {
                unix.push(s.listen.to_string());
                continue;
            }
        };
        if !out
            .iter()
            .any(|o| o.tcp == tcp && o.addr.port() == addr.port())
        {
            out.push(Port {
                tcp,
                addr,
                name: s.name.clone(),
            });
        }
    }
    let network: Vec<String> = p
        .cfg
        .sockets
        .iter()
        .filter(|s| !matches!(s.listen, Listen::Unix(_)))
        .map(|s| format!("`{}`", s.listen))
        .collect();
    if !network.is_empty() {
        p.drop(format!(
            "`sockets` {}: {format} hands the program no socket (no LISTEN_FDS) and holds none while it restarts, so connections in that time are refused; the program must listen on each port itself{inside}",
            network.join(", ")
        ));
    }
    for u in unix {
        p.drop(format!(
            "`sockets` `{u}`: {format} makes no unix socket; {unix_fix}"
        ));
    }
    out
}
