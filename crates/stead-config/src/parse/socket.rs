//! `sockets = [...]` of a program: held sockets (see [`crate::SocketSpec`]).

use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;

use super::Walker;
use crate::ProgramConfig;
use crate::check::{HealthProbe, Probe};
use crate::socket::{Listen, SocketSpec, socket_name_problem};

const SOCKET_KEYS: &[&str] = &[
    "listen",
    "name",
    "backlog",
    "mode",
    "owner",
    "group",
    "reuse_address",
    "ipv6_only",
    "accept",
];
const EXAMPLE: &str =
    "[\"tcp://0.0.0.0:8080\", { listen = \"unix:/run/app.sock\", name = \"admin\" }]";

impl Walker<'_, '_> {
    /// The program's held sockets; each listen address once in the file.
    pub(super) fn sockets(&mut self, v: &Spanned<DeValue<'_>>, program: &str) -> Vec<SocketSpec> {
        let DeValue::Array(items) = v.get_ref() else {
            self.type_error(v, "sockets", "an array of addresses or tables", EXAMPLE);
            return Vec::new();
        };
        let mut out: Vec<SocketSpec> = Vec::new();
        for item in items {
            let Some(spec) = self.socket(item, program) else {
                continue;
            };
            if let Some((other, held, _)) = self
                .sockets_seen
                .iter()
                .find(|(_, held, _)| crate::overlaps(held, &spec))
            {
                let (other, held) = (other.clone(), held.listen.clone());
                self.c.error(
                    item.span(),
                    if held == spec.listen {
                        format!("`{held}` is held twice: by [program.{other}] and [program.{program}]")
                    } else {
                        format!(
                            "`{}` of [program.{program}] overlaps `{held}` of [program.{other}]: both cannot be bound",
                            spec.listen
                        )
                    },
                    Some("a socket belongs to one program; give each its own address (instances of one program share its sockets; `ipv6_only = true` lets [::] and 0.0.0.0 share a port)".into()),
                );
                continue;
            }
            self.sockets_seen
                .push((program.to_string(), spec.clone(), item.span()));
            out.push(spec);
        }
        out
    }

    fn listen(&mut self, v: &Spanned<DeValue<'_>>) -> Option<Listen> {
        let text = self.string(v, "listen", "\"tcp://0.0.0.0:8080\"")?;
        match Listen::parse(&text, &self.base_dir) {
            Ok(l) => Some(l),
            Err(msg) => {
                self.c.error(
                    v.span(),
                    msg,
                    Some(
                        "for example: sockets = [\"tcp://0.0.0.0:8080\", \"unix:/run/app.sock\"]"
                            .into(),
                    ),
                );
                None
            }
        }
    }

    fn socket(&mut self, item: &Spanned<DeValue<'_>>, program: &str) -> Option<SocketSpec> {
        let t = match item.get_ref() {
            DeValue::String(_) => {
                return self.listen(item).map(|l| SocketSpec::new(l, program));
            }
            DeValue::Table(t) => t,
            _ => {
                self.type_error(item, "sockets", "an array of addresses or tables", EXAMPLE);
                return None;
            }
        };
        let place = format!("[program.{program}] sockets");
        let mut listen = None;
        let mut spec = SocketSpec::new(Listen::Unix("/".into()), program);
        let mut unix_only = Vec::new();
        for (key, val) in t {
            let k = key.get_ref().as_ref();
            match k {
                "listen" => listen = self.listen(val),
                "name" => {
                    if let Some(n) = self.string(val, "name", "\"https\"") {
                        match socket_name_problem(&n) {
                            None => spec.name = n,
                            Some(msg) => self.c.error(
                                val.span(),
                                msg,
                                Some("for example: name = \"https\"".into()),
                            ),
                        }
                    }
                }
                "backlog" => {
                    if let Some(n) = self.integer(val, "backlog", 1..1_048_577, "4096") {
                        spec.backlog = n as u32;
                    }
                }
                "mode" => {
                    unix_only.push(("mode", key.span()));
                    if let Some(m) = self.mode(val) {
                        spec.mode = m;
                    }
                }
                "owner" => {
                    unix_only.push(("owner", key.span()));
                    spec.owner = self.string(val, "owner", "\"www-data\"");
                    if let (Some(u), Some(host)) = (&spec.owner, self.host)
                        && let Err((msg, hint)) = host.user(u)
                    {
                        self.c.error(val.span(), msg, Some(hint));
                    }
                }
                "group" => {
                    unix_only.push(("group", key.span()));
                    spec.group = self.string(val, "group", "\"www-data\"");
                    if let (Some(g), Some(host)) = (&spec.group, self.host)
                        && let Err((msg, hint)) = host.group(g)
                    {
                        self.c.error(val.span(), msg, Some(hint));
                    }
                }
                "reuse_address" => {
                    spec.reuse_address = self.boolean(val, "reuse_address").unwrap_or(true);
                }
                "ipv6_only" => spec.ipv6_only = self.boolean(val, "ipv6_only"),
                "accept" => {
                    if self.boolean(val, "accept") == Some(true) {
                        self.c.error(
                            val.span(),
                            "`accept = true` (a new process per connection) is not supported",
                            Some("remove it: the program is handed the listening socket and accepts itself".into()),
                        );
                    }
                }
                other => self.unknown(key, other, &place, SOCKET_KEYS),
            }
        }
        let Some(listen) = listen else {
            if !t.iter().any(|(k, _)| k.get_ref() == "listen") {
                self.c.error(
                    item.span(),
                    format!("a socket of {place} has no `listen`"),
                    Some("add it: { listen = \"tcp://0.0.0.0:8443\", name = \"https\" }".into()),
                );
            }
            return None;
        };
        if !matches!(listen, Listen::Unix(_)) {
            for (key, span) in unix_only {
                self.c.error(
                    span,
                    format!("`{key}` applies to unix sockets only, and `{listen}` is not one"),
                    Some(format!("remove `{key}`")),
                );
            }
        }
        spec.listen = listen;
        Some(spec)
    }

    /// Refuses a `ready` probe (tcp or http) or a `health` tcp probe that goes to one of the
    /// program's own held sockets: stead holds that socket open, so the kernel accepts a
    /// connection whatever the program does, and during a rolling restart the old instance
    /// answers for the new one.
    pub(super) fn probes_through_held_sockets(&mut self, p: &ProgramConfig, at: Range<usize>) {
        let held = |target: &str| {
            p.sockets.iter().find(|s| match &s.listen {
                Listen::Tcp(addr) => reaches(target, *addr),
                _ => false,
            })
        };
        if let Some(r) = &p.ready {
            let target = match &r.probe {
                Probe::Tcp(t) => Some(t.as_str()),
                Probe::Http { url, .. } => url
                    .strip_prefix("http://")
                    .map(|r| r.split('/').next().unwrap_or(r)),
                _ => None,
            };
            if let Some(s) = target.and_then(held) {
                self.c.error(
                    at.clone(),
                    format!(
                        "[program.{}] ready probes {}, a socket stead holds for it: that passes before the program is ready (and, in a rolling restart, the old instance answers for the new)",
                        p.group, s.listen
                    ),
                    Some("let the program say it: ready = { notify = true } (gunicorn and sd_notify users do), or probe a log line, a command or another port".into()),
                );
            }
        }
        if let Some(h) = &p.health
            && let HealthProbe::Probe(Probe::Tcp(t)) = &h.probe
            && let Some(s) = held(t)
        {
            self.c.error(
                at,
                format!(
                    "[program.{}] health connects to {}, a socket stead holds for it: the kernel accepts that connection whatever the program does",
                    p.group, s.listen
                ),
                Some("probe it with http = \"http://…\" instead, or a command".into()),
            );
        }
    }

    /// A file mode: an integer (`0o660`) or an octal string (`"0660"`).
    fn mode(&mut self, v: &Spanned<DeValue<'_>>) -> Option<u32> {
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            DeValue::String(s) => i64::from_str_radix(s.trim_start_matches("0o"), 8).ok(),
            _ => None,
        };
        match parsed {
            Some(m) if (0..=0o777).contains(&m) => Some(m as u32),
            _ => {
                self.c.error(
                    v.span(),
                    "`mode` must be a file mode from 0o000 to 0o777",
                    Some("for example: mode = 0o660 or mode = \"0660\"".into()),
                );
                None
            }
        }
    }
}

/// Whether a probe of `target` (`host:port`) reaches a socket bound at `addr`.
fn reaches(target: &str, addr: std::net::SocketAddr) -> bool {
    let Some((host, port)) = target.rsplit_once(':') else {
        return false;
    };
    if port.parse::<u16>().ok() != Some(addr.port()) {
        return false;
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        // 0.0.0.0 takes IPv4 only; [::] both (as the system's default has it).
        Ok(ip) => {
            ip == addr.ip() || (addr.ip().is_unspecified() && (addr.is_ipv6() || ip.is_ipv4()))
        }
        Err(_) => addr.ip().is_unspecified() || addr.ip().is_loopback(),
    }
}
